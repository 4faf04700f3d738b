//! The `queries/` set over a lake of more than 10 million events: median latency per query of
//! the dss-lake engine, side by side with DuckDB (Python, from `scripts/python-env.sh`) on the
//! same files in the same run. Prints a table; asserts nothing.
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

use std::path::{Path, PathBuf};
use std::process::Command;
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

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours: Vec<(f64, usize)> = runtime.block_on(async {
        let engine = Engine::open(EngineConfig::new(&lake)).await.unwrap();
        let mut out = Vec::new();
        for (name, sql) in &queries {
            let mut times = Vec::new();
            let mut rows = 0;
            for run in 0..=runs {
                let start = Instant::now();
                let batches = engine
                    .collect(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                if run > 0 {
                    times.push(start.elapsed().as_secs_f64() * 1e3);
                }
                rows = batches.iter().map(|b| b.num_rows()).sum();
            }
            out.push((median(&mut times), rows));
        }
        out
    });

    let duck = duckdb_medians(root, &lake, &query_dir, runs, cores);
    println!();
    println!("| query | rows | dss-lake ms | DuckDB ms | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for ((name, _), (ms, rows)) in queries.iter().zip(&ours) {
        let (duck_ms, duck_rows) = duck
            .iter()
            .find(|(n, ..)| n == name)
            .map_or((f64::NAN, 0), |(_, m, r)| (*m, *r));
        let flag = if duck_rows == *rows {
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

fn load_queries(dir: &Path) -> Vec<(String, String)> {
    let mut queries: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    queries.sort();
    queries
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Runs `benches/duckdb_bench.py`; returns (query, median ms, rows).
fn duckdb_medians(
    root: &Path,
    lake: &Path,
    query_dir: &Path,
    runs: usize,
    threads: usize,
) -> Vec<(String, f64, usize)> {
    let env = Command::new("bash")
        .arg(root.join("scripts/python-env.sh"))
        .status()
        .unwrap();
    assert!(env.success(), "scripts/python-env.sh failed");
    let output = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("benches/duckdb_bench.py"))
        .args([lake.as_os_str(), query_dir.as_os_str()])
        .args([runs.to_string(), threads.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            Some((
                parts.next()?.to_owned(),
                parts.next()?.parse().ok()?,
                parts.next()?.parse().ok()?,
            ))
        })
        .collect()
}
