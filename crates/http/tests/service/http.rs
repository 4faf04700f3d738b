//! The HTTP API without a socket: formats, negotiation, catalog, health, metrics, auth, limits.

use crate::common;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{Request, StatusCode, header};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use dss_lake_http::{AppState, ServerConfig, router};
use dss_lake_query::{Engine, EngineConfig};
use serde_json::Value;
use tower::ServiceExt;

const SQL: &str = "SELECT dsn, seq, created_at, value_num, resource_tags FROM datapoint WHERE property_name = 'temp_c' ORDER BY seq";

async fn app(config: impl FnOnce(&mut ServerConfig)) -> (tempfile::TempDir, Router) {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let mut cfg = ServerConfig::new(EngineConfig::new(lake.path()));
    config(&mut cfg);
    let engine = Engine::open(cfg.engine.clone()).await.unwrap();
    (lake, router(AppState::new(engine, cfg)))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        to_bytes(response.into_body(), usize::MAX).await.unwrap(),
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn query_uri(sql: &str, format: &str) -> String {
    let mut uri = String::from("/api/v1/sql?q=");
    for b in sql.bytes() {
        if b.is_ascii_alphanumeric() {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    if !format.is_empty() {
        uri.push_str("&format=");
        uri.push_str(format);
    }
    uri
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

#[tokio::test]
async fn every_format_carries_the_same_eight_rows() {
    let (_lake, app) = app(|_| {}).await;
    let (status, ct, body) = send(&app, get(&query_uri(SQL, ""))).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 8);
    assert_eq!(json[0]["value_num"], -18.5);
    assert_eq!(json[0]["resource_tags"], serde_json::json!(["kitchen"]));

    let (_, ct, body) = send(&app, get(&query_uri(SQL, "ndjson"))).await;
    assert_eq!(ct, "application/x-ndjson");
    let lines: Vec<Value> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);

    let (_, ct, body) = send(&app, get(&query_uri(SQL, "csv"))).await;
    assert_eq!(ct, "text/csv");
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.starts_with("dsn,seq,created_at,value_num,resource_tags\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 9);

    let (_, ct, body) = send(&app, get(&query_uri(SQL, "arrow"))).await;
    assert_eq!(ct, "application/vnd.apache.arrow.stream");
    let reader = StreamReader::try_new(std::io::Cursor::new(body.to_vec()), None).unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(rows(&batches), 8);

    let (_, ct, body) = send(&app, get(&query_uri(SQL, "parquet"))).await;
    assert_eq!(ct, "application/vnd.apache.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(body)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(rows(&batches), 8);
}

#[tokio::test]
async fn post_takes_json_or_plain_sql_and_accept_picks_the_format() {
    let (_lake, app) = app(|_| {}).await;
    let body = serde_json::json!({ "sql": SQL, "format": "csv" }).to_string();
    let request = Request::post("/api/v1/sql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let (status, ct, _) = send(&app, request).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "text/csv"));

    let request = Request::post("/api/v1/sql")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::ACCEPT, "application/vnd.apache.arrow.stream")
        .body(Body::from(SQL))
        .unwrap();
    let (status, ct, _) = send(&app, request).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/vnd.apache.arrow.stream")
    );

    let (status, _, body) = send(&app, get(&query_uri("SELECT 1", "xml"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("unknown format"));
}

#[tokio::test]
async fn bad_sql_is_a_400_with_the_engines_message() {
    let (_lake, app) = app(|_| {}).await;
    let (status, ct, body) = send(&app, get(&query_uri("SELECT nope FROM datapoint", ""))).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/json")
    );
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["kind"], "bad_query");
    assert!(error["error"].as_str().unwrap().contains("nope"), "{error}");
    let (status, _, _) = send(&app, get(&query_uri("SELEKT 1", ""))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn catalog_health_metrics_and_openapi_answer() {
    let (_lake, app) = app(|_| {}).await;
    let (status, _, body) = send(&app, get("/api/v1/tables")).await;
    assert_eq!(status, StatusCode::OK);
    let tables: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tables["tables"].as_array().unwrap().len(), 10);
    let (status, _, body) = send(&app, get("/health")).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &br#"{"status":"ok"}"#[..])
    );
    send(&app, get(&query_uri("SELECT 1", ""))).await;
    let (status, ct, body) = send(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/plain"));
    assert!(String::from_utf8_lossy(&body).contains("dss_lake_queries_total{outcome=\"ok\"} 1"));
    let (status, _, body) = send(&app, get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["paths"]["/api/v1/sql"]["post"].is_object());
    let (status, _, _) = send(&app, get("/api/v2/nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_is_required_everywhere_but_health() {
    let (_lake, app) = app(|c| c.token = Some("s3cret-token".into())).await;
    let (status, _, _) = send(&app, get(&query_uri("SELECT 1", ""))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = Request::get("/api/v1/tables")
        .header(header::AUTHORIZATION, "Bearer s3cret-tokem")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, wrong).await.0, StatusCode::UNAUTHORIZED);
    let right = Request::get("/api/v1/tables")
        .header(header::AUTHORIZATION, "Bearer s3cret-token")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, right).await.0, StatusCode::OK);
    assert_eq!(send(&app, get("/health")).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, get("/metrics")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_and_cors_is_opt_in() {
    let (_lake, app) = app(|c| {
        c.max_request_bytes = 1024;
        c.cors_origins = vec!["https://notebook.example".into()];
    })
    .await;
    let big = format!("SELECT 1 -- {}", "x".repeat(4096));
    let request = Request::post("/api/v1/sql")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(big))
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let request = Request::get("/health")
        .header(header::ORIGIN, "https://notebook.example")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let allowed = response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .unwrap();
    assert_eq!(allowed, "https://notebook.example");

    let (_lake2, plain) = self::app(|_| {}).await;
    let request = Request::get("/health")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let response = plain.oneshot(request).await.unwrap();
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}
