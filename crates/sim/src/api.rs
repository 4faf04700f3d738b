//! The HTTP side: the subscriptions REST API, the stream endpoint's checks before the upgrade,
//! and `/metrics`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{FromRequestParts, Path, Query, State as Shared};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tracing::{info, warn};

use crate::connection::{self, Request};
use crate::metrics::add;
use crate::state::State;
use crate::subscription::{FieldError, Patch, Subscription};

type AppState = Arc<State>;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/subscriptions.json", get(list).post(create))
        .route(
            "/api/v1/subscriptions/{file}",
            get(show).put(update).patch(update).delete(remove),
        )
        .route("/stream", get(stream))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not found") })
        .with_state(state)
}

/// An error answer: `{"error": "..."}`, plus Rails-style `{"errors": {field: [message]}}` when
/// a field is to blame.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    fn field(e: FieldError) -> ApiError {
        let body = json!({
            "error": format!("{} {}", e.field, e.message),
            "errors": { e.field.clone(): [e.message] },
        });
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Proof that the request carried `Authorization: auth_token <token>` with the right token.
#[derive(Debug)]
struct Authorized;

impl FromRequestParts<AppState> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("auth_token ")) else {
            let msg = "missing header Authorization: auth_token <token>";
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, msg));
        };
        if bool::from(token.trim().as_bytes().ct_eq(state.auth_token.as_bytes())) {
            Ok(Authorized)
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid auth_token",
            ))
        }
    }
}

fn object(state: &State, sub: &Subscription) -> Value {
    sub.to_json(&state.config.fleet.oem_id)
}

async fn list(_: Authorized, Shared(state): Shared<AppState>) -> Json<Value> {
    Json(state.list().iter().map(|s| object(&state, s)).collect())
}

/// The body's subscription object: `{"subscription": {...}}` as Ayla wraps it, or bare.
fn body_object(body: &Bytes) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body is not valid JSON: {e}"),
        )
    })?;
    Ok(match value {
        Value::Object(mut map) if map.contains_key("subscription") => {
            map.remove("subscription").unwrap_or_default()
        }
        other => other,
    })
}

async fn create(
    _: Authorized,
    Shared(state): Shared<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let patch = Patch::from_json(&body_object(&body)?, false).map_err(ApiError::field)?;
    let blank = |field: &str| FieldError {
        field: field.to_owned(),
        message: "can't be blank".to_owned(),
    };
    if patch.name.is_none() {
        return Err(ApiError::field(blank("name")));
    }
    let sub = state.create(patch).map_err(ApiError::field)?;
    info!(subscription = sub.id, subscription_type = %sub.table, "subscription created");
    Ok((StatusCode::CREATED, Json(object(&state, &sub))))
}

/// `{id}.json` → the subscription, or 404.
fn find(state: &State, file: &str) -> Result<Arc<Subscription>, ApiError> {
    let id = file
        .strip_suffix(".json")
        .and_then(|id| id.parse::<u64>().ok());
    id.and_then(|id| state.get(id))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "subscription not found"))
}

async fn show(
    _: Authorized,
    Shared(state): Shared<AppState>,
    Path(file): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sub = find(&state, &file)?;
    Ok(Json(object(&state, &sub)))
}

async fn update(
    _: Authorized,
    Shared(state): Shared<AppState>,
    Path(file): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let sub = find(&state, &file)?;
    let patch = Patch::from_json(&body_object(&body)?, false).map_err(ApiError::field)?;
    sub.update(patch, &crate::config::now_iso())
        .map_err(ApiError::field)?;
    info!(subscription = sub.id, "subscription updated");
    if state.is_max_rate() {
        // A resumed subscription may have a hungry reader again.
        state.demand.notify_one();
    }
    Ok(Json(object(&state, &sub)))
}

async fn remove(
    _: Authorized,
    Shared(state): Shared<AppState>,
    Path(file): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sub = find(&state, &file)?;
    let removed = state
        .delete(sub.id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "subscription not found"))?;
    info!(subscription = removed.id, "subscription deleted");
    Ok(Json(object(&state, &removed)))
}

async fn metrics(Shared(state): Shared<AppState>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        state.stats().to_prometheus(),
    )
}

/// `GET /stream?stream_key=K[&seq_start=N][&seq_end=M]`: everything is checked before the
/// upgrade so that a wrong request gets a plain HTTP error with a JSON body.
async fn stream(
    Shared(state): Shared<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let checked = check_stream_request(&state, query).and_then(|opened| match upgrade {
        Ok(upgrade) => Ok((opened, upgrade)),
        Err(rejection) => {
            let message = format!("expected a WebSocket upgrade: {}", rejection.body_text());
            Err(ApiError::new(rejection.status(), message))
        }
    });
    match checked {
        Err(e) => {
            add(&state.counters.refused, 1);
            e.into_response()
        }
        Ok(((sub, request), upgrade)) => upgrade.on_upgrade(move |socket| {
            let tracker = state.connections.clone();
            tracker.track_future(connection::serve(state, sub, socket, request))
        }),
    }
}

fn check_stream_request(
    state: &State,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<(Arc<Subscription>, Request), ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    let Query(params) =
        query.map_err(|e| bad(format!("invalid query string: {}", e.body_text())))?;
    let key = params
        .get("stream_key")
        .ok_or_else(|| bad("missing query parameter stream_key".to_owned()))?;
    let Some(sub) = state.by_key(key) else {
        let suffix: String = key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        warn!(key = %format!("…{suffix}"), "refused a stream: unknown stream_key");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unknown stream_key",
        ));
    };
    let seq = |name: &str| -> Result<Option<u64>, ApiError> {
        params
            .get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(format!("{name} must be a non-negative integer")))
            })
            .transpose()
    };
    let request = Request {
        seq_start: seq("seq_start")?,
        seq_end: seq("seq_end")?,
    };
    if let (Some(start), Some(end)) = (request.seq_start, request.seq_end)
        && end < start
    {
        return Err(bad("seq_end must not be less than seq_start".to_owned()));
    }
    Ok((sub, request))
}
