//! One archive at a time: the formats an archive is read as (NDJSON of payloads or of raw
//! frames, Collector files of back-to-back objects), how it is known again (fingerprint, byte
//! marks), what it reports (bytes, heartbeats, holes) and where its bad records go. Every check
//! reads the lake back from its Parquet files and restores each row to JSON.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use dss_lake_frame::restore::restore_row;
use dss_lake_import::{ArchiveFormat, import_files};
use dss_lake_lake::{Checkpoint, FlushPolicy, Lake};
use dss_lake_schema::{StreamName, Table};
use dss_lake_test_support::lake::table_batches;

use super::import;
use serde_json::Value;

const BAD_LINES: [&str; 4] = [
    r#"{"seq":"#,
    r#"{"seq":"99999","metadata":{"dsn":"X","event_type":"firmware"},"firmware":{}}"#,
    "not json at all",
    r#"{"seq":"12x","metadata":{"dsn":"X","event_type":"connectivity"},"connection":{}}"#,
];

/// A mixed archive: the fleet corpus as bare JSON lines with bad lines spread through it.
fn write_archive(dir: &Path, events: usize) -> (PathBuf, Vec<String>) {
    let payloads = payloads(3, events);
    let mut lines = payloads.clone();
    for (i, bad) in BAD_LINES.iter().enumerate() {
        lines.insert(i * events / BAD_LINES.len(), bad.to_string());
    }
    let path = dir.join("archive.ndjson");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, payloads)
}

/// The fleet corpus's event payloads, without their length prefix.
fn payloads(seed: u64, count: usize) -> Vec<String> {
    dss_lake_fleet::corpus(seed, count)
        .into_iter()
        .map(|f| f.split_once('|').unwrap().1.to_owned())
        .collect()
}

/// Every stored event restored to its JSON, by seq; panics on a seq stored twice.
fn restored_events(lake: &Path) -> BTreeMap<u64, Value> {
    let mut events = BTreeMap::new();
    for table in Table::EVENTS {
        for (_, batch) in table_batches(lake, table) {
            for row in 0..batch.num_rows() {
                let value = restore_row(table, &batch, row).unwrap();
                let seq: u64 = value["seq"].as_str().unwrap().parse().unwrap();
                assert!(
                    events.insert(seq, value).is_none(),
                    "seq {seq} stored twice"
                );
            }
        }
    }
    events
}

/// (source, raw) of every quarantined row, sorted.
fn quarantined(lake: &Path) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (_, batch) in table_batches(lake, Table::Quarantine) {
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .unwrap()
                .as_string::<i32>()
                .clone()
        };
        let (source, raw) = (text("source"), text("raw"));
        for row in 0..batch.num_rows() {
            rows.push((source.value(row).to_owned(), raw.value(row).to_owned()));
        }
    }
    rows.sort();
    rows
}

/// Asserts the quarantine holds exactly `expected` (source, raw) rows, in any order.
fn assert_quarantined(lake: &Path, expected: &[(&str, &str)]) {
    let mut expected: Vec<(String, String)> = expected
        .iter()
        .map(|(source, raw)| (source.to_string(), raw.to_string()))
        .collect();
    expected.sort();
    assert_eq!(quarantined(lake), expected);
}

#[test]
fn an_imported_archive_is_in_the_lake_exactly_once_with_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, payloads) = write_archive(dir.path(), 5_000);
    let lake = Lake::new(dir.path().join("lake")).with_policy(FlushPolicy {
        max_rows: 1_500,
        ..FlushPolicy::default()
    });
    let stream = StreamName::parse("archive").unwrap();

    let summary = import(&lake, "archive", std::slice::from_ref(&archive));
    assert_eq!(summary.counts.total_events(), 5_000);
    assert_eq!(summary.counts.quarantined, BAD_LINES.len() as u64);
    assert!(summary.files_written >= 5, "{summary:?}");

    let stored = restored_events(lake.root());
    assert_eq!(stored.len(), payloads.len());
    for payload in &payloads {
        let original: Value = serde_json::from_str(payload).unwrap();
        let seq: u64 = original["seq"].as_str().unwrap().parse().unwrap();
        assert_eq!(stored[&seq], original);
    }

    let quarantine = table_batches(lake.root(), Table::Quarantine);
    let raw: Vec<String> = quarantine
        .iter()
        .flat_map(|(_, b)| {
            b.column_by_name("raw")
                .unwrap()
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut expected: Vec<String> = BAD_LINES.iter().map(|s| s.to_string()).collect();
    let mut raw_sorted = raw.clone();
    raw_sorted.sort();
    expected.sort();
    assert_eq!(raw_sorted, expected);

    let checkpoint = Checkpoint::load(lake.root(), &stream).unwrap();
    assert_eq!(checkpoint.seq, Some(5_000));
}

#[test]
fn importing_the_same_archive_twice_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = write_archive(dir.path(), 2_000);
    let lake = Lake::new(dir.path().join("lake"));
    import(&lake, "archive", std::slice::from_ref(&archive));
    let files_before =
        table_batches(lake.root(), Table::Quarantine).len() + restored_events(lake.root()).len();

    let again = import(&lake, "archive", std::slice::from_ref(&archive));
    assert_eq!(again.counts.total_events(), 0);
    assert_eq!(again.counts.quarantined, 0);
    assert_eq!(again.files_written, 0);
    assert_eq!(
        again.bytes_already_imported,
        fs::metadata(&archive).unwrap().len()
    );
    let files_after =
        table_batches(lake.root(), Table::Quarantine).len() + restored_events(lake.root()).len();
    assert_eq!(files_before, files_after);

    // A copy under another name is recognised by content; its events are duplicates anyway.
    let copy = dir.path().join("copy.ndjson");
    fs::copy(&archive, &copy).unwrap();
    assert_eq!(
        import(&lake, "archive", std::slice::from_ref(&copy))
            .counts
            .total_events(),
        0
    );
}

#[test]
fn an_archive_of_raw_frames_that_starts_with_a_heartbeat_is_read_by_line_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for (i, frame) in dss_lake_fleet::corpus(4, 100).into_iter().enumerate() {
        if i % 25 == 0 {
            lines.push("1|Z".to_owned());
        }
        lines.push(frame);
    }
    let archive = dir.path().join("frames.ndjson");
    fs::write(&archive, lines.join("\n") + "\n").unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let summary = import(&lake, "frames", std::slice::from_ref(&archive));
    assert_eq!(summary.heartbeats, 4);
    assert_eq!(summary.counts.total_events(), 100);
    assert_eq!(
        summary.counts.quarantined,
        0,
        "{:?}",
        &quarantined(lake.root())[..2]
    );
    assert_eq!(restored_events(lake.root()).len(), 100);
}

#[test]
fn a_long_import_marks_its_progress_in_the_checkpoint_before_it_ends() {
    // A re-run after a crash skips what such a mark covers; the importer marks every 4,096
    // records, and the writer commits a mark with the next rows.
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = write_archive(dir.path(), 9_000);
    let len = fs::metadata(&archive).unwrap().len();
    let lake = Lake::new(dir.path().join("lake")).with_policy(FlushPolicy {
        max_rows: 1_000,
        ..FlushPolicy::default()
    });
    let stream = StreamName::parse("archive").unwrap();
    let (mut read, mut waited, mut marked) = (0, false, None);
    let mut on_bytes = |n| {
        read += n;
        if read < len || waited {
            return;
        }
        waited = true;
        // The last record is read; the end-of-file mark is not sent yet.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while marked.is_none() && std::time::Instant::now() < deadline {
            let checkpoint = Checkpoint::load(lake.root(), &stream).unwrap();
            marked = checkpoint.sources.values().next().copied();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    import_files(
        &lake,
        &stream,
        std::slice::from_ref(&archive),
        ArchiveFormat::Auto,
        &mut on_bytes,
    )
    .unwrap();
    let marked = marked.expect("no progress mark committed during the import");
    assert!(0 < marked && marked < len, "{marked} of {len}");
}

#[test]
fn an_archive_is_known_by_the_fnv1a_hash_and_the_length_of_its_head() {
    // Checkpoints on disk name archives this way, so it must not change: "foobar" is one of
    // FNV-1a's published 64-bit test vectors (0x85944171f73967e8).
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("foobar.ndjson");
    fs::write(&archive, "foobar").unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let stream = StreamName::parse("archive").unwrap();
    assert_eq!(
        import(&lake, "archive", std::slice::from_ref(&archive))
            .counts
            .quarantined,
        1
    );
    let checkpoint = Checkpoint::load(lake.root(), &stream).unwrap();
    let expected = BTreeMap::from([("85944171f73967e8-6".to_owned(), 6)]);
    assert_eq!(checkpoint.sources, expected);
}

#[test]
fn a_quarantined_record_names_its_archive_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = payloads(3, 2);
    let mut bytes = format!("{}\nnot json\n\n{}\n", good[0], good[1]).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n");
    let archive = dir.path().join("mixed.ndjson");
    fs::write(&archive, bytes).unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let summary = import(&lake, "mixed", std::slice::from_ref(&archive));
    assert_eq!(summary.counts.total_events(), 2);
    assert_quarantined(
        lake.root(),
        &[
            ("mixed.ndjson:2", "not json"),
            ("mixed.ndjson:5", "\u{fffd}\u{fffd}"),
        ],
    );
}

#[test]
fn an_import_reports_each_byte_of_the_archive_once_and_a_rerun_the_skipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = write_archive(dir.path(), 300);
    let len = fs::metadata(&archive).unwrap().len();
    let lake = Lake::new(dir.path().join("lake"));
    let stream = StreamName::parse("archive").unwrap();
    let paths = [archive.clone()];
    for run in ["first", "again"] {
        let mut reported = Vec::new();
        import_files(&lake, &stream, &paths, ArchiveFormat::Auto, &mut |n| {
            reported.push(n)
        })
        .unwrap();
        assert_eq!(reported.iter().sum::<u64>(), len, "{run} run: {reported:?}");
    }
}

#[test]
fn an_archive_that_begins_like_an_imported_one_and_then_differs_is_imported_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = payloads(3, 150);
    let ndjson = |events: &[String]| events.join("\n") + "\n";
    // The same first ten events (several KiB), then different ones; both files are shorter
    // than the head an archive is recognised by, so they are two archives.
    let first = dir.path().join("first.ndjson");
    fs::write(&first, ndjson(&payloads[..50])).unwrap();
    let second = dir.path().join("second.ndjson");
    fs::write(&second, ndjson(&payloads[..10]) + &ndjson(&payloads[70..])).unwrap();
    let (first_len, second_len) = (
        fs::metadata(&first).unwrap().len(),
        fs::metadata(&second).unwrap().len(),
    );
    assert!(
        first_len < second_len && second_len < 64 * 1024,
        "{first_len} {second_len}"
    );

    let lake = Lake::new(dir.path().join("lake"));
    import(&lake, "archive", std::slice::from_ref(&first));
    let summary = import(&lake, "archive", std::slice::from_ref(&second));
    assert_eq!(summary.bytes_already_imported, 0);
    assert_eq!(summary.counts.total_events(), 80);
    let stored: Vec<u64> = restored_events(lake.root()).into_keys().collect();
    let expected: Vec<u64> = (1..=50).chain(71..=150).collect();
    assert_eq!(stored, expected);
}

#[test]
fn collector_files_of_back_to_back_objects_import_like_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = payloads(5, 300);
    let archive = dir.path().join("collector.json");
    fs::write(&archive, payloads.concat()).unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let summary = import(&lake, "collector", std::slice::from_ref(&archive));
    assert_eq!(summary.counts.total_events(), 300);
    assert_eq!(summary.counts.quarantined, 0);
    assert_eq!(restored_events(lake.root()).len(), 300);
}

#[test]
fn junk_in_a_collector_file_is_quarantined_record_by_record_and_named_by_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let e = payloads(5, 5);
    // Records: 1 e0, 2 e1 (after spaces), 3 a string, 4 e2, 5 a stray brace, 6 e3, 7 and 8
    // a line of junk each, 9 e4.
    let text = format!(
        "{}  {}\n\"oops\"{}}}{}\nnot json\nmore junk\n{}",
        e[0], e[1], e[2], e[3], e[4]
    );
    let archive = dir.path().join("collector.json");
    fs::write(&archive, text).unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let summary = import(&lake, "collector", std::slice::from_ref(&archive));
    assert_eq!(summary.counts.total_events(), 5);
    assert_quarantined(
        lake.root(),
        &[
            ("collector.json:3", "\"oops\""),
            ("collector.json:5", "}"),
            ("collector.json:7", "not json"),
            ("collector.json:8", "more junk"),
        ],
    );
}
