//! The fixture lake: small, hand-chosen rows (`tests/fixture/<table>/<date>.ndjson`) written as
//! Parquet in the layout the batch writer uses, plus files every reader must ignore.
#![allow(dead_code, unreachable_pub)]

pub mod client;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, Int64Array, RecordBatch};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use dss_lake_schema::{StreamName, Table, columns};

/// The folder holding the fixture's NDJSON rows.
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture")
}

/// The repository root (for `queries/`, `scripts/`, `examples/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A DSN that appears only in files readers must skip.
pub const GHOST_DSN: &str = "AC000W000000666";

/// Writes the fixture lake into `lake`, each table's files committed to its Delta log, with an
/// in-flight file, a hidden file, a zero-byte in-flight file and a checkpoint folder that must
/// all stay invisible.
pub fn write_fixture_lake(lake: &Path) {
    for table in Table::ALL {
        let mut written = Vec::new();
        let dir = fixture_dir().join(table.dir_name());
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let date = file.file_stem().unwrap().to_str().unwrap().to_owned();
            let batch = read_ndjson(table, &file);
            let (first, last) = seq_range(table, &batch);
            let stream = stream_of(&batch);
            written.push(write_parquet(
                lake,
                table,
                &date,
                &format!("{stream}-{first:020}-{last:020}.parquet"),
                &batch,
            ));
        }
        publish(lake, table, &written);
    }
    // In flight and hidden: a ghost device that must never show up.
    let ghost = ghost_batch();
    write_parquet(
        lake,
        Table::Datapoint,
        "2026-11-24",
        "_inflight.dp-00000000000000000900-00000000000000000900.parquet",
        &ghost,
    );
    write_parquet(
        lake,
        Table::Datapoint,
        "2026-11-24",
        ".dp-00000000000000000901-00000000000000000901.parquet",
        &ghost,
    );
    let day = lake.join("datapoint/date=2026-11-24");
    std::fs::write(
        day.join("_inflight.dp-00000000000000000902-00000000000000000902.parquet"),
        b"",
    )
    .unwrap();
    std::fs::create_dir_all(lake.join("_checkpoints")).unwrap();
    std::fs::write(lake.join("_checkpoints/dp.json"), br#"{"seq":115}"#).unwrap();
}

/// One datapoint row for [`GHOST_DSN`], with `seq`.
pub fn ghost_batch() -> RecordBatch {
    let row = format!(
        r#"{{"stream":"dp","seq":900,"received_at":"2026-11-24T05:00:00Z","dsn":"{GHOST_DSN}","property_name":"temp_c","created_at":"2026-11-24T05:00:00Z","value_json":"1","value_num":1.0}}"#
    );
    read_ndjson_text(Table::Datapoint, &row)
}

/// Rows of `table` from NDJSON text, decoded against the table's contract schema.
pub fn read_ndjson_text(table: Table, text: &str) -> RecordBatch {
    let mut reader = ReaderBuilder::new(table.schema())
        .build(std::io::Cursor::new(text.as_bytes().to_vec()))
        .unwrap();
    reader.next().unwrap().unwrap()
}

fn read_ndjson(table: Table, path: &Path) -> RecordBatch {
    let mut reader = ReaderBuilder::new(table.schema())
        .with_batch_size(100_000)
        .build(BufReader::new(File::open(path).unwrap()))
        .unwrap();
    reader.next().unwrap().unwrap()
}

/// Commits files already in `table`'s date partitions to its Delta log, as one commit.
pub fn publish(lake: &Path, table: Table, files: &[PathBuf]) {
    if files.is_empty() {
        return;
    }
    let writer = StreamName::parse("fixture").unwrap();
    dss_lake_lake::publish_files(lake, &writer, table, files).unwrap();
}

/// [`write_parquet`], then commits the file to the table's Delta log: what a writer does.
pub fn commit_parquet(lake: &Path, table: Table, date: &str, name: &str, batch: &RecordBatch) {
    let file = write_parquet(lake, table, date, name, batch);
    publish(lake, table, &[file]);
}

/// Writes `batch` as `<lake>/<table>/date=<date>/<name>` the way the batch writer does (zstd,
/// statistics and page index on), and returns its path; no Delta log names it yet.
pub fn write_parquet(
    lake: &Path,
    table: Table,
    date: &str,
    name: &str,
    batch: &RecordBatch,
) -> PathBuf {
    let dir = lake.join(table.dir_name()).join(format!("date={date}"));
    std::fs::create_dir_all(&dir).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
        .build();
    let mut writer = ArrowWriter::try_new(
        File::create(dir.join(name)).unwrap(),
        table.schema(),
        Some(props),
    )
    .unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    dir.join(name)
}

fn seq_range(table: Table, batch: &RecordBatch) -> (i64, i64) {
    let column = match table {
        Table::Gaps => columns::RECEIVED_SEQ,
        Table::Quarantine => return (1, 1),
        _ => columns::SEQ,
    };
    let seqs = batch
        .column_by_name(column)
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let min = seqs.iter().flatten().min().unwrap();
    let max = seqs.iter().flatten().max().unwrap();
    (min, max)
}

fn stream_of(batch: &RecordBatch) -> String {
    let streams = batch.column_by_name(columns::STREAM).unwrap();
    let streams = streams
        .as_any()
        .downcast_ref::<datafusion::arrow::array::StringArray>()
        .unwrap();
    assert!(!streams.is_null(0));
    streams.value(0).to_owned()
}

/// One gaps row, for files placed outside the lake.
pub fn ghost_batch_gaps() -> RecordBatch {
    read_ndjson_text(
        Table::Gaps,
        r#"{"stream":"x","expected_seq":1,"received_seq":5,"detected_at":"2026-11-24T00:00:00Z"}"#,
    )
}

/// Runs `sql` and asserts it fails the way a query that opens a corrupt file does.
pub async fn assert_fails_reading_a_corrupt_file(engine: &dss_lake_query::Engine, sql: &str) {
    let err = engine.collect(sql).await.unwrap_err();
    assert!(
        matches!(
            err,
            dss_lake_query::QueryError::Internal(_) | dss_lake_query::QueryError::BadQuery(_)
        ),
        "{sql}: {err:?}"
    );
}
