//! A lake whose disk fills up: an import fails fast and says why (the OS error and the file),
//! a re-run after freeing space stores every event exactly once; a writer opened with
//! `CommitRetry` waits instead, and resumes by itself when the cause goes away.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_lake::import::{ArchiveFormat, import_files};
use dss_lake_lake::{Checkpoint, CommitRetry, FlushPolicy, Lake};
use dss_lake_schema::{StreamName, Table, layout};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod support {
    pub(crate) mod tmpfs;
}
use support::tmpfs::Tmpfs;

const PATIENCE: Duration = Duration::from_secs(30);

/// How often each `seq` is in the lake's event tables; fails on any leftover hidden file.
fn seq_counts(lake: &Path) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for table in Table::EVENTS {
        let Ok(partitions) = fs::read_dir(layout::table_dir(lake, table)) else {
            continue;
        };
        for partition in partitions {
            for file in fs::read_dir(partition.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap();
                assert!(!layout::is_hidden(name), "leftover {}", path.display());
                let reader =
                    ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path).unwrap())
                        .unwrap()
                        .build()
                        .unwrap();
                for batch in reader {
                    let batch = batch.unwrap();
                    let seq = batch
                        .column_by_name("seq")
                        .unwrap()
                        .as_primitive::<Int64Type>();
                    for s in seq.values() {
                        *counts.entry(*s).or_default() += 1;
                    }
                }
            }
        }
    }
    counts
}

fn write_archive(dir: &Path, events: usize) -> (PathBuf, Vec<i64>) {
    let frames = dss_lake_fleet::corpus(5, events);
    let mut decoder = FrameDecoder::new();
    let seqs = frames
        .iter()
        .filter_map(|f| match decoder.decode_message(f) {
            Ok(Frame::Event(e)) => Some(e.seq as i64),
            _ => None,
        })
        .collect();
    let path = dir.join("archive.ndjson");
    fs::write(&path, frames.join("\n") + "\n").unwrap();
    (path, seqs)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_import_on_a_full_disk_names_the_cause_and_the_file_and_a_rerun_stores_each_event_once() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (archive, sent) = write_archive(work.path(), 20_000);
    let lake = Lake::new(disk.path().join("lake")).with_policy(FlushPolicy {
        max_rows: 2_000,
        ..FlushPolicy::default()
    });
    let stream = StreamName::parse("archive").unwrap();
    let import = || {
        import_files(
            &lake,
            &stream,
            std::slice::from_ref(&archive),
            ArchiveFormat::Auto,
            &mut |_| {},
        )
    };

    // Room for a commit or two (~200 KB each), not for the whole import (~1 MB): the disk
    // fills during the import.
    let filler = disk.fill();
    disk.leave_free(&filler, 500 << 10);
    let error = import().expect_err("the disk is full");
    let message = error.to_string();
    let committed = Checkpoint::load(lake.root(), &stream).unwrap();
    assert!(
        committed.seq.is_some(),
        "the disk filled before the first commit"
    );
    assert!(message.contains("No space left on device"), "{message}");
    assert!(
        message.contains(&disk.path().display().to_string()),
        "no path in: {message}"
    );
    assert!(!message.ends_with("has stopped"), "{message}");

    fs::remove_file(&filler).unwrap();
    import().unwrap();
    let counts = seq_counts(lake.root());
    let expected: BTreeMap<i64, usize> = sent.iter().map(|&s| (s, 1)).collect();
    assert!(
        counts == expected,
        "not every event exactly once: {} stored for {} sent",
        counts.len(),
        expected.len()
    );
}

#[test]
fn a_commit_failing_on_io_is_retried_and_resumes_when_the_cause_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path())
        .with_policy(FlushPolicy {
            max_rows: 10,
            ..FlushPolicy::default()
        })
        .with_commit_retry(CommitRetry {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(50),
        });
    let stream = StreamName::parse("s").unwrap();
    let mut writer = lake.open_stream(&stream).unwrap();
    // A file where the datapoint folder belongs: every commit of datapoints fails on I/O
    // (after the other tables' files are in place, which the retry must not double).
    let blocker = layout::table_dir(lake.root(), Table::Datapoint);
    fs::write(&blocker, "not a folder").unwrap();

    let mut decoder = FrameDecoder::new();
    let mut sent = Vec::new();
    for frame in dss_lake_fleet::corpus(2, 500) {
        if let Ok(Frame::Event(event)) = decoder.decode_message(&frame) {
            sent.push(event.seq as i64);
            writer.sink().push_event(&event, 0).unwrap();
        }
    }
    writer.sink().send_pending().unwrap();
    let stats = std::sync::Arc::clone(writer.stats());
    wait_for("a retry", || {
        stats.commit_failures.load(Ordering::Relaxed) >= 3
    });
    let reason = stats.retrying().expect("retrying");
    assert!(reason.contains(&blocker.display().to_string()), "{reason}");
    assert_eq!(stats.commits.load(Ordering::Relaxed), 0);

    fs::remove_file(&blocker).unwrap();
    wait_for("the commit", || stats.commits.load(Ordering::Relaxed) >= 1);
    assert_eq!(stats.retrying(), None);
    let checkpoint = writer.close().unwrap();
    assert_eq!(checkpoint.seq, sent.iter().max().map(|&s| s as u64));
    let expected: BTreeMap<i64, usize> = sent.iter().map(|&s| (s, 1)).collect();
    assert_eq!(seq_counts(dir.path()), expected);
}
