//! The daemon's clock is the one its config names: with a `ManualClock` that stands still, a
//! live stream commits nothing by age however long it runs, commits once the clock is moved past
//! `flush.max_age`, and stamps every row's `received_at` with the clock's time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use dss_lake_ingest::Ingest;
use dss_lake_lake::{FlushPolicy, ManualClock};
use dss_lake_schema::{Table, columns, layout};
use dss_lake_sim::Faults;

use super::{event_files, ingest_config, sim_config, start_sim, wait_for};

/// 2026-01-01T00:00:00Z, far from the wall clock, so a row stamped by the system clock shows.
const START: i64 = 1_767_225_600_000_000;

/// Every `received_at` of the committed files, in micros.
fn received_at(lake: &Path) -> Vec<i64> {
    let mut times = Vec::new();
    for (name, path) in event_files(lake) {
        if layout::is_hidden(&name) {
            continue;
        }
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(path).unwrap(),
        )
        .unwrap();
        let mask = parquet::arrow::ProjectionMask::columns(
            reader.parquet_schema(),
            [columns::RECEIVED_AT],
        );
        for batch in reader.with_projection(mask).build().unwrap() {
            let batch = batch.unwrap();
            let column = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
                .unwrap();
            times.extend(column.values().iter().copied());
        }
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_clock_decides_when_the_age_flush_commits_and_stamps_received_at() {
    let (sim, addr) = start_sim(sim_config(Faults::default())).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(START);
    let mut config = ingest_config(&sim, addr, dir.path(), &[Table::Datapoint]);
    // Only age can trigger a commit here, and the wall clock passes it many times over below.
    config.flush = FlushPolicy {
        max_rows: usize::MAX,
        max_bytes: usize::MAX,
        max_age: Duration::from_millis(200),
    };
    config.clock = Arc::new(clock.clone());
    let running = Ingest::start(config.clone()).await.unwrap();
    let stream = Arc::clone(&running.metrics().streams[0]);

    wait_for("events", || stream.last_seq().unwrap_or(0) > 500).await;
    // Ten times max_age of real time: with the system clock this would have committed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stream.writer.commits.load(Ordering::Relaxed), 0);
    assert!(event_files(dir.path()).is_empty());

    clock.advance(Duration::from_secs(1));
    wait_for("the age flush after the clock moved", || {
        stream.writer.commits.load(Ordering::Relaxed) > 0
    })
    .await;
    let stamped = received_at(dir.path());
    assert!(stamped.len() > 500, "{} rows", stamped.len());
    // Rows that arrived while the clock stood still carry its time; the few decoded between
    // the move and the commit carry the moved time. None carries the wall clock's.
    let moved = START + 1_000_000;
    assert!(
        stamped.iter().all(|&t| t == START || t == moved),
        "received_at not from the manual clock: {:?}",
        stamped.iter().find(|&&t| t != START && t != moved)
    );
    assert!(stamped.iter().filter(|&&t| t == START).count() > 500);

    running.shutdown().await.unwrap();
    sim.shutdown();
}
