//! The ingest daemon's engine: holds many DSS WebSocket streams at once and stores each event
//! in the lake exactly once, through dropped sockets, silent servers, restarts and a full disk.
//!
//! Per stream there is one tokio task that owns the socket (connect over `ws://` or `wss://`
//! with rustls, ask for `seq_start = last stored seq + 1`, answer heartbeats at once, reconnect
//! with capped, fully jittered backoff, and a watchdog for half-open connections), and one
//! dedicated thread that decodes and pushes into the lake's [`StreamSink`](dss_lake_lake::StreamSink),
//! which drops duplicates, records gaps and quarantines rejects. Between them a small bounded
//! channel carries raw messages, so a slow disk slows the socket read and memory stays bounded.
//! A commit that fails on I/O (a full disk) is retried by the lake's writer with backoff; the
//! same backpressure then stops the socket read until it succeeds, and a connection the server
//! dropped meanwhile resumes with `seq_start`. Counters are served as Prometheus text on
//! `/metrics`, with `/health` (which names the reason a stream waits).
//!
//! It does not parse flags, install signal handlers or set up logging (the `dss-lake ingest`
//! command does), and it never serves SQL: a process that also queries must run queries on their
//! own runtime or pool, so that socket and heartbeat tasks are never starved.
//!
//! Data flow: socket -> [`connection`] task -> channel -> [`sink`] thread -> `FrameDecoder` ->
//! `StreamSink::push_event` -> writer thread -> Parquet files -> checkpoint.
//!
//! ```no_run
//! use dss_lake_ingest::{Config, Ingest, Overrides};
//!
//! # async fn example() -> Result<(), dss_lake_ingest::IngestError> {
//! let config = Config::load("ingest.toml".as_ref(), &Overrides::default())?;
//! let running = Ingest::start(config).await?;
//! tokio::signal::ctrl_c().await.ok();
//! let summary = running.shutdown().await?; // stop reading, commit everything, stop HTTP
//! for stream in &summary.streams {
//!     println!("{}: committed up to seq {:?}", stream.name, stream.checkpoint.seq);
//! }
//! # Ok(()) }
//! ```

mod backoff;
mod config;
pub mod connection;
mod error;
pub mod metrics;
pub mod sink;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dss_lake_lake::{Checkpoint, Lake, LakeError, SinkCounts};
use dss_lake_schema::StreamName;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use backoff::Backoff;
pub use config::{
    Config, ConnectionSettings, DEFAULT_METRICS_ADDR, EnvLookup, Overrides, StreamConfig,
};
/// The key type lives in the contract crate, shared with the emulator; re-exported for callers
/// that build a [`StreamConfig`] by hand.
pub use dss_lake_schema::StreamKey;
pub use error::{IngestError, Result};
pub use metrics::{Metrics, StreamMetrics};

/// How often each sink hands pending rows to its writer and publishes counters.
const TICK: Duration = Duration::from_millis(200);

/// The daemon's entry point.
#[derive(Debug)]
pub struct Ingest;

/// A running daemon: every stream connected (or connecting), metrics served.
#[derive(Debug)]
pub struct Running {
    metrics_addr: Option<SocketAddr>,
    metrics: Arc<Metrics>,
    shutdown_timeout: Duration,
    /// Stops the socket tasks (first in the shutdown order).
    reading: CancellationToken,
    /// Stops HTTP (last).
    http: CancellationToken,
    tasks: JoinSet<()>,
    sinks: Vec<(StreamName, JoinHandle<Result<Checkpoint, LakeError>>)>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// What shutdown committed, per stream.
#[derive(Debug, Clone)]
pub struct Summary {
    pub streams: Vec<StreamSummary>,
}

#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub name: StreamName,
    pub checkpoint: Checkpoint,
    pub counts: SinkCounts,
}

impl Ingest {
    /// Opens every stream of the lake (locking it and recovering what a crash left, so a second
    /// daemon on the same streams fails here), binds the metrics address and starts the tasks.
    pub async fn start(config: Config) -> Result<Running> {
        let lake = Lake::new(&config.lake)
            .with_policy(config.flush)
            .with_commit_retry(config.commit_retry)
            .with_clock(Arc::clone(&config.clock));
        let mut writers = Vec::with_capacity(config.streams.len());
        let mut metrics = Metrics::new(Arc::clone(&config.clock));
        for stream in &config.streams {
            let writer = lake.open_stream(&stream.name)?;
            let seq = writer.opened_at().seq;
            info!(stream = %stream.name, checkpoint = ?seq, "stream opened");
            let m = Arc::new(StreamMetrics::new(
                stream.name.clone(),
                Arc::clone(writer.stats()),
                seq,
            ));
            metrics.streams.push(Arc::clone(&m));
            writers.push((stream.clone(), writer, m));
        }
        let metrics = Arc::new(metrics);
        let http = CancellationToken::new();
        let (metrics_addr, server) = match config.metrics_addr {
            Some(addr) => {
                let (bound, server) =
                    serve_metrics(addr, Arc::clone(&metrics), http.clone()).await?;
                (Some(bound), Some(server))
            }
            None => (None, None),
        };
        let reading = CancellationToken::new();
        let connector = connection::tls_connector();
        let mut tasks = JoinSet::new();
        let mut sinks = Vec::with_capacity(writers.len());
        for (stream, writer, m) in writers {
            let (sender, receiver) = mpsc::channel(sink::SOCKET_QUEUE);
            let thread = sink::spawn(writer, receiver, Arc::clone(&m), Arc::clone(&config.clock))
                .map_err(|e| IngestError::Stream {
                stream: stream.name.to_string(),
                message: format!("starting its sink thread: {e}"),
            })?;
            sinks.push((stream.name.clone(), thread));
            tasks.spawn(connection::tick(sender.clone(), TICK, reading.clone()));
            tasks.spawn(
                connection::StreamTask {
                    stream,
                    settings: config.connection,
                    connector: connector.clone(),
                    queue: sender,
                    metrics: m,
                    cancel: reading.clone(),
                }
                .run(),
            );
        }
        Ok(Running {
            metrics_addr,
            metrics,
            shutdown_timeout: config.shutdown_timeout,
            reading,
            http,
            tasks,
            sinks,
            server,
        })
    }
}

async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| IngestError::Metrics { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| IngestError::Metrics { addr, source })?;
    info!(addr = %bound, "metrics on http://{bound}/metrics");
    let app = metrics::router(metrics);
    let server = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!("metrics server failed: {e}");
        }
    });
    Ok((bound, server))
}

impl Running {
    /// Where `/metrics` and `/health` are served (the bound port when configured as `:0`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Shuts down in order: stop reading every socket, let each sink decode what it holds and
    /// commit (files, then checkpoint), then stop HTTP. Fails if the commits take longer than
    /// the configured `shutdown_timeout` or a stream's lake failed. A writer retrying a failed
    /// commit (a full disk) tries once more and then gives up with its cause: its checkpoint
    /// has not moved, so the next start resumes from it and loses nothing.
    pub async fn shutdown(mut self) -> Result<Summary> {
        self.reading.cancel();
        for stream in &self.metrics.streams {
            stream.writer.stop_retrying();
        }
        while self.tasks.join_next().await.is_some() {}
        let sinks = std::mem::take(&mut self.sinks);
        let joined = tokio::task::spawn_blocking(move || {
            sinks
                .into_iter()
                .map(|(name, thread)| {
                    let result = thread
                        .join()
                        .unwrap_or_else(|_| Err(LakeError::WriterGone(name.to_string())));
                    (name, result)
                })
                .collect::<Vec<_>>()
        });
        let joined = tokio::time::timeout(self.shutdown_timeout, joined)
            .await
            .map_err(|_| IngestError::ShutdownTimeout(self.shutdown_timeout))?
            .expect("joining threads does not panic");
        self.http.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let mut streams = Vec::with_capacity(joined.len());
        for ((name, result), m) in joined.into_iter().zip(&self.metrics.streams) {
            let checkpoint = result.map_err(|e| IngestError::Stream {
                stream: name.to_string(),
                message: e.to_string(),
            })?;
            info!(stream = %name, seq = ?checkpoint.seq, "stream committed and closed");
            streams.push(StreamSummary {
                name,
                checkpoint,
                counts: m.counts(),
            });
        }
        Ok(Summary { streams })
    }
}
