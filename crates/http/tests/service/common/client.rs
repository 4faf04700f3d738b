//! A real server on 127.0.0.1:0, and requests to it through the shared test client (`ureq`).

use std::net::SocketAddr;
use std::path::Path;

use dss_lake_http::{ServerConfig, serve};
use dss_lake_query::EngineConfig;
use dss_lake_test_support::http;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server; dropping it shuts the server down.
pub struct Server {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Starts `serve` on an ephemeral port over `lake`, with `config` adjusted by the caller.
pub async fn start(lake: &Path, config: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut cfg = ServerConfig::new(EngineConfig::new(lake));
    config(&mut cfg);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        serve(cfg, listener, shutdown).await.unwrap();
    });
    // The socket is bound, so the request waits until the engine is open and answers.
    let health = http::get_async(addr, "/health").await;
    assert_eq!(health.status, 200, "{}", health.body);
    Server { addr, _stop: stop }
}

/// `method path` with `body` (`GET` without one, `POST` with one); returns the status and the
/// body.
pub async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let response = match method {
        "GET" if body.is_empty() => http::get_async(addr, path).await,
        "POST" => http::post_async(addr, path, body).await,
        _ => panic!(
            "{method} with a body of {} bytes: not a request the tests send",
            body.len()
        ),
    };
    (response.status, response.body)
}

/// `s` percent-encoded for a query string.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
