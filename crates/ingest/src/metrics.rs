//! Counters of every stream, served as Prometheus text at `/metrics`, and `/health`.
//!
//! Each stream's socket task and sink thread update plain atomics (relaxed: counters need no
//! ordering with other memory); the HTTP handler reads them through a prometheus-client
//! collector, whose encoder writes the text (format 0.0.4). Labels carry the stream name, never
//! the key. `/health` names each stream's state and, when it is not ok, the reason (a commit
//! waiting to be retried names the error and the file, e.g. a full disk).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use dss_lake_frame::Micros;
use dss_lake_lake::{Clock, SinkCounts, WriterStats};
use dss_lake_schema::{StreamName, Table};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

/// The live counters of one stream.
#[derive(Debug)]
pub struct StreamMetrics {
    pub stream: StreamName,
    /// Text messages read from the socket (events, heartbeats and malformed ones).
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
    pub heartbeats: AtomicU64,
    /// Connections that were lost (error, close, or the watchdog) and retried.
    pub reconnects: AtomicU64,
    /// Reconnects the watchdog caused.
    pub watchdog_timeouts: AtomicU64,
    pub connected: AtomicBool,
    /// Messages read but not yet decoded (the socket-to-sink channel).
    pub socket_queue: AtomicU64,
    /// Chunks waiting for the lake's writer.
    pub writer_queue: AtomicU64,
    /// `received_at` of the newest stored event, micros since the epoch (0: none yet).
    pub last_event_micros: AtomicI64,
    /// The highest `seq` pushed to the lake, plus one (0: none yet).
    pub last_seq_plus_one: AtomicU64,
    /// The sink's counters, copied by the sink thread on every tick.
    counts: [AtomicU64; 9],
    /// False once the stream's sink thread has stopped (after shutdown, or on a lake error).
    pub alive: AtomicBool,
    pub writer: Arc<WriterStats>,
}

impl StreamMetrics {
    pub fn new(stream: StreamName, writer: Arc<WriterStats>, last_seq: Option<u64>) -> Self {
        StreamMetrics {
            stream,
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            heartbeats: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            watchdog_timeouts: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            socket_queue: AtomicU64::new(0),
            writer_queue: AtomicU64::new(0),
            last_event_micros: AtomicI64::new(0),
            last_seq_plus_one: AtomicU64::new(last_seq.map_or(0, |s| s + 1)),
            counts: Default::default(),
            alive: AtomicBool::new(true),
            writer,
        }
    }

    /// The highest `seq` handed to the lake, for the next `seq_start`.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq_plus_one.load(Relaxed).checked_sub(1)
    }

    /// Copies the sink's counters (called by the one thread that owns the sink).
    pub fn store_counts(&self, c: &SinkCounts) {
        let values = [
            c.events[0],
            c.events[1],
            c.events[2],
            c.events[3],
            c.events[4],
            c.duplicates,
            c.quarantined,
            c.gaps,
            c.length_mismatches,
        ];
        for (slot, value) in self.counts.iter().zip(values) {
            slot.store(value, Relaxed);
        }
    }

    /// A snapshot of the sink's counters as last copied.
    pub fn counts(&self) -> SinkCounts {
        let v: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        SinkCounts {
            events: [v[0], v[1], v[2], v[3], v[4]],
            duplicates: v[5],
            quarantined: v[6],
            gaps: v[7],
            length_mismatches: v[8],
        }
    }
}

/// Every stream's counters; what `/metrics` and `/health` read.
#[derive(Debug)]
pub struct Metrics {
    pub streams: Vec<Arc<StreamMetrics>>,
    /// The daemon's clock, for the age of the newest event.
    clock: Arc<dyn Clock>,
}

impl Metrics {
    /// No streams yet; ages measured on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Metrics {
            streams: Vec::new(),
            clock,
        }
    }

    /// The Prometheus text exposition (version 0.0.4), encoded by prometheus-client.
    pub fn render(self: &Arc<Self>) -> String {
        let mut registry = Registry::with_prefix("dss_lake_ingest");
        registry.register_collector(Box::new(Collector(Arc::clone(self))));
        let mut out = String::with_capacity(8192);
        prometheus_text::encode(&mut out, &registry).expect("writing to a String does not fail");
        out
    }

    /// Healthy while every stream's sink runs and commits; connection state is reported, not
    /// judged (a stream reconnecting is the daemon doing its job). Status `degraded` while a
    /// stream retries a failed commit, `failing` once one has stopped; each such stream says
    /// why in `reason`.
    pub fn health(&self) -> (bool, String) {
        let streams: Vec<StreamHealth> = self
            .streams
            .iter()
            .map(|s| {
                let running = s.alive.load(Relaxed);
                let (state, reason) = match (running, s.writer.retrying()) {
                    (true, None) => ("ok", None),
                    (true, Some(reason)) => ("retrying", Some(reason)),
                    (false, _) => ("stopped", s.writer.failure().map(|e| e.to_string())),
                };
                StreamHealth {
                    stream: s.stream.as_str(),
                    running,
                    connected: s.connected.load(Relaxed),
                    state,
                    reason,
                }
            })
            .collect();
        let stopped = streams.iter().any(|s| s.state == "stopped");
        let retrying = streams.iter().any(|s| s.state == "retrying");
        let status = match (stopped, retrying) {
            (true, _) => "failing",
            (false, true) => "degraded",
            (false, false) => "ok",
        };
        let body = serde_json::to_string(&Health { streams, status })
            .expect("a struct of strings and bools always serializes");
        (status == "ok", body)
    }
}

/// The `/health` body: `{"streams":[...],"status":"ok"}`, fields in this order.
#[derive(Serialize)]
struct Health<'a> {
    streams: Vec<StreamHealth<'a>>,
    /// `ok`, `degraded` (a stream retries a commit) or `failing` (a stream's sink stopped).
    status: &'static str,
}

/// One stream's entry; `reason` is left out while the stream is ok.
#[derive(Serialize)]
struct StreamHealth<'a> {
    stream: &'a str,
    running: bool,
    connected: bool,
    /// `ok`, `retrying` or `stopped`.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn secs(micros: u64) -> f64 {
    micros as f64 / 1e6
}

/// Reads every stream's atomics at scrape time and hands them to prometheus-client's encoder.
/// A collector rather than registered `Counter`s: the values already live in atomics that the
/// socket task, the sink thread and the lake's writer update (some in another crate), so
/// copying them into a second set of counters would only add a place for them to disagree.
///
/// Names are given without `_total`: the encoder appends it to counters, so the exposed names
/// (`dss_lake_ingest_messages_total`) are the ones dashboards already use.
#[derive(Debug)]
struct Collector(Arc<Metrics>);

/// One value per stream.
type PerStream = fn(&StreamMetrics, Micros) -> Sample;

/// A sample's value, as the family's type wants it.
enum Sample {
    Count(u64),
    Seconds(f64),
    Level(i64),
}

const PER_STREAM: [(&str, MetricType, &str, PerStream); 23] = {
    use MetricType::{Counter, Gauge};
    use Sample::{Count, Level, Seconds};
    [
        ("messages", Counter, "Text messages read.", |s, _| {
            Count(s.messages.load(Relaxed))
        }),
        ("bytes", Counter, "Bytes of text messages read.", |s, _| {
            Count(s.bytes.load(Relaxed))
        }),
        (
            "heartbeats",
            Counter,
            "Heartbeats received and answered.",
            |s, _| Count(s.heartbeats.load(Relaxed)),
        ),
        (
            "reconnects",
            Counter,
            "Connections lost and retried.",
            |s, _| Count(s.reconnects.load(Relaxed)),
        ),
        (
            "watchdog_timeouts",
            Counter,
            "Connections dropped by the watchdog.",
            |s, _| Count(s.watchdog_timeouts.load(Relaxed)),
        ),
        (
            "connected",
            Gauge,
            "1 while the stream's socket is open.",
            |s, _| Level(i64::from(s.connected.load(Relaxed))),
        ),
        (
            "duplicates",
            Counter,
            "Events at or below the last seq, dropped.",
            |s, _| Count(s.counts().duplicates),
        ),
        (
            "gaps",
            Counter,
            "Jumps in seq recorded in the gaps table.",
            |s, _| Count(s.counts().gaps),
        ),
        (
            "quarantined",
            Counter,
            "Frames kept in quarantine.",
            |s, _| Count(s.counts().quarantined),
        ),
        (
            "length_mismatches",
            Counter,
            "Events whose LEN matched neither length.",
            |s, _| Count(s.counts().length_mismatches),
        ),
        (
            "commits",
            Counter,
            "Commits of the stream's writer.",
            |s, _| Count(s.writer.commits.load(Relaxed)),
        ),
        (
            "files_committed",
            Counter,
            "Parquet files committed.",
            |s, _| Count(s.writer.files.load(Relaxed)),
        ),
        (
            "bytes_committed",
            Counter,
            "Bytes of Parquet committed.",
            |s, _| Count(s.writer.file_bytes.load(Relaxed)),
        ),
        ("rows_committed", Counter, "Rows committed.", |s, _| {
            Count(s.writer.rows.load(Relaxed))
        }),
        (
            "commit_failures",
            Counter,
            "Commit attempts that failed (a full disk, a permission, an I/O error).",
            |s, _| Count(s.writer.commit_failures.load(Relaxed)),
        ),
        (
            "delta_publish_failures",
            Counter,
            "Failed attempts to publish committed files to a Delta log (each retried with the next commit).",
            |s, _| Count(s.writer.publish_failures.load(Relaxed)),
        ),
        (
            "delta_unpublished_files",
            Gauge,
            "Committed files that their table's Delta log does not name yet.",
            |s, _| Level(s.writer.unpublished_files.load(Relaxed) as i64),
        ),
        (
            "flush_seconds",
            Counter,
            "Time spent committing.",
            |s, _| Seconds(secs(s.writer.flush_micros_total.load(Relaxed))),
        ),
        (
            "last_flush_seconds",
            Gauge,
            "Duration of the last commit.",
            |s, _| Seconds(secs(s.writer.last_commit_micros.load(Relaxed))),
        ),
        (
            "socket_queue",
            Gauge,
            "Messages read, waiting to be decoded.",
            |s, _| Level(s.socket_queue.load(Relaxed) as i64),
        ),
        (
            "writer_queue",
            Gauge,
            "Row chunks waiting for the writer.",
            |s, _| Level(s.writer_queue.load(Relaxed) as i64),
        ),
        (
            "last_seq",
            Gauge,
            "Highest seq handed to the lake (-1: none).",
            |s, _| Level(s.last_seq().map_or(-1, |x| x as i64)),
        ),
        (
            "last_event_age_seconds",
            Gauge,
            "Seconds since the newest event arrived (-1: none).",
            |s, now| match s.last_event_micros.load(Relaxed) {
                0 => Seconds(-1.0),
                at => Seconds(secs(now.saturating_sub(at).max(0) as u64)),
            },
        ),
    ]
};

impl prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let metrics = &self.0;
        let now = metrics.clock.now();
        for (name, kind, help, value) in PER_STREAM {
            let mut family = encoder.encode_descriptor(name, help, None, kind)?;
            for s in &metrics.streams {
                let labels = [("stream", s.stream.as_str())];
                let sample = family.encode_family(&labels)?;
                match (kind, value(s, now)) {
                    (MetricType::Counter, Sample::Count(n)) => ConstCounter::new(n).encode(sample),
                    (MetricType::Counter, Sample::Seconds(x)) => {
                        ConstCounter::new(x).encode(sample)
                    }
                    (_, Sample::Count(n)) => ConstGauge::new(n as i64).encode(sample),
                    (_, Sample::Seconds(x)) => ConstGauge::new(x).encode(sample),
                    (_, Sample::Level(n)) => ConstGauge::new(n).encode(sample),
                }?;
            }
        }
        let retrying = metrics
            .streams
            .iter()
            .filter(|s| s.writer.retrying().is_some())
            .count();
        let family = encoder.encode_descriptor(
            "streams_retrying",
            "Streams whose writer waits to retry a failed commit (not reading their socket meanwhile).",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(retrying as i64).encode(family)?;
        let mut family = encoder.encode_descriptor(
            "events",
            "Events stored, by type.",
            None,
            MetricType::Counter,
        )?;
        for s in &metrics.streams {
            let counts = s.counts();
            for table in Table::EVENTS {
                let labels = [("stream", s.stream.as_str()), ("type", table.dir_name())];
                ConstCounter::new(counts.events_in(table))
                    .encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// `/metrics` and `/health`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    let for_health = Arc::clone(&metrics);
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                async move {
                    (
                        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
                        text,
                    )
                }
            }),
        )
        .route(
            "/health",
            get(move || {
                let (ok, body) = for_health.health();
                let status = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                async move {
                    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
                }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use dss_lake_lake::{CommitRetry, FlushPolicy, Lake};
    use std::time::{Duration, Instant};
    use tower::ServiceExt;

    async fn get(metrics: &Arc<Metrics>, path: &str) -> (StatusCode, String) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = router(Arc::clone(metrics)).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    /// The body's exact spelling (field order, `reason` left out while ok): the ingest tests,
    /// the demo and dashboards read it.
    #[test]
    fn health_of_an_ok_stream_is_spelled_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let name = StreamName::parse("s").unwrap();
        let writer = Lake::new(dir.path()).open_stream(&name).unwrap();
        let stream = Arc::new(StreamMetrics::new(name, Arc::clone(writer.stats()), None));
        stream.connected.store(true, Relaxed);
        let mut metrics = Metrics::new(Arc::new(dss_lake_lake::SystemClock));
        metrics.streams.push(stream);
        assert_eq!(
            metrics.health(),
            (
                true,
                r#"{"streams":[{"stream":"s","running":true,"connected":true,"state":"ok"}],"status":"ok"}"#
                    .to_owned()
            )
        );
        writer.close().unwrap();
    }

    #[tokio::test]
    async fn health_is_a_503_naming_why_a_stream_retries_and_ok_again_after() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path())
            .with_policy(FlushPolicy {
                max_rows: 1,
                ..FlushPolicy::default()
            })
            .with_commit_retry(CommitRetry {
                initial: Duration::from_millis(5),
                max: Duration::from_millis(20),
            });
        let name = StreamName::parse("s").unwrap();
        let mut writer = lake.open_stream(&name).unwrap();
        // Once the writer has made the quarantine table, a file takes its folder's place: its
        // commits fail on I/O until the folder is back.
        let blocker = dss_lake_schema::layout::table_dir(dir.path(), Table::Quarantine);
        let first_log_entry = dss_lake_schema::layout::delta_log_dir(dir.path(), Table::Quarantine)
            .join("00000000000000000000.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !first_log_entry.exists() {
            assert!(
                Instant::now() < deadline,
                "the quarantine table was not made"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let moved_aside = dir.path().join("quarantine-aside");
        std::fs::rename(&blocker, &moved_aside).unwrap();
        std::fs::write(&blocker, "").unwrap();
        let stream = Arc::new(StreamMetrics::new(name, Arc::clone(writer.stats()), None));
        let mut metrics = Metrics::new(Arc::new(dss_lake_lake::SystemClock));
        metrics.streams.push(Arc::clone(&stream));
        let metrics = Arc::new(metrics);
        writer
            .sink()
            .push_quarantine("raw", "kind", "message", 0, None)
            .unwrap();
        writer.sink().send_pending().unwrap();
        while stream.writer.retrying().is_none() {
            assert!(Instant::now() < deadline, "no retry");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        let (status, body) = get(&metrics, "/health").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["status"], "degraded", "{body}");
        assert_eq!(health["streams"][0]["state"], "retrying", "{body}");
        let reason = health["streams"][0]["reason"].as_str().unwrap();
        assert!(reason.contains(&blocker.display().to_string()), "{reason}");
        let (_, text) = get(&metrics, "/metrics").await;
        assert!(
            text.contains("dss_lake_ingest_streams_retrying 1"),
            "{text}"
        );
        assert!(!text.contains("dss_lake_ingest_commit_failures_total{stream=\"s\"} 0"));

        std::fs::remove_file(&blocker).unwrap();
        std::fs::rename(&moved_aside, &blocker).unwrap();
        while stream.writer.retrying().is_some() {
            assert!(Instant::now() < deadline, "still retrying");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (status, body) = get(&metrics, "/health").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("\"state\":\"ok\""), "{body}");
        assert_eq!(writer.close().unwrap().commits, 1);
    }
}
