//! The engine over Delta tables: statistics and skipping from the log, time travel with
//! `as_of`, and the refusal of a lake written before the Delta lake.

use crate::common;

use std::time::{Duration, SystemTime};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use dss_lake_query::{Engine, EngineConfig, QueryError};
use dss_lake_schema::Table;

async fn count(engine: &Engine, sql: &str) -> i64 {
    let batches = engine.collect(sql).await.unwrap();
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

async fn engine_over(lake: &std::path::Path) -> Engine {
    let mut config = EngineConfig::new(lake);
    config.snapshot_ttl = Duration::ZERO;
    Engine::open(config).await.unwrap()
}

/// A committed datapoint file of one reading of `dsn` on 2026-11-26, then its bytes destroyed:
/// only a query that opens the file can fail on it.
fn commit_then_corrupt(lake: &std::path::Path, dsn: &str) {
    let row = format!(
        r#"{{"stream":"dp","seq":950,"received_at":"2026-11-26T05:00:00Z","dsn":"{dsn}","property_name":"temp_c","created_at":"2026-11-26T05:00:00Z","value_json":"2","value_num":2.0}}"#
    );
    let batch = common::read_ndjson_text(Table::Datapoint, &row);
    let name = "dp-00000000000000000950-00000000000000000950.parquet";
    common::commit_parquet(lake, Table::Datapoint, "2026-11-26", name, &batch);
    let file = lake.join("datapoint/date=2026-11-26").join(name);
    let size = std::fs::metadata(&file).unwrap().len() as usize;
    std::fs::write(&file, vec![b'x'; size]).unwrap();
}

#[tokio::test]
async fn files_are_skipped_and_rows_counted_from_the_log_alone() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    commit_then_corrupt(lake.path(), "AC000W000000999");
    let engine = engine_over(lake.path()).await;
    // The log's row counts answer a bare count: 15 fixture rows and the corrupt file's one.
    assert_eq!(count(&engine, "SELECT count(*) FROM datapoint").await, 16);
    // The corrupt file's dsn range (from its `add` statistics) excludes these devices, so the
    // scan never opens it.
    let fixture_device = "SELECT count(*) FROM datapoint WHERE dsn = 'AC000W000000001'";
    assert!(count(&engine, fixture_device).await > 0);
    let outside = "SELECT count(*) FROM datapoint WHERE dsn > 'AC000W000000999'";
    assert_eq!(count(&engine, outside).await, 0);
    // So do its timestamp bounds (kept to the millisecond, rounded outwards), and those of
    // its other columns, in any combination with the partition column.
    for sql in [
        "SELECT count(*) FROM datapoint WHERE received_at < TIMESTAMP '2026-11-26 05:00:00'",
        "SELECT count(*) FROM datapoint WHERE received_at > TIMESTAMP '2026-11-26 05:00:00.001'",
        "SELECT count(*) FROM datapoint WHERE seq < 900 OR value_num > 2.5",
        "SELECT count(*) FROM datapoint WHERE date >= DATE '2026-11-25' AND property_name <> 'temp_c'",
    ] {
        count(&engine, sql).await;
    }
    // A query the statistics cannot answer opens it, and fails.
    common::assert_fails_reading_a_corrupt_file(
        &engine,
        "SELECT count(*) FROM datapoint WHERE dsn = 'AC000W000000999'",
    )
    .await;
}

#[tokio::test]
async fn as_of_reads_a_table_at_a_version_or_a_time() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let engine = engine_over(lake.path()).await;
    // Version 0 creates the table; the fixture's files are version 1.
    assert_eq!(count(&engine, "SELECT count(*) FROM gaps").await, 1);
    let before_second = SystemTime::now();
    std::thread::sleep(Duration::from_millis(20));
    let row = r#"{"stream":"dp","expected_seq":120,"received_seq":125,"detected_at":"2026-11-25T01:00:00Z"}"#;
    let name = "dp-00000000000000000125-00000000000000000125.parquet";
    let batch = common::read_ndjson_text(Table::Gaps, row);
    common::commit_parquet(lake.path(), Table::Gaps, "2026-11-25", name, &batch);
    assert_eq!(count(&engine, "SELECT count(*) FROM gaps").await, 2);

    for (sql, expected) in [
        ("SELECT count(*) FROM as_of('gaps', 0)", 0),
        ("SELECT count(*) FROM as_of('gaps', 1)", 1),
        ("SELECT count(*) FROM as_of('gaps', 2)", 2),
        // Filters, joins and the partition column work on a pinned table as on the live one.
        (
            "SELECT count(*) FROM as_of('gaps', 2) WHERE date = DATE '2026-11-25'",
            1,
        ),
        (
            "SELECT count(*) FROM as_of('gaps', 1) old JOIN gaps new USING (received_seq)",
            1,
        ),
    ] {
        assert_eq!(count(&engine, sql).await, expected, "{sql}");
    }
    let then = humantime::format_rfc3339_millis(before_second).to_string();
    for sql in [
        format!("SELECT count(*) FROM as_of('gaps', '{then}')"),
        format!("SELECT count(*) FROM as_of('gaps', TIMESTAMP '{then}')"),
    ] {
        assert_eq!(count(&engine, &sql).await, 1, "{sql}");
    }
    let now = "SELECT count(*) FROM as_of('gaps', now())";
    assert_eq!(count(&engine, now).await, 2);

    for (sql, says) in [
        ("SELECT * FROM as_of('gaps', 3)", "no version 3"),
        ("SELECT * FROM as_of('gaps', -1)", "0 or more"),
        ("SELECT * FROM as_of('secrets', 1)", "lake table"),
        ("SELECT * FROM as_of('gaps')", "as_of takes"),
        (
            "SELECT * FROM as_of('gaps', TIMESTAMP '2000-01-01T00:00:00Z')",
            "no version as old",
        ),
        ("SELECT * FROM as_of('gaps', 'soon')", "not a time"),
    ] {
        match engine.collect(sql).await {
            Err(QueryError::BadQuery(message)) => {
                assert!(message.contains(says), "{sql}: {message}")
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_lake_from_before_the_delta_lake_is_refused_with_the_command_that_converts_it() {
    let lake = tempfile::tempdir().unwrap();
    common::write_parquet(
        lake.path(),
        Table::Gaps,
        "2026-11-24",
        "dp-00000000000000000001-00000000000000000001.parquet",
        &common::ghost_batch_gaps(),
    );
    match Engine::open(EngineConfig::new(lake.path())).await {
        Err(QueryError::Unconverted(message)) => {
            assert!(message.contains("gaps"), "{message}");
            assert!(
                message.contains("dss-lake lake convert --lake"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}
