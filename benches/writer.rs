//! The lake writer: events/s from frames to committed Parquet files, and bytes per event on disk
//! against the raw JSON and `zstd -3` of the same NDJSON. Prints a table; no assertions.
//!
//! Run: `cargo bench -p dss-lake-lake --bench writer` (EVENTS below; pass a number to change it).

use std::time::Instant;

use dss_lake_frame::{Frame, FrameDecoder};
use dss_lake_lake::{FlushPolicy, Lake};
use dss_lake_schema::StreamName;

const EVENTS: usize = 500_000;
const ZSTD_LEVEL: i32 = 3;

fn main() {
    let events = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(EVENTS);
    let frames = dss_lake_fleet::corpus(1, events);
    let ndjson: String = frames
        .iter()
        .map(|f| f.split_once('|').expect("framed").1)
        .collect::<Vec<_>>()
        .join("\n");

    // Baseline in the same process: decoding alone.
    let mut decoder = FrameDecoder::new();
    let started = Instant::now();
    let mut decoded = 0;
    for frame in &frames {
        decoded += usize::from(matches!(decoder.decode_message(frame), Ok(Frame::Event(_))));
    }
    let decode_secs = started.elapsed().as_secs_f64();
    assert_eq!(decoded, events);

    let dir = tempfile::tempdir().expect("temp dir");
    let lake = Lake::new(dir.path()).with_policy(FlushPolicy::default());
    let stream = StreamName::parse("bench").expect("valid name");
    let started = Instant::now();
    let mut writer = lake.open_stream(&stream).expect("opens");
    for frame in &frames {
        if let Ok(Frame::Event(event)) = decoder.decode_message(frame) {
            writer.sink().push_event(&event, 0).expect("writer alive");
        }
    }
    let stats = std::sync::Arc::clone(writer.stats());
    writer.close().expect("final commit");
    let total_secs = started.elapsed().as_secs_f64();
    let files = stats.files.load(std::sync::atomic::Ordering::Relaxed);
    let lake_bytes = stats.file_bytes.load(std::sync::atomic::Ordering::Relaxed) as f64;

    let started = Instant::now();
    let zstd_bytes = zstd::bulk::compress(ndjson.as_bytes(), ZSTD_LEVEL)
        .expect("compresses")
        .len() as f64;
    let zstd_secs = started.elapsed().as_secs_f64();

    let n = events as f64;
    println!("lake writer, {events} fleet events, {files} files");
    println!("{:<44} {:>14} {:>12}", "stage", "events/s", "x decode");
    println!(
        "{:<44} {:>14.0} {:>12.2}",
        "decode only (baseline)",
        n / decode_secs,
        1.0
    );
    println!(
        "{:<44} {:>14.0} {:>12.2}",
        "frames -> committed Parquet (decode+write)",
        n / total_secs,
        decode_secs / total_secs
    );
    println!(
        "{:<44} {:>14.0} {:>12}",
        "zstd -3 of the NDJSON (for scale)",
        n / zstd_secs,
        ""
    );
    println!();
    println!(
        "{:<44} {:>14} {:>12}",
        "on disk", "bytes/event", "x raw JSON"
    );
    let raw = ndjson.len() as f64;
    for (name, bytes) in [
        ("raw NDJSON", raw),
        ("zstd -3 NDJSON", zstd_bytes),
        ("dss-lake Parquet (typed, sorted, zstd)", lake_bytes),
    ] {
        println!("{:<44} {:>14.1} {:>12.3}", name, bytes / n, bytes / raw);
    }
}
