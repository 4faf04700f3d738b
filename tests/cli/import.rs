//! `dss-lake import` as a user runs it: the real binary, real files, DuckDB reading the lake
//! (and DuckDB's `delta_scan`, deltalake and polars reading its Delta tables),
//! a DSS Collector archive (one file per event type) in any order, and `kill -9` in the middle
//! of a million-event import of one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::BIN;
use dss_lake_schema::{Table, layout};
use dss_lake_test_support::process::run_ok;
const BAD_LINES: [&str; 3] = [
    r#"{"seq":"5","metadata":{"dsn":"X","event_type":"firmware"},"firmware":{}}"#,
    r#"17|{"seq":"broken"#,
    "this line is not an event",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Checks `lake`'s Delta tables with deltalake and polars (`delta_readers_check.py`) and
/// returns what the check printed.
fn check_delta_readers(lake: &Path) -> String {
    run_ok(
        Command::new(venv_python())
            .arg(repo().join("tests/cli/delta_readers_check.py"))
            .arg(lake),
    )
}

/// The project's Python (scripts/python-env.sh makes it, with DuckDB, polars and deltalake).
fn venv_python() -> PathBuf {
    dss_lake_test_support::python::venv_python("main")
}

/// Writes `count` corpus frames, one per line, with `BAD_LINES` spread among them.
fn write_archive(path: &Path, count: usize, seed: u64) {
    let mut out = std::io::BufWriter::new(fs::File::create(path).unwrap());
    for (i, frame) in dss_lake_fleet::corpus(seed, count).iter().enumerate() {
        if i % (count / BAD_LINES.len()).max(1) == 7 {
            writeln!(out, "{}", BAD_LINES[(i / 7) % BAD_LINES.len()]).unwrap();
        }
        writeln!(out, "{frame}").unwrap();
    }
}

fn import(lake: &Path, archive: &Path) -> std::process::Child {
    import_all(
        lake,
        "archive",
        std::slice::from_ref(&archive.to_path_buf()),
    )
}

fn import_all(lake: &Path, stream: &str, archives: &[PathBuf]) -> std::process::Child {
    Command::new(BIN)
        .args(["import", "--stream", stream, "--lake"])
        .arg(lake)
        .args(archives)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What the DSS Collector writes for stream `id`: `ES<id>-<event_type>.json`, the payloads of
/// that type back to back, so one seq sequence is dealt out across the files. Every seq in
/// `dropped` is left out (the Collector drops what it mis-parses). Returns the files and seqs.
fn write_collector_archive(
    dir: &Path,
    id: u32,
    frames: &[String],
    dropped: &dyn Fn(u64) -> bool,
) -> (Vec<PathBuf>, Vec<i64>) {
    let mut files: std::collections::BTreeMap<String, std::io::BufWriter<fs::File>> =
        Default::default();
    let mut seqs = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let seq = i as u64 + 1;
        if dropped(seq) {
            continue;
        }
        let payload = frame.split_once('|').unwrap().1;
        let event_type = payload
            .split_once(r#""event_type":""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .unwrap()
            .0;
        let path = dir.join(format!("ES{id}-{event_type}.json"));
        let out = files
            .entry(event_type.to_owned())
            .or_insert_with(|| std::io::BufWriter::new(fs::File::create(path).unwrap()));
        out.write_all(payload.as_bytes()).unwrap();
        seqs.push(seq as i64);
    }
    let paths = files
        .keys()
        .map(|t| dir.join(format!("ES{id}-{t}.json")))
        .collect();
    (paths, seqs)
}

#[test]
fn duckdb_delta_scan_deltalake_and_polars_read_every_imported_event_once_and_every_bad_line_from_quarantine()
 {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive.ndjson");
    write_archive(&archive, 20_000, 11);
    let bad = dir.path().join("bad.txt");
    let written = fs::read_to_string(&archive).unwrap();
    let bad_lines: Vec<&str> = written.lines().filter(|l| BAD_LINES.contains(l)).collect();
    fs::write(&bad, bad_lines.join("\n")).unwrap();
    let lake = dir.path().join("lake");

    let first = import(&lake, &archive).wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(3),
        "bad lines make a partial import: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("partial"));
    let summary = String::from_utf8_lossy(&first.stdout);
    assert_eq!(
        summary_value(&summary, "quarantined"),
        bad_lines.len() as u64,
        "{summary}"
    );
    assert_eq!(
        summary_value(&summary, "datapoint"),
        20_000 - sum_others(&summary),
        "{summary}"
    );
    let again = import(&lake, &archive).wait_with_output().unwrap();
    assert!(again.status.success());
    let again = String::from_utf8_lossy(&again.stdout);
    assert_eq!(summary_value(&again, "files written"), 0, "{again}");
    assert_eq!(summary_value(&again, "quarantined"), 0, "{again}");

    run_ok(
        Command::new(venv_python())
            .arg(repo().join("tests/cli/import_duckdb_check.py"))
            .args([&lake, &archive, &bad]),
    );
    // The same lake as Delta tables: deltalake and polars read exactly the files DuckDB did.
    let said = check_delta_readers(&lake);
    assert!(said.contains("6 Delta tables read alike"), "{said}");
    // And DuckDB's own Delta reader, `delta_scan`, from its extension on PyPI.
    let said = run_ok(
        Command::new(dss_lake_test_support::python::venv_python("duckdb-delta"))
            .arg(repo().join("tests/cli/duckdb_delta_check.py"))
            .arg(&lake),
    );
    assert!(
        said.contains("6 Delta tables read alike by DuckDB's delta_scan"),
        "{said}"
    );
}

/// The number on the summary line that starts with `label`.
fn summary_value(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label} in {summary}"))
}

fn sum_others(summary: &str) -> u64 {
    ["connectivity", "datapointack", "location", "registration"]
        .iter()
        .map(|t| summary_value(summary, t))
        .sum()
}

/// Every committed file of the lake must always be a complete Parquet file.
fn check_visible_files(lake: &Path) -> usize {
    let mut checked = 0;
    for table in Table::ALL {
        let Ok(partitions) = fs::read_dir(layout::table_dir(lake, table)) else {
            continue;
        };
        for partition in partitions.flatten() {
            if !layout::is_date_partition(&partition.file_name().to_string_lossy()) {
                continue;
            }
            let Ok(files) = fs::read_dir(partition.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if layout::is_hidden(&name) {
                    continue;
                }
                // A file may be rolled back (deleted) between listing and opening; that is fine.
                let Ok(bytes) = fs::read(file.path()) else {
                    continue;
                };
                let reader =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                        bytes::Bytes::from(bytes),
                    )
                    .unwrap_or_else(|e| panic!("{name} is not a complete Parquet file: {e}"));
                for batch in reader.build().unwrap() {
                    batch.unwrap_or_else(|e| panic!("{name} is unreadable: {e}"));
                }
                checked += 1;
            }
        }
    }
    checked
}

fn seqs_in_lake(lake: &Path) -> Vec<i64> {
    dss_lake_test_support::delta::seqs_by_stream(lake)
        .into_values()
        .flatten()
        .map(|seq| seq as i64)
        .collect()
}

/// Every seq the `gaps` rows of `stream` report missing, sorted (twice if reported twice).
fn reported_missing(lake: &Path, stream: &str) -> Vec<i64> {
    let rows = crate::common::lake_rows(lake, Table::Gaps, &["expected_seq", "received_seq"]);
    let mut seqs: Vec<i64> = rows
        .into_iter()
        .filter(|(s, _)| s == stream)
        .flat_map(|(_, row)| row[0].parse::<i64>().unwrap()..row[1].parse::<i64>().unwrap())
        .collect();
    seqs.sort_unstable();
    seqs
}

/// Issue 13: `import --stream es1 ES1-*.json` on a Collector archive of 25 events stored 7.
#[test]
fn a_collector_archive_of_several_files_is_imported_in_full_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dss_lake_fleet::corpus(31, 25);
    let (files, seqs) = write_collector_archive(dir.path(), 1, &frames, &|seq| seq == 13);
    assert!(files.len() >= 3, "{files:?}");
    let (others, _) =
        write_collector_archive(dir.path(), 2, &dss_lake_fleet::corpus(32, 40), &|_| false);
    for order in [files.clone(), files.iter().rev().cloned().collect()] {
        let lake = tempfile::tempdir().unwrap();
        let out = import_all(lake.path(), "es1", &order)
            .wait_with_output()
            .unwrap();
        let summary = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{summary}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stored = summary_value(&summary, "datapoint") + sum_others(&summary);
        assert_eq!(stored, 24, "{summary}");
        assert_eq!(summary_value(&summary, "duplicates"), 0, "{summary}");
        assert_eq!(summary_value(&summary, "seq gaps"), 1, "{summary}");
        let mut in_lake = seqs_in_lake(lake.path());
        in_lake.sort_unstable();
        assert_eq!(in_lake, seqs);
        assert_eq!(reported_missing(lake.path(), "es1"), [13]);

        // Again, in another order: nothing added, and nothing is called a duplicate that is
        // not one (the checkpoint knows these files).
        let again = import_all(lake.path(), "es1", &files)
            .wait_with_output()
            .unwrap();
        let again = String::from_utf8_lossy(&again.stdout);
        assert_eq!(summary_value(&again, "files written"), 0, "{again}");
        // The same events in one new file: real duplicates, and the summary says which.
        let merged = dir.path().join("merged.ndjson");
        let mut lines: Vec<&str> = frames
            .iter()
            .map(|f| f.split_once('|').unwrap().1)
            .collect();
        lines.swap(0, 24);
        lines.remove(12); // seq 13, which the Collector dropped
        fs::write(&merged, lines.join("\n")).unwrap();
        let copy = import_all(lake.path(), "es1", &[merged])
            .wait_with_output()
            .unwrap();
        let copy = String::from_utf8_lossy(&copy.stdout);
        assert_eq!(summary_value(&copy, "duplicates"), 24, "{copy}");
        assert!(
            copy.contains("already in the lake (seq 1-12, 14-25)"),
            "{copy}"
        );
        assert_eq!(summary_value(&copy, "files written"), 0, "{copy}");

        // A second stream's archive, under its own name: all of it, none a duplicate.
        let out = import_all(lake.path(), "es2", &others)
            .wait_with_output()
            .unwrap();
        let summary = String::from_utf8_lossy(&out.stdout);
        assert_eq!(summary_value(&summary, "duplicates"), 0, "{summary}");
        let es2 = dss_lake_test_support::delta::seqs_by_stream(lake.path())
            .remove("es2")
            .unwrap();
        assert!(es2.iter().copied().eq(1..=40), "{es2:?}");
    }
}

/// The archive is a Collector's (one file per event type, one seq sequence across them), named
/// in reverse, so each commit holds seqs from all over the sequence: recovery and the re-runs'
/// dedupe must be exact, not "above the highest committed seq".
#[test]
fn kill_9_during_a_million_event_import_then_rerun_stores_every_seq_exactly_once() {
    const EVENTS: usize = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let (mut archive, _) =
        write_collector_archive(dir.path(), 1, &dss_lake_fleet::corpus(23, EVENTS), &|_| {
            false
        });
    archive.reverse();
    let lake = dir.path().join("lake");

    // A reader that keeps opening every visible file while the imports run and get killed.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (lake, stop) = (lake.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut checked = 0;
            while !stop.load(Ordering::Relaxed) {
                checked += check_visible_files(&lake);
            }
            checked
        })
    };

    // Kill at spread-out moments: early, mid-way, late (by committed progress, not by timer).
    let mut kills = 0;
    for fraction in [0.1, 0.4, 0.7] {
        let mut child = import_all(&lake, "archive", &archive);
        let started = Instant::now();
        loop {
            let committed = dss_lake_lake::Checkpoint::load(&lake, &"archive".parse().unwrap())
                .unwrap()
                .committed
                .len();
            if committed as f64 >= fraction * EVENTS as f64
                || started.elapsed() > Duration::from_secs(120)
            {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let it get into the middle of its next commit, at a moment that varies with the run.
        std::thread::sleep(Duration::from_millis(u64::from(
            started.elapsed().subsec_millis() % 300,
        )));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    let last = import_all(&lake, "archive", &archive)
        .wait_with_output()
        .unwrap();
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert!(
        kills >= 2,
        "the imports finished before they could be killed"
    );

    let mut seqs = seqs_in_lake(&lake);
    seqs.sort_unstable();
    assert_eq!(seqs.len(), EVENTS, "events stored");
    assert!(
        seqs.iter().copied().eq(1..=EVENTS as i64),
        "every seq exactly once"
    );
    assert_eq!(
        reported_missing(&lake, "archive"),
        [0i64; 0],
        "no gaps: the archive has none"
    );
    assert_eq!(check_visible_files(&lake), check_visible_files(&lake));
}

/// `dss-lake lake info` over an imported lake: the Delta logs hold what the import says it
/// committed, and the stream's last commit carries its highest seq.
#[test]
fn lake_info_reports_what_the_import_committed() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive.ndjson");
    write_archive(&archive, 3_000, 5);
    let lake = dir.path().join("lake");
    let imported = import(&lake, &archive).wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&imported.stdout).into_owned();
    let datapoints = summary_value(&summary, "datapoint");

    let info = run_ok(
        Command::new(BIN)
            .args(["lake", "info", "--json", "--lake"])
            .arg(&lake),
    );
    let tables: serde_json::Value = serde_json::from_str(&info).unwrap();
    let table = |name: &str| {
        tables
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == name)
            .unwrap_or_else(|| panic!("no {name} in {tables}"))
            .clone()
    };
    let datapoint = table("datapoint");
    assert_eq!(datapoint["rows"], datapoints, "{datapoint}");
    let files = crate::common::committed_files(&lake, Table::Datapoint).len();
    assert!(files > 0);
    assert_eq!(datapoint["files"], files, "{datapoint}");
    let stream = &datapoint["streams"][0];
    assert_eq!(stream["stream"], "archive", "{datapoint}");
    assert_eq!(stream["seq"], 3_000, "{datapoint}");
    assert!(stream["commit"].as_u64().unwrap() >= 1, "{datapoint}");
    assert!(stream["committed_at"].as_str().unwrap().ends_with('Z'));
    // The import reported no holes, so the gaps table holds only its creation (every table's
    // log is made before the first file is written).
    let gaps = table("gaps");
    assert_eq!(gaps["version"], 0, "{gaps}");
    assert_eq!(gaps["files"], 0, "{gaps}");

    let text = run_ok(
        Command::new(BIN)
            .args(["lake", "info", "--lake"])
            .arg(&lake),
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("datapoint "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains(&format!(" {datapoints} ")), "{text}");
    assert!(text.contains("  stream archive: commit "), "{text}");
    assert!(text.contains(", seq 3000, at "), "{text}");
}

/// A lake written by a release without Delta logs (an imported lake with its logs removed) is
/// converted in place: deltalake and polars then read every committed row once, and a second
/// conversion publishes nothing.
#[test]
fn lake_convert_turns_a_lake_without_logs_into_delta_tables() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive.ndjson");
    write_archive(&archive, 3_000, 9);
    let lake = dir.path().join("lake");
    assert!(import(&lake, &archive).wait().unwrap().code().is_some());
    let mut files = 0;
    for table in Table::ALL {
        let log = layout::delta_log_dir(&lake, table);
        if log.exists() {
            fs::remove_dir_all(log).unwrap();
        }
        files += crate::common::committed_files(&lake, table).len();
    }
    assert!(files >= 5, "{files}");
    // Until it is converted, the importer, the daemon's writer and the SQL engine refuse it,
    // and say how to convert it.
    let refusals = [
        import(&lake, &archive).wait_with_output().unwrap(),
        Command::new(BIN)
            .args(["query", "--lake"])
            .arg(&lake)
            .arg("SELECT count(*) FROM datapoint")
            .output()
            .unwrap(),
    ];
    for refused in refusals {
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{said}");
        assert!(said.contains("dss-lake lake convert --lake"), "{said}");
    }

    let convert = || {
        run_ok(
            Command::new(BIN)
                .args(["lake", "convert", "--lake"])
                .arg(&lake),
        )
    };
    let first = convert();
    assert!(
        first.contains(&format!("stream archive: {files} files published")),
        "{first}"
    );
    let read = check_delta_readers(&lake);
    // The five event tables and quarantine (the archive has bad lines).
    assert!(read.contains("6 Delta tables read alike"), "{read}");
    let again = convert();
    assert!(
        again.contains("stream archive: 0 files published"),
        "{again}"
    );
}
