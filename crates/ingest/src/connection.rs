//! A stream's socket task: connect, resume from the last stored `seq`, answer heartbeats, hand
//! every other message to the sink thread, and reconnect (with backoff) whenever the connection
//! fails, closes or goes silent.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use dss_lake_frame::is_heartbeat;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::backoff::Backoff;
use crate::config::{ConnectionSettings, StreamConfig};
use crate::metrics::StreamMetrics;
use crate::sink::ToSink;

/// How long a closing connection may take to say goodbye at shutdown.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// TLS for `wss://`: rustls with the webpki roots (Mozilla's list compiled in, so a container
/// without CA files still works); certificates and host names are checked, no way to turn it off.
pub fn tls_connector() -> Connector {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Connector::Rustls(Arc::new(config))
}

/// The URL with the key and `seq_start`; it goes to the connector and nowhere else.
pub fn stream_url(stream: &StreamConfig, last_seq: Option<u64>) -> String {
    let sep = if stream.url.contains('?') { '&' } else { '?' };
    let mut url = format!("{}{sep}stream_key={}", stream.url, stream.key.expose());
    if let Some(seq) = last_seq {
        url.push_str(&format!("&seq_start={}", seq + 1));
    }
    url
}

/// Why a connection ended.
enum End {
    Cancelled,
    /// The sink thread stopped (a lake error); reconnecting would not help.
    SinkGone,
    /// Retry; `delivered` says whether events arrived (then the backoff starts over).
    Lost {
        reason: String,
        delivered: bool,
    },
}

/// Everything one stream's task needs.
pub(crate) struct StreamTask {
    pub(crate) stream: StreamConfig,
    pub(crate) settings: ConnectionSettings,
    pub(crate) connector: Connector,
    pub(crate) queue: mpsc::Sender<ToSink>,
    pub(crate) metrics: Arc<StreamMetrics>,
    pub(crate) cancel: CancellationToken,
}

impl std::fmt::Debug for StreamTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connector has no Debug; the key shows redacted.
        f.debug_struct("StreamTask")
            .field("stream", &self.stream)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl StreamTask {
    /// Connects and reconnects until cancelled or the sink stops.
    pub(crate) async fn run(self) {
        let name = self.stream.name.clone();
        let seed = seed_for(name.as_str());
        let s = self.settings;
        let mut backoff = Backoff::new(s.backoff_initial, s.backoff_max, seed);
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(s.max_message_size))
            .max_frame_size(Some(s.max_message_size));
        loop {
            let last_seq = self.metrics.last_seq();
            let url = stream_url(&self.stream, last_seq);
            let connect = tokio_tungstenite::connect_async_tls_with_config(
                url,
                Some(ws_config),
                true,
                Some(self.connector.clone()),
            );
            let connected = tokio::select! {
                () = self.cancel.cancelled() => return,
                r = tokio::time::timeout(s.connect_timeout, connect) => r,
            };
            let reason = match connected {
                Ok(Ok((socket, _))) => {
                    let seq_start = last_seq.map(|s| s + 1);
                    info!(stream = %name, key = %self.stream.key, ?seq_start, "connected");
                    self.metrics.connected.store(true, Relaxed);
                    let end = self.read(socket).await;
                    self.metrics.connected.store(false, Relaxed);
                    match end {
                        End::Cancelled => return,
                        End::SinkGone => {
                            let cause = self.metrics.writer.failure();
                            let cause = cause.map_or_else(String::new, |c| format!(": {c}"));
                            warn!(stream = %name, "the lake stopped taking events; stream stopped{cause}");
                            return;
                        }
                        End::Lost { reason, delivered } => {
                            if delivered {
                                backoff.reset();
                            }
                            self.metrics.reconnects.fetch_add(1, Relaxed);
                            reason
                        }
                    }
                }
                Ok(Err(e)) => format!(
                    "connecting failed: {}",
                    self.stream.key.scrub(&e.to_string())
                ),
                Err(_) => format!("connecting took longer than {:?}", s.connect_timeout),
            };
            let delay = backoff.next_delay();
            warn!(stream = %name, key = %self.stream.key, "{reason}; reconnecting in {delay:?}");
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Reads one connection until it ends. The watchdog is one timer, re-armed lazily from the
    /// time of the last message, so the hot path only reads the clock.
    async fn read(&self, mut socket: Socket) -> End {
        let limit = self.settings.watchdog();
        let mut last = Instant::now();
        let watchdog = tokio::time::sleep(limit);
        tokio::pin!(watchdog);
        let mut delivered = false;
        let lost = |reason: String, delivered| End::Lost { reason, delivered };
        loop {
            let message = tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
                    let _ = tokio::time::timeout(CLOSE_GRACE, socket.close(None)).await;
                    return End::Cancelled;
                }
                message = socket.next() => message,
                () = &mut watchdog => {
                    if last.elapsed() >= limit {
                        self.metrics.watchdog_timeouts.fetch_add(1, Relaxed);
                        return lost(format!("nothing received for {limit:?} (watchdog)"), delivered);
                    }
                    watchdog.as_mut().reset(last + limit);
                    continue;
                }
            };
            last = Instant::now();
            let text = match message {
                None => return lost("the server ended the connection".into(), delivered),
                Some(Err(e)) => return lost(self.stream.key.scrub(&e.to_string()), delivered),
                Some(Ok(Message::Text(text))) => text,
                // Pings are answered by tungstenite; a close frame is followed by the end.
                Some(Ok(_)) => continue,
            };
            self.metrics.messages.fetch_add(1, Relaxed);
            self.metrics.bytes.fetch_add(text.len() as u64, Relaxed);
            if is_heartbeat(&text) {
                self.metrics.heartbeats.fetch_add(1, Relaxed);
                if let Err(e) = socket.send(Message::text("Z")).await {
                    return lost(self.stream.key.scrub(&e.to_string()), delivered);
                }
                continue;
            }
            delivered = true;
            let full = match self.queue.try_send(ToSink::Message(text)) {
                Ok(()) => continue,
                Err(mpsc::error::TrySendError::Closed(_)) => return End::SinkGone,
                Err(mpsc::error::TrySendError::Full(full)) => full,
            };
            // The sink thread is behind (a slow disk, or a commit waiting to be retried): this
            // is where backpressure reaches the socket. Nothing is read, so heartbeats go
            // unanswered and the server may drop us; the reconnect then asks for what follows
            // the last event handed on. Cancellation still wins; the message is not lost, only
            // not yet committed.
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return End::Cancelled,
                sent = self.queue.send(full) => {
                    if sent.is_err() {
                        return End::SinkGone;
                    }
                }
            }
            // Time spent waiting on our own lake is not the server's silence: the watchdog
            // counts from here.
            last = Instant::now();
        }
    }
}

/// Different streams get different jitter; the same stream differs from run to run.
fn seed_for(name: &str) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    name.bytes().fold(nanos, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Sends a tick to the sink thread every `every` until cancelled (see [`ToSink::Tick`]).
pub(crate) async fn tick(queue: mpsc::Sender<ToSink>, every: Duration, cancel: CancellationToken) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {
                // A full channel means the sink is busy and will hand rows on by itself.
                if let Err(mpsc::error::TrySendError::Closed(_)) = queue.try_send(ToSink::Tick) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dss_lake_schema::StreamKey;
    use dss_lake_schema::StreamName;

    #[test]
    fn the_url_carries_the_key_and_resumes_after_the_last_seq() {
        let stream = StreamConfig {
            name: StreamName::parse("s").unwrap(),
            url: "wss://h/stream".into(),
            key: StreamKey::new("abcd1234").unwrap(),
        };
        assert_eq!(
            stream_url(&stream, None),
            "wss://h/stream?stream_key=abcd1234"
        );
        assert_eq!(
            stream_url(&stream, Some(41)),
            "wss://h/stream?stream_key=abcd1234&seq_start=42"
        );
    }
}
