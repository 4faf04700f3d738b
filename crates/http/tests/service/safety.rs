//! What the endpoint refuses and survives: writes, definitions and reads outside the lake; a
//! query that would run for minutes; a query that would exhaust memory; 100 clients at once.

use crate::common;

use std::time::Duration;

use common::client::{encode, request, start};
use dss_lake_test_support::http;
use serde_json::Value;

fn kind(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["kind"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn writes_definitions_and_reads_outside_the_lake_are_refused() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.parquet");
    common::write_parquet(
        outside.path(),
        dss_lake_schema::Table::Gaps,
        "2026-11-24",
        "x.parquet",
        &common::ghost_batch_gaps(),
    );
    std::fs::copy(
        outside.path().join("gaps/date=2026-11-24/x.parquet"),
        &secret,
    )
    .unwrap();
    let server = start(lake.path(), |_| {}).await;
    let statements = [
        "INSERT INTO gaps VALUES ('s', 1, 2, now(), DATE '2026-11-24')".to_owned(),
        "DELETE FROM gaps".to_owned(),
        "UPDATE gaps SET expected_seq = 0".to_owned(),
        "CREATE TABLE t AS SELECT 1".to_owned(),
        "CREATE VIEW v AS SELECT 1".to_owned(),
        "DROP TABLE gaps".to_owned(),
        "DROP VIEW twin_latest".to_owned(),
        format!(
            "CREATE EXTERNAL TABLE s STORED AS PARQUET LOCATION '{}'",
            secret.display()
        ),
        format!(
            "COPY (SELECT 1) TO '{}/out.parquet'",
            outside.path().display()
        ),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "RESET datafusion.execution.batch_size".to_owned(),
        "BEGIN TRANSACTION".to_owned(),
        format!("SELECT * FROM '{}'", secret.display()),
        format!("SELECT * FROM 'file://{}'", secret.display()),
        format!("SELECT * FROM read_parquet('{}')", secret.display()),
        format!("SELECT * FROM parquet_scan('{}')", secret.display()),
        "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1".to_owned(),
        "SELECT 1; DROP TABLE gaps".to_owned(),
    ];
    for sql in &statements {
        let (status, body) = request(server.addr, "POST", "/api/v1/sql", sql).await;
        assert!((400..500).contains(&status), "{sql}: {status} {body}");
        assert!(
            matches!(kind(&body).as_str(), "refused" | "bad_query"),
            "{sql}: {body}"
        );
    }
    assert!(!outside.path().join("out.parquet").exists());
    // The tables are still there and unchanged.
    let (status, body) = request(
        server.addr,
        "GET",
        &format!("/api/v1/sql?q={}", encode("SELECT count(*) AS n FROM gaps")),
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"[{"n":1}]"#));
}

#[tokio::test]
async fn a_query_that_would_run_for_minutes_is_cut_at_the_timeout() {
    let lake = tempfile::tempdir().unwrap();
    let server = start(lake.path(), |c| {
        c.engine.query_timeout = Duration::from_millis(500)
    })
    .await;
    let sql = "SELECT count(*) FROM generate_series(1, 1000000000000) WHERE value % 7 = 3";
    let (status, body) = request(server.addr, "POST", "/api/v1/sql", sql).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(kind(&body), "timeout");
    let (status, _) = request(server.addr, "POST", "/api/v1/sql", "SELECT 1").await;
    assert_eq!(status, 200);
    let (_, metrics) = request(server.addr, "GET", "/metrics", "").await;
    assert!(
        metrics.contains("dss_lake_queries_total{outcome=\"timeout\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_query_that_would_exhaust_memory_fails_and_the_server_keeps_serving() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let server = start(lake.path(), |c| {
        c.engine.memory_limit = dss_lake_units::ByteSize(32 << 20)
    })
    .await;
    // Sorting 50 million rows needs ~400 MB; a query may hold 32 MiB and may not spill.
    let sql = "SELECT value FROM generate_series(1, 50000000) ORDER BY value DESC LIMIT 10 OFFSET 40000000";
    let (status, body) = request(server.addr, "POST", "/api/v1/sql", sql).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(kind(&body), "resources_exhausted");
    let group =
        "SELECT value % 20000000 AS k, count(*) FROM generate_series(1, 40000000) GROUP BY k";
    let (status, body) = request(server.addr, "POST", "/api/v1/sql", group).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = request(
        server.addr,
        "POST",
        "/api/v1/sql",
        "SELECT count(*) AS n FROM datapoint",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"[{"n":15}]"#));
}

#[tokio::test]
async fn a_hundred_concurrent_clients_are_all_answered() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let server = start(lake.path(), |c| c.engine.max_concurrent_queries = 4).await;
    let queries = std::fs::read_dir(common::repo_root().join("queries")).unwrap();
    let mut sqls: Vec<String> = queries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    sqls.sort();
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..100 {
        let sql = sqls[i % sqls.len()].clone();
        let addr = server.addr;
        clients.spawn(async move { request(addr, "POST", "/api/v1/sql?format=csv", &sql).await });
    }
    let mut ok = 0;
    while let Some(result) = clients.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, 200, "{body}");
        ok += 1;
    }
    assert_eq!(ok, 100);
    let (status, _) = request(server.addr, "GET", "/health", "").await;
    assert_eq!(status, 200);
}

/// The `/metrics` of a running server, scraped over a socket: every family name, its type and
/// its label names as they were before the exposition moved to prometheus-client (the same
/// names dashboards and alerts are written against), and one sample of each kind.
#[tokio::test]
async fn metrics_scraped_over_http_keep_every_name_type_and_label() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let server = start(lake.path(), |_| {}).await;
    let (status, _) = request(
        server.addr,
        "GET",
        &format!("/api/v1/sql?q={}", encode("SELECT 1")),
        "",
    )
    .await;
    assert_eq!(status, 200);
    let (status, text) = request(server.addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200);

    let types: Vec<(String, String)> = http::family_types(&text).into_iter().collect();
    let expected_types = [
        ("dss_lake_queries_in_flight", "gauge"),
        ("dss_lake_queries_total", "counter"),
        ("dss_lake_queries_waiting", "gauge"),
        ("dss_lake_query_duration_seconds", "histogram"),
        ("dss_lake_result_bytes_total", "counter"),
        ("dss_lake_result_rows_total", "counter"),
        ("dss_lake_unauthorized_total", "counter"),
    ];
    let expected_types: Vec<(String, String)> = expected_types
        .iter()
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    assert_eq!(types, expected_types, "{text}");
    http::assert_samples(
        &text,
        &[
            ("dss_lake_queries_total", &["outcome"]),
            ("dss_lake_queries_in_flight", &[]),
            ("dss_lake_queries_waiting", &[]),
            ("dss_lake_result_rows_total", &[]),
            ("dss_lake_result_bytes_total", &[]),
            ("dss_lake_unauthorized_total", &[]),
            ("dss_lake_query_duration_seconds_bucket", &["le"]),
            ("dss_lake_query_duration_seconds_sum", &[]),
            ("dss_lake_query_duration_seconds_count", &[]),
        ],
    );
    assert!(
        text.contains("dss_lake_queries_total{outcome=\"ok\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("dss_lake_queries_total{outcome=\"limit_exceeded\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("dss_lake_query_duration_seconds_bucket{le=\"+Inf\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("dss_lake_query_duration_seconds_count 1\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP dss_lake_queries_total Queries finished, by outcome.\n"),
        "{text}"
    );
}
