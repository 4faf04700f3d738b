//! `GET` and `POST /api/v1/sql`: read the SQL and the format, wait for a slot, stream the result.

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use crate::{ApiError, AppState};
use dss_lake_query::{Format, QueryError};

/// `GET /api/v1/sql?q=...&format=...` (`sql=` is accepted for `q=`).
#[derive(Debug, Deserialize)]
pub(super) struct SqlParams {
    q: Option<String>,
    sql: Option<String>,
    format: Option<String>,
}

/// The JSON body of `POST /api/v1/sql`.
#[derive(Debug, Deserialize)]
struct SqlBody {
    sql: String,
    format: Option<String>,
}

pub(super) async fn get_sql(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<SqlParams>,
) -> Result<Response, ApiError> {
    let sql = params
        .q
        .or(params.sql)
        .ok_or_else(|| ApiError::BadRequest("missing query parameter `q` (the SQL)".into()))?;
    let format = choose_format(params.format.as_deref(), &headers)?;
    run(state, sql, format).await
}

/// A JSON body (`Content-Type: application/json`) or the bare SQL text (any other type).
pub(super) async fn post_sql(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<SqlParams>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // A body past `max_request_bytes` is answered in the API's JSON, not axum's plain text.
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(state.config.max_request_bytes),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let (sql, format_name) = if is_json {
        let parsed: SqlBody = serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!("expected {{\"sql\": ..., \"format\": ...}}: {e}"))
        })?;
        (parsed.sql, parsed.format.or(params.format))
    } else {
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::BadRequest("the SQL body is not UTF-8".into()))?;
        (text, params.format)
    };
    let format = choose_format(format_name.as_deref(), &headers)?;
    run(state, sql, format).await
}

/// An explicit `format` wins, then the `Accept` header, then JSON.
fn choose_format(name: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    if let Some(name) = name {
        return Format::from_name(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown format {name:?}; use json, ndjson, csv, arrow or parquet"
            ))
        });
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    Ok(accept.and_then(Format::from_accept).unwrap_or_default())
}

async fn run(state: AppState, sql: String, format: Format) -> Result<Response, ApiError> {
    if sql.trim().is_empty() {
        return Err(ApiError::BadRequest("the SQL is empty".into()));
    }
    let result = state.engine.stream(sql, format).await?;
    let body = Body::from_stream(result.into_stream());
    let response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, format.content_type())
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(body)
        .map_err(|e| QueryError::Internal(e.to_string()))?;
    Ok(response)
}
