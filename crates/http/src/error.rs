//! How failures look to HTTP clients: a status and `{"error": ..., "kind": ...}`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use dss_lake_query::QueryError;

/// An error answer of the HTTP API.
#[derive(Debug)]
pub enum ApiError {
    /// The query failed; see [`QueryError`] for whose fault that is.
    Query(QueryError),
    /// The request itself is malformed: no SQL, an unknown format, a body that is not JSON.
    BadRequest(String),
    /// The request body is larger than `max_request_bytes` (the value).
    TooLarge(usize),
    /// No token, or the wrong one.
    Unauthorized,
    /// No such endpoint.
    NotFound,
}

impl From<QueryError> for ApiError {
    fn from(err: QueryError) -> Self {
        ApiError::Query(err)
    }
}

impl ApiError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Query(err) => match err {
                QueryError::BadQuery(_) | QueryError::LimitExceeded { .. } => {
                    StatusCode::BAD_REQUEST
                }
                QueryError::Refused(_) => StatusCode::FORBIDDEN,
                // Valid SQL that needs more memory than a query may use: the client can narrow it.
                QueryError::ResourcesExhausted(_) => StatusCode::UNPROCESSABLE_ENTITY,
                QueryError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                QueryError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                QueryError::Internal(_) | QueryError::Unconverted(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (kind, message) = match &self {
            ApiError::Query(QueryError::Internal(detail)) => {
                // Logged here for failures outside a query task; the client learns nothing of
                // paths or internals.
                tracing::error!(error = %detail, "internal error answered with 500");
                ("internal", "internal error; see the server log".to_owned())
            }
            ApiError::Query(err) => (err.kind(), err.to_string()),
            ApiError::BadRequest(message) => ("bad_request", message.clone()),
            ApiError::TooLarge(max) => (
                "too_large",
                format!(
                    "the request body is larger than {max} bytes \
                     (--max-request-bytes, DSS_LAKE_MAX_REQUEST_BYTES)"
                ),
            ),
            ApiError::Unauthorized => ("unauthorized", "a valid bearer token is required".into()),
            ApiError::NotFound => (
                "not_found",
                "no such endpoint; see /api/v1/openapi.json".into(),
            ),
        };
        let mut body = json!({ "error": message, "kind": kind });
        if let ApiError::Query(QueryError::LimitExceeded { limit, .. }) = &self {
            body["limit"] = json!(limit.name());
        }
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            }
            ApiError::Query(QueryError::Busy) => {
                headers.insert(header::RETRY_AFTER, "1".parse().expect("valid"));
            }
            _ => {}
        }
        response
    }
}
