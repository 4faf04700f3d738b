//! The HTTP front-end of the SQL engine: routes, authentication, request limits and CORS.
//!
//! Notebooks (pandas, polars, DuckDB) and the web console query the lake here. Every query goes
//! to [`Engine::stream`], which owns the slots, limits, guard, timeout and metrics that every
//! front-end shares; this crate only turns HTTP into SQL and formats, and engine errors into
//! status codes and JSON bodies. It does not plan or run SQL itself, and it never touches the
//! lake's files.
//!
//! | route                    | answer                                                  |
//! |--------------------------|---------------------------------------------------------|
//! | `POST /api/v1/sql`       | the result of the body's SQL (JSON `{"sql","format"}` or plain text) |
//! | `GET /api/v1/sql?q=`     | the same, for `pandas.read_csv(url)` and friends        |
//! | `GET /api/v1/tables`     | tables and views with their columns and types           |
//! | `GET /api/v1/openapi.json` | this API as OpenAPI 3.1                               |
//! | `GET /health`            | `{"status":"ok"}`, without a token                      |
//! | `GET /metrics`           | Prometheus text                                         |
//! | `GET /`, `/console/...`  | the web console (static, without a token; see `console`) |

mod config;
mod console;
mod error;
mod sql;

use std::future::Future;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use config::ServerConfig;
pub use error::ApiError;

use dss_lake_query::{Engine, QueryError};

/// The OpenAPI document, hand-written next to this file.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    engine: Engine,
    config: Arc<ServerConfig>,
}

impl AppState {
    pub fn new(engine: Engine, config: ServerConfig) -> Self {
        AppState {
            engine,
            config: Arc::new(config),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// The whole API as a router, for `serve` and for socket-less tests.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_request_bytes;
    let cors = cors_layer(&state.config.cors_origins);
    let api = Router::new()
        .route("/api/v1/sql", get(sql::get_sql).post(sql::post_sql))
        .route("/api/v1/tables", get(tables))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let router = Router::new()
        .route("/health", get(health))
        .merge(console::routes())
        .merge(api)
        .fallback(|| async { ApiError::NotFound })
        // The SQL handler reads its body as `Bytes`, which enforces this limit and lets the
        // handler answer an oversized body in JSON.
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// Opens the engine and serves the API on `listener` until `shutdown` resolves; in-flight
/// responses are allowed to finish. The caller's runtime only handles sockets: queries run on
/// the engine's own runtime.
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), QueryError> {
    let engine = Engine::open(config.engine.clone()).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, lake = %config.engine.lake.display(), "serving SQL over the lake");
    let app = router(AppState::new(engine, config));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT]),
    )
}

/// Checks `Authorization: Bearer <token>` when a token is configured, in constant time so the
/// comparison does not reveal how much of a guess was right.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.config.token.as_deref() else {
        return next.run(request).await;
    };
    let provided = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(provided.as_bytes().ct_eq(expected.as_bytes())) {
        next.run(request).await
    } else {
        state.engine.metrics().unauthorized();
        ApiError::Unauthorized.into_response()
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn tables(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "tables": state.engine.tables() }))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, dss_lake_query::Metrics::CONTENT_TYPE)],
        state.engine.metrics().render(),
    )
        .into_response()
}
