//! The web console: its embedded files and headers without a socket, then the real page in
//! headless Chromium (installed by `scripts/browser-env.sh`, driven by
//! `tests/python/console_browser.py`) against two servers over one lake, one with a token.
//! Set `DSS_LAKE_UPDATE_SCREENSHOTS=1` to refresh `docs/console/` from the run.

use crate::common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use dss_lake_http::{AppState, ServerConfig, router};
use dss_lake_query::{Engine, EngineConfig};
use dss_lake_schema::Table;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "console-test-token";
const HOSTILE: &str = "<img src=x onerror=alert(1)>";
/// The browser run takes about 30 s; past this it is stuck, not slow.
const BROWSER_DEADLINE: Duration = Duration::from_secs(150);

async fn app(token: Option<&str>) -> (tempfile::TempDir, Router) {
    let lake = tempfile::tempdir().unwrap();
    common::write_fixture_lake(lake.path());
    let mut cfg = ServerConfig::new(EngineConfig::new(lake.path()));
    cfg.token = token.map(str::to_owned);
    let engine = Engine::open(cfg.engine.clone()).await.unwrap();
    (lake, router(AppState::new(engine, cfg)))
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        to_bytes(body, usize::MAX).await.unwrap(),
    )
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn console_is_served_embedded_with_a_strict_csp() {
    let (_lake, app) = app(None).await;
    let pages = [
        ("/", "text/html"),
        ("/console/js/app.js", "text/javascript"),
        ("/console/js/query.js", "text/javascript"),
        ("/console/console.css", "text/css"),
        ("/console/vendor/uPlot.iife.min.js", "text/javascript"),
        ("/console/favicon.svg", "image/svg+xml"),
        ("/console/examples.json", "application/json"),
    ];
    for (uri, content_type) in pages {
        let (status, headers, body) = get(&app, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(!body.is_empty(), "{uri}");
        assert!(
            header_of(&headers, header::CONTENT_TYPE).starts_with(content_type),
            "{uri}: {headers:?}"
        );
        let csp = header_of(&headers, header::CONTENT_SECURITY_POLICY);
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{uri}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{uri}: {csp}");
        assert_eq!(
            header_of(&headers, header::X_CONTENT_TYPE_OPTIONS),
            "nosniff"
        );
    }

    // The CSP forbids inline script and handlers, so the page must not need any.
    let (_, _, html) = get(&app, "/", None).await;
    let html = String::from_utf8(html.to_vec()).unwrap();
    for script in html.split("<script").skip(1) {
        let tag = &script[..script.find('>').unwrap()];
        assert!(tag.contains(" src=\"/console/"), "inline script: {tag}");
    }
    for attribute in [" onclick=", " onload=", " onerror=", " style="] {
        assert!(!html.contains(attribute), "{attribute} in index.html");
    }

    let (status, _, body) = get(&app, "/console/js/nope.js", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["kind"], "not_found");
}

#[tokio::test]
async fn console_examples_are_the_queries_folder() {
    let (_lake, app) = app(None).await;
    let (_, _, body) = get(&app, "/console/examples.json", None).await;
    let listed: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let folder = common::repo_root().join("queries");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let names: Vec<&str> = listed.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let stems: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names, stems,
        "console/mod.rs EXAMPLES must list queries/*.sql"
    );
    for (example, file) in listed.iter().zip(&files) {
        assert_eq!(example["sql"], std::fs::read_to_string(file).unwrap());
        assert!(!example["title"].as_str().unwrap().is_empty(), "{file:?}");
    }
}

#[tokio::test]
async fn console_files_need_no_token_but_its_data_calls_do() {
    let (_lake, app) = app(Some(TOKEN)).await;
    for uri in ["/", "/console/js/api.js", "/console/examples.json"] {
        assert_eq!(get(&app, uri, None).await.0, StatusCode::OK, "{uri}");
    }
    let (status, _, body) = get(&app, "/api/v1/tables", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["kind"],
        "unauthorized"
    );
    let (status, _, _) = get(&app, "/api/v1/tables", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
}

/// A day of `temp_c` readings every 10 minutes for three freezers (a chart worth looking at),
/// and a device whose values are hostile: markup, quotes, emoji and a long string.
fn write_console_rows(lake: &Path) {
    let mut rows = Vec::new();
    let mut seq = 10_000;
    for (dsn, base) in [
        ("AC000W000000001", -18.0),
        ("AC000W000000002", -20.0),
        ("AC000W000000004", -16.0),
    ] {
        for i in 0..144 {
            seq += 1;
            let t = format!("2026-11-24T{:02}:{:02}:00Z", i / 6, (i % 6) * 10);
            let phase = f64::from(i) / 12.0 + base;
            let value =
                ((base + 1.5 * phase.sin() + 0.3 * (phase * 7.0).cos()) * 100.0).round() / 100.0;
            rows.push(json!({
                "stream": "dp", "seq": seq, "received_at": t, "oem_model": "freezer-model",
                "dsn": dsn, "property_name": "temp_c", "display_name": "Temp C",
                "base_type": "decimal", "created_at": t, "value_json": value.to_string(),
                "value_num": value,
            }));
        }
    }
    let hostile = [
        ("label", format!("\"{HOSTILE}\"")),
        ("notes", format!("\"{}\"", "a very long note ".repeat(300))),
        ("nickname", "\"Kühlschrank 'Nord' \\\"Ø\\\" 🧊\"".to_owned()),
    ];
    for (i, (property, value)) in hostile.into_iter().enumerate() {
        rows.push(json!({
            "stream": "dp", "seq": 20_000 + i, "received_at": "2026-11-25T23:59:00Z",
            "oem_model": "freezer-model\"><b>bold</b>", "dsn": "AC000W000000009",
            "property_name": property, "display_name": format!("{HOSTILE} 'quoted' \"double\""),
            "base_type": "string", "created_at": "2026-11-25T23:59:00Z", "value_json": value,
        }));
    }
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let batch = common::read_ndjson_text(Table::Datapoint, &text);
    assert_eq!(batch.num_rows(), rows.len(), "one batch holds them all");
    common::commit_parquet(
        lake,
        Table::Datapoint,
        "2026-11-24",
        "dp-00000000000000010001-00000000000000020002.parquet",
        &batch,
    );
}

/// Waits (on a thread of its own) for the browser script to create `signal`, then commits
/// three readings received now to the lake, as the batch writer would while the live view
/// watches.
fn commit_live_rows_on(signal: PathBuf, lake: PathBuf) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        while !signal.exists() {
            if std::time::Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let now = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let text: String = (0..3)
            .map(|i| {
                let row = json!({
                    "stream": "live", "seq": 30_000 + i, "received_at": now, "oem_model": "freezer-model",
                    "dsn": "AC000W000000077", "property_name": "temp_c", "base_type": "decimal",
                    "created_at": now, "value_json": "-17.5", "value_num": -17.5,
                });
                format!("{row}\n")
            })
            .collect();
        let name = "live-00000000000000030000-00000000000000030002.parquet";
        let batch = common::read_ndjson_text(Table::Datapoint, &text);
        common::commit_parquet(&lake, Table::Datapoint, &now[..10], name, &batch);
    })
}

fn browser_env() -> PathBuf {
    let root = common::repo_root();
    let output = Command::new("bash")
        .arg(root.join("scripts/browser-env.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "scripts/browser-env.sh failed");
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// Runs the browser script with a deadline, its output in files (a full pipe would block it).
fn run_browser(python: &Path, args: &[String], out: &Path) -> String {
    std::fs::create_dir_all(out).unwrap();
    let log = out.join("browser-run.log");
    let mut child = Command::new(python)
        .args(args)
        .stdout(File::create(&log).unwrap())
        .stderr(Stdio::from(
            File::create(out.join("browser-run.err")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the browser run took over {BROWSER_DEADLINE:?}; see {}",
                out.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&log).unwrap_or_default();
    let stderr = std::fs::read_to_string(out.join("browser-run.err")).unwrap_or_default();
    assert!(status.success(), "browser run failed:\n{stdout}\n{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_headless_chromium() {
    let python = tokio::task::spawn_blocking(browser_env).await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let lake = root.path().join("lake");
    common::write_fixture_lake(&lake);
    write_console_rows(&lake);
    let live_signal = root.path().join("commit-live-rows");
    let committer = commit_live_rows_on(live_signal.clone(), lake.clone());

    // A short snapshot TTL, so the rows committed on the script's signal show up within a poll; a
    // short timeout, so the query the page cancels cannot hold a core for long even if the
    // server noticed the cancel late.
    let ttl = Duration::from_millis(200);
    let open = common::client::start(&lake, |c| {
        c.engine.snapshot_ttl = ttl;
        c.engine.query_timeout = Duration::from_secs(10);
    })
    .await;
    let guarded = common::client::start(&lake, |c| {
        c.engine.snapshot_ttl = ttl;
        c.token = Some(TOKEN.to_owned());
    })
    .await;

    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let mut args = vec![
        common::repo_root()
            .join("crates/http/tests/python/console_browser.py")
            .to_str()
            .unwrap()
            .to_owned(),
        "--base".into(),
        format!("http://{}", open.addr),
        "--token-base".into(),
        format!("http://{}", guarded.addr),
        "--token".into(),
        TOKEN.into(),
        "--live-signal".into(),
        live_signal.to_str().unwrap().into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    if std::env::var_os("DSS_LAKE_UPDATE_SCREENSHOTS").is_some() {
        args.push("--docs".into());
        args.push(
            common::repo_root()
                .join("docs/console")
                .to_str()
                .unwrap()
                .into(),
        );
    }
    let out_dir = out.clone();
    let stdout = tokio::task::spawn_blocking(move || run_browser(&python, &args, &out_dir))
        .await
        .unwrap();
    println!("console screenshots: {}", out.display());
    assert!(stdout.contains("console ok"), "{stdout}");
    committer.join().unwrap();
}
