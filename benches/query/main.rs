//! The `queries/` set over a lake of more than 10 million events: median latency per query of
//! the dss-lake engine, side by side with DuckDB (Python, from `scripts/python-env.sh`) on the
//! same files in the same run. The two engines take turns, one run each, so a load spike on a
//! shared machine hits both alike. Prints a table; asserts nothing.
//!
//! `cargo bench --bench query` (the bench profile: fat LTO, a long DataFusion build), or
//! `cargo bench --workspace --profile dev --bench query` to reuse the test build, whose
//! dependencies are already optimised (opt-level 2); the README's figures come from the latter.
//! `--workspace` matters: it resolves features as `cargo test --workspace` does, so DataFusion is
//! not compiled a second time. The lake is generated once into
//! `<target>/bench-lake-v3` and reused; `DSS_LAKE_BENCH_LAKE=DIR` points at another lake
//! (e.g. one written by the ingest daemon), `DSS_LAKE_BENCH_QUERIES=DIR` times the `.sql` files of
//! another folder (to compare formulations of a query) and `DSS_LAKE_BENCH_RUNS` sets the timed runs.
//!
//! Generated fleet (see `lake.rs`): 5,100 devices of three models over four days, each numeric
//! property reporting at a fixed cadence with a deterministic wobble, plus connectivity, acks,
//! locations and registrations; files laid out and sorted like the batch writer's.

mod lake;

/// The allocator the `dss-lake` binary runs queries with (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use dss_lake_query::{Engine, EngineConfig};

/// Timed runs per query and engine (after one warm-up run).
const DEFAULT_RUNS: usize = 5;

fn main() {
    let lake = std::env::var_os("DSS_LAKE_BENCH_LAKE").map_or_else(default_lake, PathBuf::from);
    let runs = std::env::var("DSS_LAKE_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    let events = lake::ensure(&lake);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let query_dir = std::env::var_os("DSS_LAKE_BENCH_QUERIES")
        .map_or_else(|| root.join("queries"), PathBuf::from);
    let queries = load_queries(&query_dir);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "lake: {} ({events} events), {runs} timed runs per query, {cores} threads each",
        lake.display()
    );

    let mut duck = DuckDb::start(root, &lake, cores);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = runtime
        .block_on(Engine::open(EngineConfig::new(&lake)))
        .unwrap();
    println!();
    println!("| query | rows | dss-lake ms | DuckDB ms | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (name, path, sql) in &queries {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let (mut rows, mut duck_rows) = (0, 0);
        // Run 0 warms both up (file metadata, page cache) and is not timed.
        for run in 0..=runs {
            let start = Instant::now();
            let batches = runtime
                .block_on(engine.collect(sql))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let ms = start.elapsed().as_secs_f64() * 1e3;
            rows = batches.iter().map(|b| b.num_rows()).sum();
            let (duck_ms, n) = duck.run(path);
            duck_rows = n;
            if run > 0 {
                ours.push(ms);
                theirs.push(duck_ms);
            }
        }
        let (ms, duck_ms) = (median(&mut ours), median(&mut theirs));
        let flag = if duck_rows == rows {
            ""
        } else {
            " (row counts differ!)"
        };
        println!(
            "| {name} | {rows} | {ms:.1} | {duck_ms:.1} | {:.2}x{flag} |",
            ms / duck_ms
        );
    }
}

fn default_lake() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("bench-lake-v3")
}

/// Every `.sql` file of `dir`, by name: (name, path, SQL).
fn load_queries(dir: &Path) -> Vec<(String, PathBuf, String)> {
    let mut queries: Vec<(String, PathBuf, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let sql = std::fs::read_to_string(&p).unwrap();
            (name, p, sql)
        })
        .collect();
    queries.sort();
    queries
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// `benches/duckdb_bench.py`, running one query per request over the same lake.
struct DuckDb {
    process: Child,
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
}

impl DuckDb {
    fn start(root: &Path, lake: &Path, threads: usize) -> Self {
        let env = Command::new("bash")
            .arg(root.join("scripts/python-env.sh"))
            .status()
            .unwrap();
        assert!(env.success(), "scripts/python-env.sh failed");
        let mut process = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("benches/duckdb_bench.py"))
            .arg(lake)
            .arg(threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let requests = process.stdin.take().unwrap();
        let answers = BufReader::new(process.stdout.take().unwrap());
        Self {
            process,
            requests,
            answers,
        }
    }

    /// Runs the query in `path` once: (milliseconds, rows).
    fn run(&mut self, path: &Path) -> (f64, usize) {
        writeln!(self.requests, "{}", path.display()).unwrap();
        let mut line = String::new();
        self.answers.read_line(&mut line).unwrap();
        let mut parts = line.trim_end().split('\t');
        let parsed = (|| Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?)))();
        parsed.unwrap_or_else(|| panic!("DuckDB answered {line:?} for {}", path.display()))
    }
}

impl Drop for DuckDb {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
