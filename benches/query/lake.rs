//! The benchmark lake: a deterministic synthetic fleet written as Parquet in the lake layout,
//! each table's files committed to its Delta log with the statistics the writer gives them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use dss_lake_query::datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, new_null_array,
};
use dss_lake_query::datafusion::arrow::buffer::OffsetBuffer;
use dss_lake_query::datafusion::arrow::datatypes::{DataType, Field};
use dss_lake_query::datafusion::parquet::arrow::ArrowWriter;
use dss_lake_schema::{Table, layout};

/// Devices in the generated fleet.
const DEVICES: usize = 5_100;
/// Days of history, starting 2026-11-24.
const DAYS: usize = 4;
/// Files per table and day: the batch writer commits several per day.
const FILES_PER_DAY: usize = 4;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 131_072;
const FIRST_DAY: i32 = 20_416 + 365; // 2026-11-24
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A model: its name, its share of devices in percent, and three numeric properties with their
/// reporting period in minutes.
type Model = (&'static str, usize, [(&'static str, i64); 3]);

/// The fleet's models.
const MODELS: [Model; 3] = [
    (
        "freezer-model",
        60,
        [("temp_c", 5), ("door_open", 15), ("compressor_w", 16)],
    ),
    (
        "thermostat-v2",
        30,
        [("room_temp", 5), ("set_point", 15), ("humidity", 16)],
    ),
    (
        "oven-x",
        10,
        [("oven_temp", 5), ("state", 15), ("power_w", 16)],
    ),
];

/// Writes the lake unless a finished one is there; returns the number of events.
pub(crate) fn ensure(lake: &Path) -> u64 {
    let done = lake.join("_bench-complete");
    // A lake from before the Delta logs is made again.
    if let Ok(text) = std::fs::read_to_string(&done)
        && layout::unconverted_refusal(lake).is_none()
    {
        return text.trim().parse().unwrap_or(0);
    }
    let _ = std::fs::remove_dir_all(lake);
    let start = Instant::now();
    let mut fleet = Generator::default();
    for day in 0..DAYS {
        for slice in 0..FILES_PER_DAY {
            fleet.datapoints(lake, day, slice);
        }
        fleet.connectivity(lake, day);
        fleet.acks(lake, day);
        fleet.locations(lake, day);
        fleet.registrations(lake, day);
    }
    let writer = dss_lake_schema::StreamName::parse("bench-generator").unwrap();
    for (table, files) in std::mem::take(&mut fleet.files) {
        dss_lake_lake::publish_files(lake, &writer, table, &files).unwrap();
    }
    std::fs::write(&done, fleet.seq.to_string()).unwrap();
    eprintln!(
        "generated {} events in {:.1}s",
        fleet.seq,
        start.elapsed().as_secs_f64()
    );
    fleet.seq as u64
}

fn dsn(device: usize) -> String {
    format!("AC000W{:09}", device + 1)
}

fn model_of(device: usize) -> usize {
    let bucket = (device * 37) % 100;
    if bucket < MODELS[0].1 {
        0
    } else if bucket < MODELS[0].1 + MODELS[1].1 {
        1
    } else {
        2
    }
}

/// A deterministic wobble in [0, 1) from a few integers.
fn noise(a: u64, b: u64) -> f64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[derive(Default)]
struct Generator {
    seq: i64,
    /// Every file written, by table, for the Delta commit at the end.
    files: BTreeMap<Table, Vec<PathBuf>>,
}

/// Columns of one file, filled row by row; missing columns are written as nulls.
#[derive(Default)]
struct Rows {
    columns: Vec<(&'static str, Col)>,
}

enum Col {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<i64>>),
}

impl Rows {
    fn col(&mut self, name: &'static str, make: fn() -> Col) -> &mut Col {
        if let Some(i) = self.columns.iter().position(|(n, _)| *n == name) {
            return &mut self.columns[i].1;
        }
        self.columns.push((name, make()));
        &mut self.columns.last_mut().unwrap().1
    }
    fn text(&mut self, name: &'static str, v: impl Into<Option<String>>) {
        if let Col::Text(c) = self.col(name, || Col::Text(Vec::new())) {
            c.push(v.into())
        }
    }
    fn int(&mut self, name: &'static str, v: Option<i64>) {
        if let Col::Int(c) = self.col(name, || Col::Int(Vec::new())) {
            c.push(v)
        }
    }
    fn float(&mut self, name: &'static str, v: Option<f64>) {
        if let Col::Float(c) = self.col(name, || Col::Float(Vec::new())) {
            c.push(v)
        }
    }
    fn boolean(&mut self, name: &'static str, v: Option<bool>) {
        if let Col::Bool(c) = self.col(name, || Col::Bool(Vec::new())) {
            c.push(v)
        }
    }
    fn time(&mut self, name: &'static str, v: Option<i64>) {
        if let Col::Time(c) = self.col(name, || Col::Time(Vec::new())) {
            c.push(v)
        }
    }

    /// The rows as a batch of `table`'s schema; `order` sorts them like the batch writer does.
    fn finish(self, table: Table, order: &[usize]) -> RecordBatch {
        let schema = table.schema();
        let n = order.len();
        let arrays: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(
                |field| match self.columns.iter().find(|(name, _)| name == field.name()) {
                    Some((_, col)) => take(col, order),
                    None if matches!(field.data_type(), DataType::List(_)) => empty_lists(field, n),
                    None => new_null_array(field.data_type(), n),
                },
            )
            .collect();
        RecordBatch::try_new(schema, arrays).unwrap()
    }
}

fn empty_lists(field: &Field, n: usize) -> ArrayRef {
    let DataType::List(item) = field.data_type() else {
        unreachable!("a list column")
    };
    let values = Arc::new(StringArray::from(Vec::<String>::new()));
    Arc::new(ListArray::new(
        Arc::clone(item),
        OffsetBuffer::new_zeroed(n),
        values,
        None,
    ))
}

fn take(col: &Col, order: &[usize]) -> ArrayRef {
    match col {
        Col::Text(v) => Arc::new(
            order
                .iter()
                .map(|&i| v[i].as_deref())
                .collect::<StringArray>(),
        ),
        Col::Int(v) => Arc::new(order.iter().map(|&i| v[i]).collect::<Int64Array>()),
        Col::Float(v) => Arc::new(order.iter().map(|&i| v[i]).collect::<Float64Array>()),
        Col::Bool(v) => Arc::new(order.iter().map(|&i| v[i]).collect::<BooleanArray>()),
        Col::Time(v) => {
            let a: TimestampMicrosecondArray = order.iter().map(|&i| v[i]).collect();
            Arc::new(a.with_timezone("UTC"))
        }
    }
}

fn write(lake: &Path, table: Table, day: usize, name: &str, batch: &RecordBatch) -> PathBuf {
    let dir = lake
        .join(table.dir_name())
        .join(layout::date_partition(FIRST_DAY + day as i32));
    std::fs::create_dir_all(&dir).unwrap();
    // The lake writer's own settings (page size, statistics, sorting metadata), with row groups
    // of a size a long-running daemon's files would have.
    let props = dss_lake_lake::writer_properties(table)
        .into_builder()
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let file = std::fs::File::create(dir.join(name)).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    dir.join(name)
}

impl Generator {
    fn next_seq(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    fn envelope(&mut self, rows: &mut Rows, stream: &str, device: usize, t: i64) -> i64 {
        let seq = self.next_seq();
        rows.text("stream", stream.to_owned());
        rows.int("seq", Some(seq));
        rows.time("received_at", Some(t + 300_000));
        rows.text("oem_id", "1a2b3c4d".to_owned());
        rows.text("oem_model", MODELS[model_of(device)].0.to_owned());
        rows.text("dsn", dsn(device));
        seq
    }

    /// One file of datapoints: every device's readings in one quarter of `day`.
    fn datapoints(&mut self, lake: &Path, day: usize, slice: usize) {
        let span = MICROS_PER_DAY / FILES_PER_DAY as i64;
        let start = day_start(day) + slice as i64 * span;
        let mut rows = Rows::default();
        let first = self.seq + 1;
        for device in 0..DEVICES {
            let (_, _, props) = MODELS[model_of(device)];
            let mut props: Vec<(&str, i64)> = props.to_vec();
            if slice == 0 {
                props.push(("fw_version", 0));
            }
            props.sort();
            for (name, minutes) in props {
                let readings = if minutes == 0 {
                    1
                } else {
                    span / (minutes * 60_000_000)
                };
                for k in 0..readings {
                    let wobble = noise(device as u64, (k as u64) << 8 | name.len() as u64);
                    let t = start + k * minutes * 60_000_000 + (wobble * 50e6) as i64;
                    let seq = self.envelope(&mut rows, "bench-dp", device, t);
                    let (base_type, json, num) = reading(name, wobble, day);
                    rows.text("property_name", name.to_owned());
                    rows.text("display_name", name.to_owned());
                    rows.text("base_type", base_type.to_owned());
                    rows.text("id", format!("{device:08x}-0000-4000-8000-{seq:012x}"));
                    rows.time("created_at", Some(t));
                    rows.time("updated_at", Some(t));
                    rows.text("user_uuid", format!("user-{device}"));
                    rows.boolean("echo", Some(false));
                    rows.boolean("closed", Some(false));
                    rows.text("value_json", json);
                    rows.float("value_num", num);
                    rows.text("metadata_json", "{}".to_owned());
                }
            }
        }
        self.commit(lake, Table::Datapoint, day, "bench-dp", first, rows);
    }

    /// Ten or eleven state changes per device and day, alternating from Online.
    fn connectivity(&mut self, lake: &Path, day: usize) {
        let mut rows = Rows::default();
        let first = self.seq + 1;
        for device in 0..DEVICES {
            for k in 0..(10 + device % 2) as i64 {
                let t = day_start(day)
                    + k * 7_800_000_000
                    + (noise(device as u64, k as u64) * 1e9) as i64;
                self.envelope(&mut rows, "bench-conn", device, t);
                rows.time("event_time", Some(t));
                rows.text("user_uuid", format!("user-{device}"));
                rows.text(
                    "status",
                    if k % 2 == 0 { "Online" } else { "Offline" }.to_owned(),
                );
            }
        }
        self.commit(lake, Table::Connectivity, day, "bench-conn", first, rows);
    }

    /// Ten acks per device and day on two properties; about 5% fail.
    fn acks(&mut self, lake: &Path, day: usize) {
        let mut rows = Rows::default();
        let first = self.seq + 1;
        for device in 0..DEVICES {
            for (p, name) in ["reboot", "set_point"].into_iter().enumerate() {
                for k in 0..5i64 {
                    let t = day_start(day) + (p as i64 * 5 + k) * 8_000_000_000;
                    let seq = self.envelope(&mut rows, "bench-ack", device, t);
                    let fails = noise(device as u64 + 7, seq as u64) < 0.05;
                    rows.text("property_name", name.to_owned());
                    rows.text("base_type", "integer".to_owned());
                    rows.text("id", format!("{device:08x}-0000-4000-9000-{seq:012x}"));
                    rows.time("created_at", Some(t));
                    rows.text("value_json", "1".to_owned());
                    rows.float("value_num", Some(1.0));
                    rows.int("ack_message", Some(1));
                    rows.int("ack_status", Some(if fails { 500 } else { 200 }));
                    rows.text("ack_id", format!("ack-{seq}"));
                    rows.time("acked_at", Some(t + 2_000_000));
                }
            }
        }
        self.commit(lake, Table::Datapointack, day, "bench-ack", first, rows);
    }

    fn locations(&mut self, lake: &Path, day: usize) {
        let mut rows = Rows::default();
        let first = self.seq + 1;
        for device in 0..DEVICES {
            for k in 0..2i64 {
                let t = day_start(day) + k * 43_200_000_000 + 60_000_000;
                self.envelope(&mut rows, "bench-loc", device, t);
                rows.text("body_dsn", dsn(device));
                rows.text("ip", format!("203.0.{}.{}", device / 250, device % 250));
                rows.float(
                    "lat",
                    Some(40.0 + 10.0 * noise(device as u64, 1) + k as f64 * 1e-4),
                );
                rows.float("long", Some(-5.0 + 20.0 * noise(device as u64, 2)));
                rows.text("provider", "ip-based".to_owned());
                rows.time("created_at", Some(t));
            }
        }
        self.commit(lake, Table::Location, day, "bench-loc", first, rows);
    }

    /// Every device registers on the first day; one in a hundred unregisters on each later day.
    fn registrations(&mut self, lake: &Path, day: usize) {
        let mut rows = Rows::default();
        let first = self.seq + 1;
        for device in 0..DEVICES {
            let registers = day == 0;
            if !registers && !(device + day).is_multiple_of(100) {
                continue;
            }
            let t = day_start(day) + 3_600_000_000;
            self.envelope(&mut rows, "bench-reg", device, t);
            rows.text("body_dsn", dsn(device));
            rows.boolean("registered", Some(registers));
            rows.text(
                "registration_type",
                if registers {
                    Some("AP-Mode".to_owned())
                } else {
                    None
                },
            );
            rows.time("registered_at", registers.then_some(t));
            rows.time("unregistered_at", (!registers).then_some(t));
        }
        self.commit(lake, Table::Registration, day, "bench-reg", first, rows);
    }

    fn commit(
        &mut self,
        lake: &Path,
        table: Table,
        day: usize,
        stream: &str,
        first: i64,
        rows: Rows,
    ) {
        let n = (self.seq - first + 1) as usize;
        let batch = rows.finish(table, &(0..n).collect::<Vec<_>>());
        let stream = dss_lake_schema::StreamName::parse(stream).unwrap();
        let name = layout::data_file_name(&stream, first as u64, self.seq as u64);
        let file = write(lake, table, day, &name, &batch);
        self.files.entry(table).or_default().push(file);
    }
}

fn day_start(day: usize) -> i64 {
    (FIRST_DAY as i64 + day as i64) * MICROS_PER_DAY
}

/// (base_type, value JSON text, numeric value) of one reading.
fn reading(property: &str, wobble: f64, day: usize) -> (&'static str, String, Option<f64>) {
    let decimal = |v: f64| {
        let text = format!("{v:.2}");
        let num = text.parse().ok();
        ("decimal", text, num)
    };
    let integer = |v: i64| ("integer", v.to_string(), Some(v as f64));
    match property {
        "temp_c" => decimal(-19.0 + 2.0 * wobble),
        "room_temp" => decimal(19.0 + 4.0 * wobble),
        "humidity" => decimal(35.0 + 20.0 * wobble),
        "oven_temp" => decimal(170.0 + 30.0 * wobble),
        "door_open" => (
            "boolean",
            u8::from(wobble < 0.1).to_string(),
            Some(f64::from(u8::from(wobble < 0.1))),
        ),
        "set_point" => integer(20 + (wobble * 3.0) as i64),
        "state" => integer((wobble * 3.0) as i64),
        "compressor_w" | "power_w" => integer(100 + (wobble * 900.0) as i64),
        _ => (
            "string",
            format!("\"1.{day}.{}\"", (wobble * 10.0) as u8),
            None,
        ),
    }
}
