//! Shared by the integration tests: the emulator started on a real loopback socket, and a DSS
//! client written only from Ayla's public documentation (open `?stream_key=`, answer `Z` to
//! heartbeats, parse `LEN|json`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dss_lake_schema::Table;
use dss_lake_sim::{Rate, Sim, SimConfig, SimError};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};
use tower::ServiceExt;

/// Long enough for anything these tests wait for; short enough that a hang fails fast.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// A test configuration: fast heartbeats, a few thousand events per second, no stats lines.
pub(crate) fn config() -> SimConfig {
    SimConfig {
        rate: Rate::PerSecond(3000.0),
        heartbeat_interval: Duration::from_millis(100),
        replay_buffer: 20_000,
        stats_interval: None,
        ..SimConfig::default()
    }
}

/// The emulator serving on `127.0.0.1:0`.
pub(crate) struct Running {
    pub(crate) sim: Sim,
    pub(crate) addr: SocketAddr,
    task: JoinHandle<Result<(), SimError>>,
}

impl Running {
    pub(crate) async fn start(config: SimConfig) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sim = Sim::new(config).unwrap();
        let task = tokio::spawn(sim.clone().serve(listener, std::future::pending()));
        Running { sim, addr, task }
    }

    /// The stream key of the first subscription of type `table`.
    pub(crate) fn key(&self, table: Table) -> String {
        let subs = self.sim.subscriptions();
        subs.into_iter()
            .find(|s| s.subscription_type == table)
            .unwrap()
            .stream_key
    }

    pub(crate) fn id(&self, table: Table) -> u64 {
        let subs = self.sim.subscriptions();
        subs.into_iter()
            .find(|s| s.subscription_type == table)
            .unwrap()
            .id
    }

    /// The seq subscription `id` will number its next event with.
    pub(crate) fn next_seq(&self, id: u64) -> u64 {
        let stats = self.sim.stats();
        let subscription = stats.subscriptions.iter().find(|s| s.id == id);
        subscription.expect("no such subscription").next_seq
    }

    pub(crate) fn url(&self, key: &str, extra: &str) -> String {
        format!("ws://{}/stream?stream_key={key}{extra}", self.addr)
    }

    pub(crate) async fn client(&self, table: Table, extra: &str) -> DssClient {
        DssClient::connect(&self.url(&self.key(table), extra))
            .await
            .unwrap()
    }

    /// Waits until the subscription's next seq reaches `seq`.
    pub(crate) async fn wait_for_seq(&self, id: u64, seq: u64) {
        self.wait_until(|s| {
            s.subscriptions
                .iter()
                .any(|x| x.id == id && x.next_seq >= seq)
        })
        .await;
    }

    pub(crate) async fn wait_until(&self, done: impl Fn(&dss_lake_sim::Stats) -> bool) {
        tokio::time::timeout(PATIENCE, async {
            while !done(&self.sim.stats()) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the emulator did not get there in time");
    }

    /// A REST call through the emulator's own router (same state as the served one).
    pub(crate) async fn rest(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        rest(&self.sim, method, path, body).await
    }

    pub(crate) async fn stop(self) {
        self.sim.shutdown();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// Calls the REST API through [`Sim::router`], with the right token.
pub(crate) async fn rest(
    sim: &Sim,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let auth = format!("auth_token {}", sim.auth_token());
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", auth);
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    call(sim, request.body(body).unwrap()).await
}

pub(crate) async fn call(sim: &Sim, request: Request<Body>) -> (StatusCode, Value) {
    let response = sim.router().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

/// What a DSS client sees next.
// The texts are read only through `Debug`, in the messages of failed assertions.
#[allow(dead_code)]
#[derive(Debug)]
pub(crate) enum Received {
    /// An event: its frame's LEN, its payload, and the payload parsed.
    Event {
        len: usize,
        payload: String,
        json: Value,
    },
    /// A text message the documented parse rejects (no `|`, LEN not digits, LEN wrong, bad JSON).
    Malformed(String),
    /// The server's close frame: code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame (or failed).
    Dropped(String),
}

/// A DSS client exactly as Ayla documents one: connect with `?stream_key=`, split each text
/// message at its first `|` into LEN and payload, answer a payload of `Z` with `Z`, parse the
/// rest as JSON.
pub(crate) struct DssClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Whether heartbeats are answered (a test sets this to false to play a dead client).
    pub(crate) answer_heartbeats: bool,
    pub(crate) heartbeats: u64,
}

impl DssClient {
    pub(crate) async fn connect(url: &str) -> Result<DssClient, tungstenite::Error> {
        let (ws, _) = connect_async(url).await?;
        Ok(DssClient {
            ws,
            answer_heartbeats: true,
            heartbeats: 0,
        })
    }

    /// The next message that is not a heartbeat (heartbeats are answered on the way).
    pub(crate) async fn next(&mut self) -> Received {
        loop {
            let message = match self.ws.next().await {
                None => return Received::Dropped("end of stream".to_owned()),
                Some(Err(e)) => return Received::Dropped(e.to_string()),
                Some(Ok(m)) => m,
            };
            let text = match message {
                Message::Text(t) => t.as_str().to_owned(),
                Message::Close(frame) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.as_str().to_owned())
                    });
                    return Received::Closed(code, reason);
                }
                _ => continue,
            };
            let Some((len, payload)) = text.split_once('|') else {
                return Received::Malformed(text);
            };
            if payload == "Z" {
                self.heartbeats += 1;
                if self.answer_heartbeats {
                    self.ws.send(Message::text("Z")).await.unwrap();
                }
                continue;
            }
            let len_ok = !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit());
            if !len_ok || len.parse::<usize>().ok() != Some(payload.len()) {
                return Received::Malformed(text);
            }
            return match serde_json::from_str(payload) {
                Ok(json) => Received::Event {
                    len: payload.len(),
                    payload: payload.to_owned(),
                    json,
                },
                Err(_) => Received::Malformed(text),
            };
        }
    }

    /// The next event, or a panic naming what came instead.
    pub(crate) async fn event(&mut self) -> Value {
        match tokio::time::timeout(PATIENCE, self.next())
            .await
            .expect("no event in time")
        {
            Received::Event { json, .. } => json,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Closes politely and waits for the server's answer.
    pub(crate) async fn close(mut self) {
        let _ = self.ws.close(None).await;
        while let Some(Ok(_)) = self.ws.next().await {}
    }
}

pub(crate) fn seq(event: &Value) -> u64 {
    event["seq"].as_str().unwrap().parse().unwrap()
}

pub(crate) fn event_type(event: &Value) -> &str {
    event["metadata"]["event_type"].as_str().unwrap()
}
