//! The lake through real files: what a crash leaves and recovery removes, and the invariants
//! every change to the commit path must keep (`durability`, `invariants`, `commit_retry`), and
//! the tables' Delta logs as delta-rs reads them (`delta`). Every
//! check reads the committed Parquet files back with the `parquet` crate. How archives get in is
//! the importer's to test (`crates/import/tests`).

use std::fs;

use dss_lake_lake::Lake;
use dss_lake_schema::{StreamName, Table, layout};
use dss_lake_test_support::lake::{seq_counts, table_batches};

#[path = "lake/commit_retry.rs"]
mod commit_retry;
#[path = "lake/delta.rs"]
mod delta;
#[path = "lake/durability.rs"]
mod durability;
#[path = "lake/invariants.rs"]
mod invariants;
#[path = "support/power_cut.rs"]
mod power_cut;

/// `count` fleet frames, seqs from 1, whose event times cross midnight a second in.
fn fleet_frames(count: usize) -> Vec<String> {
    frames_of(count, &Table::EVENTS)
}

/// Like [`fleet_frames`], of the fleet's events of `tables` only.
fn frames_of(count: usize, tables: &[Table]) -> Vec<String> {
    let midnight = 20_781 * 86_400_000_000; // 2026-11-24T00:00:00Z
    let mut fleet = dss_lake_fleet::Fleet::new(dss_lake_fleet::FleetConfig {
        start_time_micros: midnight - 1_000_000,
        ..Default::default()
    });
    let mut frames = Vec::with_capacity(count);
    while frames.len() < count {
        let event = fleet.next_event();
        if tables.contains(&event.table) {
            let mut frame = String::new();
            event.write_frame(frames.len() as u64 + 1, &mut frame);
            frames.push(frame);
        }
    }
    frames
}

/// Decodes and pushes `frames`, which must all be events.
fn push_frames(
    sink: &mut dss_lake_lake::StreamSink,
    frames: &[String],
) -> dss_lake_lake::Result<()> {
    let mut decoder = dss_lake_frame::FrameDecoder::new();
    for frame in frames {
        match decoder.decode_message(frame) {
            Ok(dss_lake_frame::Frame::Event(event)) => {
                sink.push_event(&event, 0)?;
            }
            other => panic!("not an event: {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn opening_a_stream_removes_in_flight_files_and_uncommitted_commits() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    let stream = StreamName::parse("s").unwrap();
    let mut writer = lake.open_stream(&stream).unwrap();
    push_frames(writer.sink(), &fleet_frames(1_000)).unwrap();
    writer.close().unwrap();
    let committed = seq_counts(lake.root());
    assert_eq!(committed.len(), 1_000);
    let first_file = table_batches(lake.root(), Table::Datapoint)[0].0.clone();

    // What a crash leaves: a half-written file, and a complete file whose checkpoint never landed.
    let partition = layout::table_dir(lake.root(), Table::Datapoint).join("date=2026-11-24");
    fs::create_dir_all(&partition).unwrap();
    let in_flight = partition.join(layout::in_flight_name(&layout::data_file_name(
        &stream, 1_001, 1_010,
    )));
    fs::write(&in_flight, b"PAR1 half").unwrap();
    let orphan = partition.join(layout::data_file_name(&stream, 1_001, 1_010));
    fs::copy(&first_file, &orphan).unwrap();
    // Another stream's files are not ours to touch.
    let other = partition.join(layout::data_file_name(
        &StreamName::parse("other").unwrap(),
        5_000,
        5_001,
    ));
    fs::copy(&first_file, &other).unwrap();

    let writer = lake.open_stream(&stream).unwrap();
    assert_eq!(writer.recovery().removed_in_flight, vec![in_flight.clone()]);
    assert_eq!(writer.recovery().rolled_back, vec![orphan.clone()]);
    writer.close().unwrap();
    assert!(!in_flight.exists() && !orphan.exists() && other.exists());
    fs::remove_file(other).unwrap();
    assert_eq!(seq_counts(lake.root()), committed);
}
