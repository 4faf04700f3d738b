//! A writer opened with `CommitRetry` whose commits fail on I/O waits, reports why, and resumes
//! by itself when the cause goes away, storing every event once.

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_lake::{CommitRetry, FlushPolicy, Lake};
use dss_lake_schema::{StreamName, Table, layout};

use crate::seq_counts;

const PATIENCE: Duration = Duration::from_secs(30);

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
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
    // Once the writer has made the datapoint table, a file takes its folder's place: every
    // commit of datapoints fails on I/O (after the other tables' files are in place, which the
    // retry must not double).
    let blocker = layout::table_dir(lake.root(), Table::Datapoint);
    let first_log_entry =
        layout::delta_log_dir(lake.root(), Table::Datapoint).join("00000000000000000000.json");
    wait_for("the datapoint table", || first_log_entry.exists());
    let moved_aside = dir.path().join("datapoint-aside");
    fs::rename(&blocker, &moved_aside).unwrap();
    fs::write(&blocker, "not a folder").unwrap();

    let mut decoder = FrameDecoder::new();
    let mut sent = Vec::new();
    for frame in dss_lake_fleet::corpus(2, 500) {
        if let Ok(Frame::Event(event)) = decoder.decode_message(&frame) {
            sent.push(event.seq);
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
    fs::rename(&moved_aside, &blocker).unwrap();
    wait_for("the commit", || stats.commits.load(Ordering::Relaxed) >= 1);
    assert_eq!(stats.retrying(), None);
    let checkpoint = writer.close().unwrap();
    assert_eq!(checkpoint.seq, sent.iter().max().copied());
    let expected: BTreeMap<u64, usize> = sent.iter().map(|&s| (s, 1)).collect();
    assert_eq!(seq_counts(dir.path()), expected);
}
