//! `dss-lake import` as a user runs it: the real binary, real files, DuckDB reading the lake,
//! and `kill -9` in the middle of a million-event import.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::BIN;
use dss_lake_schema::{Table, layout};
const BAD_LINES: [&str; 3] = [
    r#"{"seq":"5","metadata":{"dsn":"X","event_type":"firmware"},"firmware":{}}"#,
    r#"17|{"seq":"broken"#,
    "this line is not an event",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    Command::new(BIN)
        .args(["import", "--stream", "archive", "--lake"])
        .arg(lake)
        .arg(archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn duckdb_reads_every_imported_event_exactly_once_and_every_bad_line_from_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive.ndjson");
    write_archive(&archive, 20_000, 11);
    let bad = dir.path().join("bad.txt");
    let written = fs::read_to_string(&archive).unwrap();
    let bad_lines: Vec<&str> = written.lines().filter(|l| BAD_LINES.contains(l)).collect();
    fs::write(&bad, bad_lines.join("\n")).unwrap();
    let lake = dir.path().join("lake");

    let first = import(&lake, &archive).wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
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

    let venv = repo().join("scripts/python-env.sh");
    let status = Command::new("bash").arg(&venv).status().unwrap();
    assert!(status.success(), "could not create the Python environment");
    let check = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/import_duckdb_check.py"))
        .args([&lake, &archive, &bad])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
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
    common::seqs_by_stream(lake)
        .into_values()
        .flatten()
        .collect()
}

#[test]
fn kill_9_during_a_million_event_import_then_rerun_stores_every_seq_exactly_once() {
    const EVENTS: usize = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("big.ndjson");
    write_archive(&archive, EVENTS, 23);
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
        let mut child = import(&lake, &archive);
        let started = Instant::now();
        loop {
            let committed = dss_lake_batch::Checkpoint::load(&lake, &"archive".parse().unwrap())
                .unwrap()
                .seq
                .unwrap_or(0);
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
    let last = import(&lake, &archive).wait_with_output().unwrap();
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
    assert_eq!(check_visible_files(&lake), check_visible_files(&lake));
}
