//! Statements built to crash, wedge or exhaust the server, sent one after another to one real
//! server: each must be answered (200, a 4xx, or the documented 504 of the query timeout) within
//! the client's deadline, and the server must answer `/health` and a plain query after each.
//!
//! Before the engine's limits (`limits.rs`) and the sized query-thread stacks, the first long
//! chain aborted the whole process with a stack overflow, so this binary failed outright.

use crate::common;

use std::time::Duration;

use common::client::{request, start};
use dss_lake_test_support::http;
use serde_json::Value;

/// How long the client waits for any one answer. The server's own query timeout is shorter, so
/// only a wedged server misses it.
const CLIENT_DEADLINE: Duration = Duration::from_secs(60);

/// What a statement must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 200: the statement is within every limit and runs.
    Answer,
    /// 400 `limit_exceeded`, naming this limit.
    Limit(&'static str),
    /// Some 4xx with a JSON error (the parser's own limits, bad SQL, a too-large body).
    ClientError,
    /// Runaway work: stopped by the query timeout (504) or the memory limit (422).
    Stopped,
}

fn repeat_joined(n: usize, item: impl Fn(usize) -> String, sep: &str) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(sep)
}

fn nested(n: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

fn matrix() -> Vec<(&'static str, String, Expect)> {
    use Expect::*;
    let or_chain = |n| repeat_joined(n, |i| format!("seq = {i}"), " OR ");
    let and_chain = |n| repeat_joined(n, |i| format!("seq <> {i}"), " AND ");
    vec![
        (
            "20,000-term OR chain",
            format!("SELECT count(*) FROM datapoint WHERE {}", or_chain(20_000)),
            Limit("max_expr_depth"),
        ),
        (
            "20,000-term AND chain",
            format!("SELECT count(*) FROM datapoint WHERE {}", and_chain(20_000)),
            Limit("max_expr_depth"),
        ),
        (
            "400-term OR chain, within the limit",
            format!("SELECT count(*) FROM datapoint WHERE {}", or_chain(400)),
            Answer,
        ),
        (
            "20,000 additions",
            format!("SELECT {}", repeat_joined(20_000, |_| "1".into(), " + ")),
            Limit("max_expr_depth"),
        ),
        (
            "20,000 string concatenations",
            format!("SELECT {}", repeat_joined(20_000, |_| "'a'".into(), " || ")),
            Limit("max_expr_depth"),
        ),
        (
            "5,000 chained casts",
            format!("SELECT 1{}", "::bigint".repeat(5_000)),
            Limit("max_expr_depth"),
        ),
        (
            "5,000 chained IS NOT NULL",
            format!("SELECT true{}", " IS NOT NULL".repeat(5_000)),
            Limit("max_expr_depth"),
        ),
        (
            "50,000-item IN list",
            format!(
                "SELECT count(*) FROM datapoint WHERE seq IN ({})",
                repeat_joined(50_000, |i| i.to_string(), ",")
            ),
            Answer,
        ),
        (
            "150,000-item IN list",
            format!(
                "SELECT count(*) FROM datapoint WHERE seq IN ({})",
                repeat_joined(150_000, |i| (i % 10).to_string(), ",")
            ),
            Limit("max_expr_width"),
        ),
        (
            "1,000 UNION ALL branches",
            repeat_joined(1_000, |i| format!("SELECT {i} AS n"), " UNION ALL "),
            Limit("max_set_operations"),
        ),
        (
            "200 UNION ALL branches, within the limit",
            format!(
                "SELECT count(*) FROM ({})",
                repeat_joined(200, |i| format!("SELECT {i} AS n"), " UNION ALL ")
            ),
            Answer,
        ),
        (
            "1,000 INTERSECT/EXCEPT",
            repeat_joined(
                1_000,
                |i| {
                    format!(
                        "SELECT {i} {}",
                        if i % 2 == 0 { "INTERSECT" } else { "EXCEPT" }
                    )
                },
                " ",
            ) + " SELECT 0",
            Limit("max_set_operations"),
        ),
        (
            "5,000 nested parentheses",
            format!("SELECT {}", nested(5_000, "(", "1", ")")),
            Limit("max_expr_depth"),
        ),
        (
            "200 nested parentheses",
            format!("SELECT {}", nested(200, "(", "1", ")")),
            ClientError,
        ),
        (
            "30 nested parentheses, within the parser's limit",
            format!("SELECT {}", nested(30, "(", "1", ")")),
            Answer,
        ),
        (
            "5,000 nested function calls",
            format!("SELECT {}", nested(5_000, "abs(", "1", ")")),
            Limit("max_expr_depth"),
        ),
        (
            "300 nested function calls",
            format!("SELECT {}", nested(300, "abs(", "1", ")")),
            ClientError,
        ),
        (
            "2,000 nested CASE",
            format!(
                "SELECT {}",
                nested(2_000, "CASE WHEN true THEN ", "1", " END")
            ),
            Limit("max_expr_depth"),
        ),
        (
            "2,000 nested scalar subqueries",
            format!("SELECT {}", nested(2_000, "(SELECT ", "1", ")")),
            Limit("max_expr_depth"),
        ),
        (
            "100 nested derived tables",
            format!(
                "SELECT * FROM {} t",
                nested(100, "(SELECT * FROM ", "datapoint", ") t")
            ),
            ClientError,
        ),
        (
            "10,000 NOTs",
            format!("SELECT {}true", "NOT ".repeat(10_000)),
            Limit("max_expr_depth"),
        ),
        (
            "10,000 unary minuses",
            format!("SELECT {}1", "- ".repeat(10_000)),
            Limit("max_expr_depth"),
        ),
        (
            "3,000 nested array literals",
            format!("SELECT {}", nested(3_000, "[", "1", "]")),
            Limit("max_expr_depth"),
        ),
        (
            "300-table comma join",
            format!(
                "SELECT count(*) FROM {}",
                repeat_joined(300, |i| format!("gaps g{i}"), ", ")
            ),
            Limit("max_relations"),
        ),
        (
            "300 chained CTEs",
            format!(
                "WITH t0 AS (SELECT 1 AS x), {} SELECT x FROM t299",
                repeat_joined(
                    299,
                    |i| format!("t{} AS (SELECT x + 1 AS x FROM t{i})", i + 1),
                    ", "
                )
            ),
            Limit("max_relations"),
        ),
        (
            "500-column select list",
            format!(
                "SELECT {}",
                repeat_joined(500, |i| format!("{i} AS c{i}"), ", ")
            ),
            Answer,
        ),
        (
            "900 KB string literal",
            format!("SELECT length('{}') AS n", "x".repeat(900_000)),
            Answer,
        ),
        (
            "2 MB string literal (past the request body limit)",
            format!("SELECT length('{}') AS n", "x".repeat(2_000_000)),
            ClientError,
        ),
        (
            "a 400-digit number",
            format!("SELECT {}", "9".repeat(400)),
            Answer,
        ),
        (
            "an unterminated string",
            "SELECT 'never closed".to_owned(),
            ClientError,
        ),
        (
            "NUL bytes and control characters",
            "SELECT \u{0}\u{1}\u{7f} FROM datapoint".to_owned(),
            ClientError,
        ),
        (
            "a billion-row series",
            "SELECT count(*) FROM generate_series(1, 1000000000000)".to_owned(),
            Stopped,
        ),
        (
            "a cross join of two million-row series",
            "SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b"
                .to_owned(),
            Stopped,
        ),
        (
            "a self cross join sorted",
            "SELECT a.seq FROM datapoint a, datapoint b, datapoint c, datapoint d, datapoint e \
             ORDER BY a.seq LIMIT 1"
                .to_owned(),
            Answer,
        ),
        (
            "a three-gigabyte string",
            "SELECT length(repeat('x', 3000000000)) AS n".to_owned(),
            ClientError,
        ),
        (
            "a ten-billion-element array",
            "SELECT cardinality(range(1, 10000000000)) AS n".to_owned(),
            ClientError,
        ),
        (
            "a repeat count past every string size",
            "SELECT repeat('xy', 9223372036854775807)".to_owned(),
            ClientError,
        ),
    ]
}

fn body_json(name: &str, status: u16, body: &str) -> Value {
    serde_json::from_str(body)
        .unwrap_or_else(|_| panic!("{name}: {status} with a body that is not JSON: {body:.300}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pathological_statement_is_answered_and_the_server_stays_healthy() {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let server = start(lake.path(), |c| {
        c.engine.query_timeout = Duration::from_secs(3);
        c.engine.memory_limit = dss_lake_units::ByteSize(256 << 20);
    })
    .await;
    let mut limits_seen = std::collections::BTreeSet::new();
    for (name, sql, expect) in matrix() {
        // By hand: some of these bodies are refused before they are read.
        let answer = tokio::time::timeout(
            CLIENT_DEADLINE,
            http::send_by_hand(server.addr, "POST", "/api/v1/sql", &sql),
        )
        .await;
        let answer = answer.unwrap_or_else(|_| panic!("{name}: no answer in time"));
        let (status, body) = (answer.status, answer.body);
        match expect {
            Expect::Answer => assert_eq!(status, 200, "{name}: {body:.300}"),
            Expect::Limit(limit) => {
                let v = body_json(name, status, &body);
                assert_eq!(
                    (status, v["kind"].as_str()),
                    (400, Some("limit_exceeded")),
                    "{name}: {v}"
                );
                assert_eq!(v["limit"], limit, "{name}: {v}");
                assert!(v["error"].as_str().unwrap().contains(limit), "{name}: {v}");
                limits_seen.insert(limit);
            }
            Expect::ClientError => {
                assert!((400..500).contains(&status), "{name}: {status} {body:.300}");
                body_json(name, status, &body);
            }
            Expect::Stopped => {
                let v = body_json(name, status, &body);
                assert!(
                    matches!(
                        (status, v["kind"].as_str()),
                        (504, Some("timeout")) | (422, Some("resources_exhausted"))
                    ),
                    "{name}: {status} {v}"
                );
            }
        }
        let (status, health) = request(server.addr, "GET", "/health", "").await;
        assert_eq!(status, 200, "after {name}: {health}");
        let (status, body) = request(
            server.addr,
            "POST",
            "/api/v1/sql",
            "SELECT count(*) AS n FROM gaps",
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (200, r#"[{"n":1}]"#),
            "after {name}"
        );
    }
    assert_eq!(
        limits_seen.len(),
        4,
        "every shape limit was exercised: {limits_seen:?}"
    );
    // The same chain in a URL: past hyper's header buffer it is refused before any handler.
    let chain = repeat_joined(20_000, |i| format!("seq = {i}"), " OR ");
    let url = format!("/api/v1/sql?q={}", common::client::encode(&chain));
    let status = http::send_by_hand(server.addr, "GET", &url, "")
        .await
        .status;
    assert!((400..500).contains(&status), "a 1 MB URL: {status}");
    let short = repeat_joined(2_000, |i| format!("seq = {i}"), " OR ");
    let url = format!(
        "/api/v1/sql?q={}",
        common::client::encode(&format!("SELECT 1 WHERE {short}"))
    );
    let (status, body) = request(server.addr, "GET", &url, "").await;
    assert_eq!(status, 400, "{body:.300}");
    assert_eq!(
        body_json("GET chain", status, &body)["limit"],
        "max_expr_depth"
    );
    let (status, _) = request(server.addr, "GET", "/health", "").await;
    assert_eq!(status, 200);
    let (_, metrics) = request(server.addr, "GET", "/metrics", "").await;
    assert!(
        !metrics.contains("dss_lake_queries_total{outcome=\"limit_exceeded\"} 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_threads_hold_statements_at_four_times_the_default_limits() {
    // The limits are the fence; the stacks behind it must hold far more, so that a limit an
    // operator raises degrades into slower planning, not a crash.
    const TIMES: usize = 4;
    let lake = tempfile::tempdir().unwrap();
    let defaults = dss_lake_query::QueryLimits::default();
    let server = start(lake.path(), |c| {
        let limits = &mut c.engine.limits;
        limits.max_expr_depth = defaults.max_expr_depth * TIMES;
        limits.max_set_operations = defaults.max_set_operations * TIMES;
        limits.max_relations = defaults.max_relations * TIMES;
    })
    .await;
    // Two levels per term: `seq = i` and the `OR` after it.
    let terms = defaults.max_expr_depth * TIMES / 2 - 10;
    let chain = repeat_joined(terms, |i| format!("seq = {i}"), " OR ");
    let sql =
        format!("SELECT count(*) AS n FROM generate_series(1, 100000) AS t(seq) WHERE {chain}");
    let (status, body) = request(server.addr, "POST", "/api/v1/sql", &sql).await;
    assert_eq!((status, body), (200, format!(r#"[{{"n":{}}}]"#, terms - 1)));
    let branches = defaults.max_set_operations * TIMES;
    let unions = repeat_joined(branches, |i| format!("SELECT {i} AS n"), " UNION ALL ");
    let sql = format!("SELECT count(*) AS n FROM ({unions})");
    let (status, body) = request(server.addr, "POST", "/api/v1/sql", &sql).await;
    assert_eq!((status, body), (200, format!(r#"[{{"n":{branches}}}]"#)));
    let tables = defaults.max_relations * TIMES - 10;
    let from = repeat_joined(tables, |i| format!("(SELECT 1 AS x{i}) t{i}"), ", ");
    let sql = format!("SELECT count(*) AS n FROM {from}");
    let (status, body) = request(server.addr, "POST", "/api/v1/sql", &sql).await;
    assert_eq!((status, body), (200, r#"[{"n":1}]"#.to_owned()));
}

/// A lake whose `gaps` table has `rows` rows, for joins that multiply them.
fn lake_with_gaps(rows: usize) -> tempfile::TempDir {
    let lake = tempfile::tempdir().unwrap();
    let lines = repeat_joined(
        rows,
        |i| {
            format!(
                r#"{{"stream":"s","expected_seq":{i},"received_seq":{},"detected_at":"2026-11-24T00:00:00Z"}}"#,
                i + 2
            )
        },
        "\n",
    );
    let batch = datafusion::arrow::json::ReaderBuilder::new(dss_lake_schema::Table::Gaps.schema())
        .with_batch_size(rows)
        .build(std::io::Cursor::new(lines.into_bytes()))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(batch.num_rows(), rows);
    common::commit_parquet(
        lake.path(),
        dss_lake_schema::Table::Gaps,
        "2026-11-24",
        "s-1-2.parquet",
        &batch,
    );
    lake
}

/// 3,000^4 combinations and a filter that is never true: hours of work that returns nothing.
const RUNAWAY_JOIN: &str = "SELECT count(*) FROM gaps a, gaps b, gaps c, gaps d \
     WHERE a.expected_seq + b.expected_seq + c.expected_seq + d.expected_seq = -1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runaway_join_stops_at_the_timeout_and_when_its_client_goes_away() {
    let lake = lake_with_gaps(3_000);
    let server = start(lake.path(), |c| {
        c.engine.query_timeout = Duration::from_secs(1)
    })
    .await;
    let answer = tokio::time::timeout(
        CLIENT_DEADLINE,
        request(server.addr, "POST", "/api/v1/sql", RUNAWAY_JOIN),
    )
    .await;
    let (status, body) = answer.expect("the timeout stops the join long before the deadline");
    assert_eq!(status, 504, "{body}");
    assert_eq!(body_json("runaway join", status, &body)["kind"], "timeout");

    // Without a timeout to stop it, a client that hangs up must stop it.
    let server = start(lake.path(), |c| {
        c.engine.query_timeout = Duration::from_secs(3600)
    })
    .await;
    let hung_up = tokio::time::timeout(
        Duration::from_millis(500),
        request(server.addr, "POST", "/api/v1/sql", RUNAWAY_JOIN),
    )
    .await;
    assert!(
        hung_up.is_err(),
        "the join cannot have finished: {hung_up:?}"
    );
    let deadline = tokio::time::Instant::now() + CLIENT_DEADLINE;
    loop {
        let (_, metrics) = request(server.addr, "GET", "/metrics", "").await;
        if metrics.contains("dss_lake_queries_total{outcome=\"cancelled\"} 1") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never cancelled: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = request(
        server.addr,
        "POST",
        "/api/v1/sql",
        "SELECT count(*) AS n FROM gaps",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"[{"n":3000}]"#));
}
