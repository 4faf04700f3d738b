//! How the engine sees the lake: committed files only, pruning by date, new files without a
//! restart, an empty lake, and views.

use crate::common;

use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use dss_lake_query::{Engine, EngineConfig};
use dss_lake_schema::Table;

async fn fixture_engine(config: impl FnOnce(&mut EngineConfig)) -> (tempfile::TempDir, Engine) {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let mut cfg = EngineConfig::new(lake.path());
    config(&mut cfg);
    let engine = Engine::open(cfg).await.unwrap();
    (lake, engine)
}

fn single_i64(batches: &[RecordBatch]) -> i64 {
    let column = batches[0].column(0);
    assert_eq!(column.len(), 1);
    column.as_primitive::<Int64Type>().value(0)
}

async fn count(engine: &Engine, sql: &str) -> i64 {
    single_i64(&engine.collect(sql).await.unwrap())
}

#[tokio::test]
async fn an_empty_lake_answers_zero_rows_for_every_table_and_view() {
    let lake = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(lake.path().join("not-yet")))
        .await
        .unwrap();
    for table in Table::ALL.iter().map(|t| t.dir_name()).chain([
        "twin_latest",
        "device_status",
        "device_location",
    ]) {
        assert_eq!(
            count(&engine, &format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
}

#[tokio::test]
async fn in_flight_hidden_and_checkpoint_files_are_never_read() {
    let (_lake, engine) = fixture_engine(|_| {}).await;
    let ghost = format!(
        "SELECT count(*) FROM datapoint WHERE dsn = '{}'",
        common::GHOST_DSN
    );
    assert_eq!(count(&engine, &ghost).await, 0);
    assert_eq!(count(&engine, "SELECT count(*) FROM datapoint").await, 15);
    assert!(engine.collect("SELECT * FROM _checkpoints").await.is_err());
}

#[tokio::test]
async fn date_filters_skip_other_partitions_entirely() {
    let (lake, engine) = fixture_engine(|_| {}).await;
    // A committed file of another day, then corrupted: any query that opened it would fail.
    let name = "dp-00000000000000000001-00000000000000000002.parquet";
    common::commit_parquet(
        lake.path(),
        Table::Datapoint,
        "2026-11-23",
        name,
        &common::ghost_batch(),
    );
    std::fs::write(
        lake.path().join("datapoint/date=2026-11-23").join(name),
        b"not parquet",
    )
    .unwrap();
    let sql = "SELECT count(*) FROM datapoint WHERE date = '2026-11-24'";
    assert_eq!(count(&engine, sql).await, 13);
    let range = "SELECT count(*) FROM datapoint WHERE date >= DATE '2026-11-24'";
    assert_eq!(count(&engine, range).await, 15);
    // (A bare count(*) is answered from the log's row counts, so it would not open the file.)
    common::assert_fails_reading_a_corrupt_file(
        &engine,
        "SELECT count(*) FROM datapoint WHERE dsn <> ''",
    )
    .await;
}

#[tokio::test]
async fn files_committed_by_a_running_writer_appear_without_a_restart_and_orphans_never() {
    let (lake, engine) = fixture_engine(|c| c.snapshot_ttl = Duration::from_millis(100)).await;
    let sql = "SELECT count(*) FROM gaps";
    assert_eq!(count(&engine, sql).await, 1);
    let row = r#"{"stream":"dp","expected_seq":120,"received_seq":125,"detected_at":"2026-11-25T01:00:00Z"}"#;
    let batch = common::read_ndjson_text(Table::Gaps, row);
    let name = "dp-00000000000000000125-00000000000000000125.parquet";
    // Written the way the batch writer commits: in flight under a hidden name, then renamed.
    common::write_parquet(
        lake.path(),
        Table::Gaps,
        "2026-11-25",
        &format!("_inflight.{name}"),
        &batch,
    );
    assert_eq!(
        count(&engine, sql).await,
        1,
        "an in-flight file is not data yet"
    );
    let day = lake.path().join("gaps/date=2026-11-25");
    std::fs::rename(day.join(format!("_inflight.{name}")), day.join(name)).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        count(&engine, sql).await,
        1,
        "a file in its partition that no Delta commit names (an orphan of a crash) is not data"
    );
    common::publish(lake.path(), Table::Gaps, &[day.join(name)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&engine, sql).await != 2 {
        assert!(Instant::now() < deadline, "the new file never showed up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn schemas_come_from_the_contract_plus_a_date_partition() {
    let (_lake, engine) = fixture_engine(|_| {}).await;
    let datapoint = engine
        .tables()
        .iter()
        .find(|t| t.name == "datapoint")
        .unwrap();
    let names: Vec<&str> = datapoint.columns.iter().map(|c| c.name.as_str()).collect();
    let contract = Table::Datapoint.schema();
    assert_eq!(names.len(), contract.fields().len() + 1);
    assert_eq!(names.last(), Some(&"date"));
    assert_eq!(datapoint.columns.last().unwrap().data_type, "Date32");
    let views: Vec<&str> = engine
        .tables()
        .iter()
        .filter(|t| t.kind == "view")
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(views, ["twin_latest", "device_status", "device_location"]);
}

#[tokio::test]
async fn numeric_values_aggregate_without_casts_and_lists_are_queryable() {
    let (_lake, engine) = fixture_engine(|_| {}).await;
    let batches = engine
        .collect("SELECT count(*) FROM datapoint WHERE array_has(resource_tags, 'kitchen') AND value_num < 0")
        .await
        .unwrap();
    assert_eq!(single_i64(&batches), 6);
}
