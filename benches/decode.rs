//! The parser hot path, one criterion group over the same frames (the deterministic fleet corpus,
//! ~70% datapoints, 300-700 bytes each), in MB/s of JSON payload and events/s:
//!
//! - `dss_lake`: our decoder (canonical frames read straight into an event, the rest through a
//!   tape, simd-json for frames with escapes; strings borrowed from the message) into the
//!   tables' Arrow builders;
//! - `serde_value`: `serde_json::Value` per event, then the same extractor and builders;
//! - `arrow_json/<batch>`: arrow-json's `Decoder` on the same payloads with the equivalent nested
//!   schema (natural types: timestamps, booleans, floats), at two batch sizes.
//!
//! Run: `cargo bench -p dss-lake-frame --bench decode`. After criterion's group, the same four
//! contenders run interleaved (see `print_interleaved`) and a table of medians and ratios is
//! printed; the README's Performance section quotes those ratios.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dss_lake_frame::{Frame, FrameDecoder, TableBuilder};
use dss_lake_schema::Table;

const FRAMES: usize = 20_000;
const BATCH_ROWS: usize = 8192;
const SEED: u64 = 1;

/// One builder per event table, flushed every `BATCH_ROWS` rows like the batching stage does.
/// Long-lived across iterations, as the real sink's are: a bench that made fresh builders per
/// iteration would mostly measure allocating and page-faulting their buffers.
struct Builders {
    tables: Vec<TableBuilder>,
    batch_rows: usize,
}

impl Builders {
    fn new(batch_rows: usize) -> Self {
        Builders {
            tables: Table::EVENTS
                .iter()
                .map(|&t| TableBuilder::new(t, batch_rows))
                .collect(),
            batch_rows,
        }
    }

    fn append(&mut self, event: &dss_lake_frame::Event<'_>) -> usize {
        let builder = &mut self.tables[event.table() as usize];
        builder.append(event, "bench", 0).expect("right table");
        if builder.len() == self.batch_rows {
            builder.finish().num_rows()
        } else {
            0
        }
    }

    fn finish(&mut self) -> usize {
        self.tables.iter_mut().map(|b| b.finish().num_rows()).sum()
    }
}

/// (a) Every frame through our decoder into the builders; returns the rows of all batches.
fn run_dss_lake(frames: &[&str], decoder: &mut FrameDecoder, builders: &mut Builders) -> usize {
    let mut rows = 0;
    for frame in frames {
        if let Ok(Frame::Event(event)) = decoder.decode_message(frame) {
            rows += builders.append(&event);
        }
    }
    rows + builders.finish()
}

/// (b) `serde_json::Value` per payload, then the same extractor and builders.
fn run_serde_value(
    payloads: &[&str],
    decoder: &mut FrameDecoder,
    builders: &mut Builders,
) -> usize {
    let mut rows = 0;
    for payload in payloads {
        let value: serde_json::Value = serde_json::from_str(payload).expect("valid JSON");
        if let Ok(event) = decoder.decode_value(&value) {
            rows += builders.append(&event);
        }
    }
    rows + builders.finish()
}

/// (c) arrow-json's reusable `Decoder` (it resets on `flush`), one batch per `batch_size` rows.
fn arrow_json_decoder(schema: &Arc<Schema>, batch_size: usize) -> arrow_json::reader::Decoder {
    arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_size)
        .with_coerce_primitive(true)
        .build_decoder()
        .expect("schema is valid")
}

fn run_arrow_json(ndjson: &[u8], decoder: &mut arrow_json::reader::Decoder) -> usize {
    let mut rows = 0;
    let mut rest = ndjson;
    while !rest.is_empty() {
        let consumed = decoder.decode(rest).expect("valid JSON");
        rest = &rest[consumed..];
        if let Some(batch) = decoder.flush().expect("decodes") {
            rows += batch.num_rows();
        }
    }
    rows + decoder
        .flush()
        .expect("decodes")
        .map_or(0, |b| b.num_rows())
}

/// The DSS envelope as a nested Arrow schema, with the lake's natural types.
fn arrow_json_schema() -> Arc<Schema> {
    // "+00:00" is UTC without pulling chrono-tz into arrow-json.
    let ts = |n: &str| {
        Field::new(
            n,
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            true,
        )
    };
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let b = |n: &str| Field::new(n, DataType::Boolean, true);
    let i = |n: &str| Field::new(n, DataType::Int64, true);
    let strukt = |n: &str, f: Vec<Field>| Field::new(n, DataType::Struct(Fields::from(f)), true);
    let datapoint = |n: &str| {
        strukt(
            n,
            vec![
                s("id"),
                ts("created_at_from_device"),
                ts("updated_at"),
                ts("created_at"),
                s("user_uuid"),
                b("echo"),
                b("closed"),
                s("value"),
                i("ack_message"),
                i("ack_status"),
                s("ack_id"),
                ts("acked_at"),
            ],
        )
    };
    Arc::new(Schema::new(vec![
        s("seq"),
        strukt(
            "metadata",
            vec![
                s("oem_id"),
                s("oem_model"),
                s("dsn"),
                s("property_name"),
                s("display_name"),
                s("base_type"),
                Field::new(
                    "resource_tags",
                    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                    true,
                ),
                s("event_type"),
            ],
        ),
        strukt(
            "connection",
            vec![ts("event_time"), s("user_uuid"), s("status")],
        ),
        datapoint("datapoint"),
        datapoint("datapointack"),
        strukt(
            "location_event",
            vec![
                s("dsn"),
                s("ip"),
                Field::new("lat", DataType::Float64, true),
                Field::new("long", DataType::Float64, true),
                s("provider"),
                s("user_uuid"),
                ts("created_at"),
            ],
        ),
        strukt(
            "registration_event",
            vec![
                s("dsn"),
                s("user_uuid"),
                b("registered"),
                s("registration_type"),
                ts("registered_at"),
                ts("unregistered_at"),
            ],
        ),
    ]))
}

fn decode(c: &mut Criterion) {
    // All frames in one buffer, back to back, as arrow-json's NDJSON is: with one allocation
    // per frame, each contender would read its input in a different memory layout.
    let corpus = dss_lake_fleet::corpus(SEED, FRAMES);
    let buffer = corpus.concat();
    let mut frames: Vec<&str> = Vec::with_capacity(FRAMES);
    let mut rest = buffer.as_str();
    for frame in &corpus {
        let (head, tail) = rest.split_at(frame.len());
        frames.push(head);
        rest = tail;
    }
    let payloads: Vec<&str> = frames
        .iter()
        .map(|f| f.split_once('|').expect("framed").1)
        .collect();
    let ndjson = payloads.join("\n").into_bytes();
    let bytes: usize = payloads.iter().map(|p| p.len()).sum();
    let schema = arrow_json_schema();

    // Every contender must decode every event, or the comparison is meaningless; twice, so the
    // reused decoders and builders are checked too.
    let mut decoder = FrameDecoder::new();
    let mut builders = Builders::new(BATCH_ROWS);
    let mut arrow = arrow_json_decoder(&schema, BATCH_ROWS);
    for _ in 0..2 {
        assert_eq!(run_dss_lake(&frames, &mut decoder, &mut builders), FRAMES);
        assert_eq!(
            run_serde_value(&payloads, &mut decoder, &mut builders),
            FRAMES
        );
        assert_eq!(run_arrow_json(&ndjson, &mut arrow), FRAMES);
    }

    let mut group = c.benchmark_group("decode");
    group.sample_size(20);
    for (unit, throughput) in [
        ("bytes", Throughput::Bytes(bytes as u64)),
        ("events", Throughput::Elements(FRAMES as u64)),
    ] {
        group.throughput(throughput);
        group.bench_function(BenchmarkId::new("dss_lake", unit), |b| {
            b.iter(|| run_dss_lake(&frames, &mut decoder, &mut builders))
        });
        group.bench_function(BenchmarkId::new("serde_value", unit), |b| {
            b.iter(|| run_serde_value(&payloads, &mut decoder, &mut builders))
        });
        for batch_size in [1024, BATCH_ROWS] {
            let mut arrow = arrow_json_decoder(&schema, batch_size);
            group.bench_function(
                BenchmarkId::new(format!("arrow_json_{batch_size}"), unit),
                |b| b.iter(|| run_arrow_json(&ndjson, &mut arrow)),
            );
        }
    }
    group.finish();

    let profiling = |a: &String| a == "--test" || a == "--list" || a == "--profile-time";
    if !std::env::args().any(|a| profiling(&a)) {
        let mut arrow_1024 = arrow_json_decoder(&schema, 1024);
        let mut arrow_8192 = arrow_json_decoder(&schema, BATCH_ROWS);
        let (mut serde_decoder, mut serde_builders) =
            (FrameDecoder::new(), Builders::new(BATCH_ROWS));
        let mut contenders: [(&str, &mut dyn FnMut() -> usize); 4] = [
            ("dss_lake", &mut || {
                run_dss_lake(&frames, &mut decoder, &mut builders)
            }),
            ("serde_value", &mut || {
                run_serde_value(&payloads, &mut serde_decoder, &mut serde_builders)
            }),
            ("arrow_json_1024", &mut || {
                run_arrow_json(&ndjson, &mut arrow_1024)
            }),
            ("arrow_json_8192", &mut || {
                run_arrow_json(&ndjson, &mut arrow_8192)
            }),
        ];
        print_interleaved(&mut contenders, bytes);
    }
}

/// Rounds in the interleaved comparison.
const ROUNDS: usize = 31;

/// Criterion times the contenders one after another, minutes apart, so on a shared machine a
/// burst of load elsewhere lands on one of them and skews the ratios. Here every round runs
/// each contender once, back to back, and the table gives per-contender medians over the rounds
/// and the ratio of `dss_lake`'s speed to each.
fn print_interleaved(contenders: &mut [(&str, &mut dyn FnMut() -> usize)], bytes: usize) {
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(ROUNDS); contenders.len()];
    for _ in 0..ROUNDS {
        for ((_, run), samples) in contenders.iter_mut().zip(&mut times) {
            let start = std::time::Instant::now();
            assert_eq!(std::hint::black_box(run()), FRAMES);
            samples.push(start.elapsed().as_secs_f64());
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    println!("\ninterleaved, {ROUNDS} rounds of {FRAMES} frames ({bytes} payload bytes), medians:");
    println!("| decoder | ms | MB/s | events/s | dss_lake is |");
    println!("|---|---:|---:|---:|---:|");
    for ((name, _), median) in contenders.iter().zip(&medians) {
        println!(
            "| {name} | {:.1} | {:.0} | {:.0}k | {:.2}x faster |",
            median * 1e3,
            bytes as f64 / median / 1e6,
            FRAMES as f64 / median / 1e3,
            median / medians[0],
        );
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
