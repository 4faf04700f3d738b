//! `dss-lake demo` as a newcomer runs it: the built binary on free ports, events of all five
//! types queried over HTTP in two formats, Ctrl-C (SIGINT), then the lake on disk compared with
//! what was served; and a second run on the same lake that continues it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, Process};
use dss_lake_schema::{StreamName, Table};

/// A running demo and the SQL URL its banner printed.
struct Demo {
    process: Process,
    sql_url: String,
    /// The console's URL, the banner's first line.
    console_url: String,
    /// The rest of stdout (the shutdown summary), collected once the process exits.
    rest: std::thread::JoinHandle<String>,
}

fn start_demo(lake: &Path) -> Demo {
    let mut process = Process::spawn(
        Command::new(BIN)
            .arg("demo")
            .arg("--lake")
            .arg(lake)
            .args(["--listen", "127.0.0.1:0", "--rate", "500"])
            .args(["--flush-age", "500ms"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let mut lines = process.stdout_lines();
    let mut console_url = None;
    let sql_url = loop {
        let line = lines.next().expect("the demo banner").unwrap();
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("console") {
            console_url = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("SQL") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let console_url = console_url.expect("the banner names the console before the SQL URL");
    assert!(sql_url.ends_with("/api/v1/sql"), "{sql_url}");
    let rest =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    Demo {
        process,
        sql_url,
        console_url,
        rest,
    }
}

impl Demo {
    fn get(&self, sql: &str, format: &str) -> String {
        ureq::get(&self.sql_url)
            .query("q", sql)
            .query("format", format)
            .call()
            .unwrap_or_else(|e| panic!("{sql} ({format}): {e}"))
            .body_mut()
            .read_to_string()
            .unwrap()
    }

    fn count(&self, table: Table) -> u64 {
        let csv = self.get(&format!("SELECT count(*) AS n FROM {table}"), "csv");
        csv.lines().nth(1).unwrap().parse().unwrap()
    }

    /// Polls until every event table holds at least `at_least` rows.
    fn wait_for_rows(&self, at_least: u64) {
        let started = Instant::now();
        loop {
            let counts: Vec<u64> = Table::EVENTS.iter().map(|&t| self.count(t)).collect();
            if counts.iter().all(|&n| n >= at_least) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "after 60 s the tables hold {counts:?} rows"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// SIGINT (Ctrl-C): exit 0 within 30 s; returns what it printed on the way out.
    fn interrupt(mut self) -> String {
        let (status, _) = self.process.stop("INT", Duration::from_secs(30));
        assert!(status.success(), "the demo exited with {status}");
        self.rest.join().unwrap()
    }
}

/// `(seq, dsn)` of each row of `table` served as JSON and as CSV; the two must agree.
fn served_rows(demo: &Demo, table: Table) -> BTreeSet<(i64, String)> {
    let sql = format!("SELECT seq, dsn FROM {table} ORDER BY seq");
    let json: Vec<serde_json::Value> = serde_json::from_str(&demo.get(&sql, "json")).unwrap();
    let from_json: Vec<(i64, String)> = json
        .iter()
        .map(|row| {
            let seq = row["seq"].as_i64().unwrap();
            (seq, row["dsn"].as_str().unwrap().to_owned())
        })
        .collect();
    let csv = demo.get(&sql, "csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("seq,dsn"), "{table}: the CSV header");
    let from_csv: Vec<(i64, String)> = lines
        .map(|line| {
            let (seq, dsn) = line.split_once(',').unwrap();
            (seq.parse().unwrap(), dsn.to_owned())
        })
        .collect();
    // Files committed between the two requests may add rows to the second answer.
    assert!(!from_json.is_empty(), "{table}: no rows served");
    assert_eq!(
        from_json[..],
        from_csv[..from_json.len()],
        "{table}: JSON and CSV disagree"
    );
    from_json.into_iter().collect()
}

/// `(seq, dsn)` of each committed row of `table`, read from the Parquet files; no seq twice.
fn rows_on_disk(lake: &Path, table: Table) -> BTreeSet<(i64, String)> {
    let rows = crate::common::lake_rows(lake, table, &["seq", "dsn"]);
    let set: BTreeSet<(i64, String)> = rows
        .iter()
        .map(|(_, r)| (r[0].parse().unwrap(), r[1].clone()))
        .collect();
    assert_eq!(set.len(), rows.len(), "{table}: a seq is stored twice");
    set
}

#[test]
fn the_demo_serves_every_table_stops_on_ctrl_c_with_the_lake_matching_and_a_rerun_continues() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");

    let demo = start_demo(&lake);
    // The console answers as soon as the banner is out, before any event is committed.
    let mut page = ureq::get(&demo.console_url)
        .call()
        .expect("GET / of the console");
    let content_type = page
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("dss-lake"), "{html:.300}");
    demo.wait_for_rows(1);
    let served: BTreeMap<Table, _> = Table::EVENTS
        .iter()
        .map(|&t| (t, served_rows(&demo, t)))
        .collect();
    let summary = demo.interrupt();
    for table in Table::EVENTS {
        assert!(
            summary.contains(&format!("{table}: committed up to seq")),
            "{summary}"
        );
        let on_disk = rows_on_disk(&lake, table);
        let missing: Vec<_> = served[&table].difference(&on_disk).take(3).collect();
        assert!(
            missing.is_empty(),
            "{table}: served but not on disk: {missing:?}"
        );
        // Everything received was committed on the way out: the lake ends at the checkpoint.
        let checkpoint = dss_lake_lake::Checkpoint::load(&lake, &stream(table)).unwrap();
        let last_on_disk = on_disk.iter().map(|(seq, _)| *seq).max().unwrap();
        assert_eq!(checkpoint.seq, Some(last_on_disk as u64), "{table}");
    }

    // A second run on the same lake continues every stream: new seqs above the old ones, none
    // stored twice.
    let before: BTreeMap<Table, i64> = Table::EVENTS
        .iter()
        .map(|&t| (t, rows_on_disk(&lake, t).last().unwrap().0))
        .collect();
    let demo = start_demo(&lake);
    let started = Instant::now();
    while !Table::EVENTS.iter().all(|&t| {
        let sql = format!("SELECT count(*) AS n FROM {t} WHERE seq > {}", before[&t]);
        demo.get(&sql, "csv").lines().nth(1) != Some("0")
    }) {
        assert!(started.elapsed() < Duration::from_secs(60), "no new events");
        std::thread::sleep(Duration::from_millis(250));
    }
    demo.interrupt();
    for table in Table::EVENTS {
        rows_on_disk(&lake, table);
    }
}

fn stream(table: Table) -> StreamName {
    StreamName::parse(table.dir_name()).unwrap()
}

/// `dss-lake serve` over `lake`, and its SQL URL, read from the log line that names the address
/// it bound.
fn start_serve(lake: &Path) -> (Process, String) {
    let mut process = Process::spawn(
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--lake"])
            .arg(lake)
            // Plain log lines, without colour codes around the field names.
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        process.child.stderr.take().unwrap(),
    ));
    let address = loop {
        let line = lines.next().expect("serve logs its address").unwrap();
        if line.contains("serving SQL") {
            let address = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("address="))
                .unwrap_or_else(|| panic!("{line}"))
                .to_owned();
            break address;
        }
    };
    // Keep reading, so a chatty log never blocks the server on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (process, format!("http://{address}/api/v1/sql"))
}

/// The readers users point at the lake (DuckDB's `delta_scan`, polars' `read_delta`,
/// `deltalake`) each read, table for table, exactly the rows `dss-lake serve` returns, from a
/// lake a live ingest wrote (the demo's, once it stopped).
#[test]
fn delta_readers_read_what_serve_returns_from_a_lake_written_live() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let demo = start_demo(&lake);
    demo.wait_for_rows(50);
    demo.interrupt();
    let (_serve, sql_url) = start_serve(&lake);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = |env: &str, script: &str| {
        dss_lake_test_support::process::run_ok(
            Command::new(dss_lake_test_support::python::venv_python(env))
                .arg(repo.join("tests/cli").join(script))
                .arg(&lake)
                .arg(&sql_url),
        )
    };
    let said = python("main", "delta_readers_check.py");
    assert!(
        said.contains("Delta tables read alike by deltalake, polars and dss-lake serve"),
        "{said}"
    );
    let tables: usize = said.split_whitespace().next().unwrap().parse().unwrap();
    assert!(tables >= Table::EVENTS.len(), "{said}");
    let said = python("duckdb-delta", "duckdb_delta_check.py");
    assert!(
        said.contains(&format!(
            "{tables} Delta tables read alike by DuckDB's delta_scan and dss-lake serve"
        )),
        "{said}"
    );
}
