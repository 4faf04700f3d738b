//! The web console at `/`: a page of plain ES modules (and the vendored uPlot) compiled into the
//! binary, so `dss-lake serve` needs no files, CDN or network beside it.
//!
//! The console has no API of its own: every data call it makes goes through the public
//! `/api/v1/sql` and `/api/v1/tables` with the user's token, exactly as a script's would. What is
//! served here is static (the page, its scripts, styles and the `queries/` examples), so it is
//! answered without a token, like `/health`; the page asks for the token when the API refuses.
//!
//! Every answer carries a Content-Security-Policy that allows scripts, styles and connections to
//! this origin only, with no inline script and no `eval`: event values are untrusted text, and
//! should a rendering bug ever put one into the DOM as markup, the browser still will not run it.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::ApiError;

/// Scripts, styles, images, fonts and fetches from this origin only; no framing, no plugins, no
/// `<base>` rewriting. `style-src 'self'` still lets scripts set `element.style` (uPlot does),
/// which CSP leaves alone, while it refuses `style=` attributes in markup.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// One embedded file: where it is served below `/console/`, its type, its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("assets/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("console.css", CSS),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/api.js", JS),
    asset!("js/app.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/device.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/explore.js", JS),
    asset!("js/grid.js", JS),
    asset!("js/live.js", JS),
    asset!("js/query.js", JS),
    asset!("vendor/uPlot.iife.min.js", JS),
    asset!("vendor/uPlot.min.css", CSS),
    asset!("vendor/uPlot.LICENSE", "text/plain; charset=utf-8"),
];

const INDEX_HTML: &[u8] = include_bytes!("assets/index.html");

macro_rules! example {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../../queries/", $name, ".sql")),
        )
    };
}

/// The `queries/` examples, by file stem, read at build time so the list cannot drift from the
/// files the query tests check (a service test compares it with the folder).
const EXAMPLES: &[(&str, &str)] = &[
    example!("ack_failure_rate_by_property"),
    example!("chattiest_properties"),
    example!("device_twin"),
    example!("devices_offline_now"),
    example!("freezer_temperature_day"),
    example!("hourly_average_by_model"),
    example!("last_known_location"),
    example!("registrations_per_day"),
    example!("time_online_per_day"),
];

/// The console's routes, to be merged outside the token check.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/console/examples.json", get(examples))
        .route("/console/{*path}", get(asset))
}

async fn index() -> Response {
    respond(HTML, INDEX_HTML.into())
}

async fn asset(Path(path): Path<String>) -> Response {
    if path.is_empty() {
        return index().await;
    }
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => respond(a.content_type, a.body.into()),
        None => ApiError::NotFound.into_response(),
    }
}

/// `[{"name", "title", "sql"}]`: the title is the file's leading `--` comment.
async fn examples() -> Response {
    let list: Vec<_> = EXAMPLES
        .iter()
        .map(|(name, sql)| json!({ "name": name, "title": title_of(sql), "sql": sql }))
        .collect();
    let body = serde_json::to_vec(&list).expect("strings always serialise");
    respond("application/json", body.into())
}

fn title_of(sql: &str) -> String {
    sql.lines()
        .map_while(|line| line.trim().strip_prefix("--"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

fn respond(content_type: &'static str, body: axum::body::Body) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Revalidated every time, so a new binary's console is never mixed with an old cached one.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
