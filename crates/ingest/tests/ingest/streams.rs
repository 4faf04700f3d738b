//! The ingest engine against the DSS emulator over real loopback sockets: dropped connections,
//! half-open connections, restarts and shutdown, checked by reading `seq` back from the Parquet
//! files of the lake.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dss_lake_ingest::{Config, ConnectionSettings, Ingest, StreamConfig, StreamKey};
use dss_lake_schema::{StreamName, Table};
use dss_lake_sim::{Faults, Rate, Sim, SimConfig};
use dss_lake_test_support::{http, lake};
use tokio::net::{TcpListener, TcpStream};

/// The injected clock stamps rows and ages batches.
mod clock;
/// A full disk during a live ingest: pause, report, resume.
mod disk_full;

const PATIENCE: Duration = Duration::from_secs(30);

fn sim_config(faults: Faults) -> SimConfig {
    SimConfig {
        rate: Rate::PerSecond(4000.0),
        heartbeat_interval: Duration::from_millis(100),
        replay_buffer: 100_000,
        stats_interval: None,
        faults,
        ..SimConfig::default()
    }
}

async fn start_sim(config: SimConfig) -> (Sim, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sim = Sim::new(config).unwrap();
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));
    (sim, addr)
}

/// An ingest config with one stream per subscription of `sim`, served at `addr`.
fn ingest_config(sim: &Sim, addr: SocketAddr, lake: &Path, tables: &[Table]) -> Config {
    let streams = sim
        .subscriptions()
        .into_iter()
        .filter(|s| tables.contains(&s.subscription_type))
        .map(|s| StreamConfig {
            name: StreamName::parse(s.subscription_type.dir_name()).unwrap(),
            url: format!("ws://{addr}/stream"),
            key: StreamKey::new(&s.stream_key).unwrap(),
        })
        .collect();
    Config {
        lake: lake.to_owned(),
        metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
        flush: dss_lake_lake::FlushPolicy {
            max_rows: 5_000,
            max_bytes: 64 << 20,
            max_age: Duration::from_millis(500),
        },
        commit_retry: dss_lake_lake::CommitRetry::default(),
        connection: ConnectionSettings {
            heartbeat_interval: Duration::from_millis(100),
            watchdog_heartbeats: 5,
            backoff_initial: Duration::from_millis(10),
            backoff_max: Duration::from_millis(200),
            connect_timeout: Duration::from_secs(2),
            max_message_size: 1 << 20,
        },
        shutdown_timeout: Duration::from_secs(10),
        clock: Arc::new(dss_lake_lake::SystemClock),
        streams,
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// The lake's event-table files, visible and hidden (in flight), by name.
fn event_files(lake: &Path) -> Vec<(String, PathBuf)> {
    Table::EVENTS
        .iter()
        .flat_map(|&table| lake::table_files(lake, table))
        .map(|file| (file.name, file.path))
        .collect()
}

/// Asserts that the lake holds, for each stream of `config`, exactly the seqs the emulator sent
/// on its key up to the stream's checkpoint, each once; that every stream committed something;
/// and that no failed attempt left a file behind.
///
/// The expected set comes from the emulator, not from the lake: a lake that lost its first
/// commits still looks contiguous from its own first seq.
fn assert_exactly_once(sim: &Sim, config: &Config) {
    let leftovers = lake::leftovers(&config.lake);
    assert!(
        leftovers.is_empty(),
        "a failed attempt's files stayed: {leftovers:?}"
    );
    let stats = sim.stats();
    let subscriptions = sim.subscriptions();
    let mut stored = dss_lake_test_support::delta::seqs_by_stream(&config.lake);
    for stream in &config.streams {
        let name = stream.name.as_str();
        let last = dss_lake_lake::Checkpoint::load(&config.lake, &stream.name)
            .unwrap()
            .seq
            .unwrap_or_else(|| panic!("{name}: nothing committed"));
        let id = subscriptions
            .iter()
            .find(|s| s.stream_key == stream.key.expose())
            .unwrap()
            .id;
        let sent = &stats
            .subscriptions
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .sent;
        let got = stored.remove(name).unwrap_or_default();
        assert!(
            !got.is_empty(),
            "{name}: a checkpoint at {last} but no rows"
        );
        // Seqs sent after the last commit were in flight when the daemon stopped reading.
        let expected = sent
            .iter()
            .flat_map(Clone::clone)
            .take_while(|&seq| seq <= last);
        lake::assert_exactly_once(name, &got, expected);
    }
    assert!(
        stored.is_empty(),
        "rows of streams never configured: {:?}",
        stored.keys()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_every_thousand_events_lose_and_double_nothing() {
    let (sim, addr) = start_sim(sim_config(Faults {
        close_every: 1000,
        ..Faults::default()
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let tables = [Table::Datapoint, Table::Connectivity];
    let config = ingest_config(&sim, addr, dir.path(), &tables);
    let running = Ingest::start(config.clone()).await.unwrap();
    let metrics = Arc::clone(running.metrics());
    wait_for("five reconnects and 6000 events", || {
        let s = &metrics.streams[0];
        s.reconnects.load(Ordering::Relaxed) >= 5 && s.last_seq().unwrap_or(0) > 6000
    })
    .await;
    assert!(sim.stats().fault_closes >= 5);
    let summary = running.shutdown().await.unwrap();
    assert_eq!(summary.streams.len(), tables.len());
    for s in &summary.streams {
        assert_eq!(s.counts.gaps, 0, "{}: upstream lost nothing", s.name);
    }
    assert_exactly_once(&sim, &config);
    sim.shutdown();
}

/// A TCP proxy whose connections can be frozen: bytes stop flowing both ways but the sockets
/// stay open, as with a half-open connection. New connections flow normally.
struct Proxy {
    addr: SocketAddr,
    /// Connections accepted so far (a connection's generation is its number, from 1).
    accepted: Arc<AtomicU64>,
    /// Connections of a generation below this are frozen.
    frozen_before: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen_before = Arc::new(AtomicU64::new(0));
        let frozen = Arc::clone(&frozen_before);
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let generation = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let server = TcpStream::connect(upstream).await.unwrap();
                tokio::spawn(pipe(client, server, generation, Arc::clone(&frozen)));
            }
        });
        Proxy {
            addr,
            accepted,
            frozen_before,
        }
    }

    /// Freezes every connection open now.
    fn freeze(&self) {
        let next = self.accepted.load(Ordering::SeqCst) + 1;
        self.frozen_before.store(next, Ordering::SeqCst);
    }
}

async fn pipe(client: TcpStream, server: TcpStream, generation: u64, frozen: Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let frozen2 = Arc::clone(&frozen);
    let hold = |frozen: Arc<AtomicU64>| async move {
        // Once frozen, never forward again, and keep the sockets open.
        if generation < frozen.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    };
    let up = async move {
        let mut buf = vec![0; 16 << 10];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            hold(Arc::clone(&frozen)).await;
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0; 16 << 10];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            hold(Arc::clone(&frozen2)).await;
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(up, down);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_is_dropped_by_the_watchdog_and_the_stream_resumes_without_loss() {
    // The emulator must not drop the frozen client itself for missed heartbeats first.
    let mut config = sim_config(Faults::default());
    config.max_missed_heartbeats = 1000;
    let (sim, sim_addr) = start_sim(config).await;
    let proxy = Proxy::start(sim_addr).await;
    let dir = tempfile::tempdir().unwrap();
    let config = ingest_config(&sim, proxy.addr, dir.path(), &[Table::Datapoint]);
    let running = Ingest::start(config.clone()).await.unwrap();
    let metrics = Arc::clone(running.metrics());
    let stream = Arc::clone(&metrics.streams[0]);
    wait_for("events", || stream.last_seq().unwrap_or(0) > 500).await;
    let frozen_at = stream.last_seq().unwrap();
    proxy.freeze();
    wait_for("the watchdog", || {
        stream.watchdog_timeouts.load(Ordering::Relaxed) >= 1
    })
    .await;
    wait_for("the stream to resume", || {
        stream.last_seq().unwrap_or(0) > frozen_at + 1000
    })
    .await;
    // The resumed connection replays its backlog in a burst that can end before the first
    // heartbeat is due (100 ms): wait for one instead of expecting it already.
    wait_for("a heartbeat on the resumed connection", || {
        stream.heartbeats.load(Ordering::Relaxed) > 0
    })
    .await;
    let summary = running.shutdown().await.unwrap();
    assert_eq!(summary.streams[0].counts.gaps, 0);
    assert_exactly_once(&sim, &config);
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_after_the_checkpoint_and_metrics_never_show_the_key() {
    let (sim, addr) = start_sim(sim_config(Faults::default())).await;
    let dir = tempfile::tempdir().unwrap();
    let config = ingest_config(&sim, addr, dir.path(), &[Table::Datapoint]);
    let key = config.streams[0].key.expose().to_owned();
    for round in 1..=3u64 {
        let running = Ingest::start(config.clone()).await.unwrap();
        let stream = Arc::clone(&running.metrics().streams[0]);
        wait_for("events", || stream.last_seq().unwrap_or(0) > round * 1500).await;
        let addr = running.metrics_addr().unwrap();
        let http::Response { status, body, .. } = http::get_async(addr, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("dss_lake_ingest_events_total{stream=\"datapoint\",type=\"datapoint\"}"),
            "{body}"
        );
        assert!(!body.contains(&key) && !body.contains(&key[..8]));
        let health = http::get_async(addr, "/health").await;
        assert!(
            health.status == 200 && health.body.contains("\"ok\""),
            "{health:?}"
        );
        // A second daemon on the same stream is refused while the first runs.
        assert!(Ingest::start(config.clone()).await.is_err());
        let summary = running.shutdown().await.unwrap();
        assert!(summary.streams[0].checkpoint.seq.unwrap() > round * 1500);
    }
    assert_exactly_once(&sim, &config);
    sim.shutdown();
}

/// Every metric the daemon exposes, by the name its samples carry and their label names, as they
/// were before `/metrics` moved to prometheus-client (the two Delta ones are new); dashboards and
/// alerts read these names, so none may change.
const METRICS: [(&str, &[&str]); 25] = [
    ("dss_lake_ingest_messages_total", &["stream"]),
    ("dss_lake_ingest_bytes_total", &["stream"]),
    ("dss_lake_ingest_heartbeats_total", &["stream"]),
    ("dss_lake_ingest_reconnects_total", &["stream"]),
    ("dss_lake_ingest_watchdog_timeouts_total", &["stream"]),
    ("dss_lake_ingest_connected", &["stream"]),
    ("dss_lake_ingest_duplicates_total", &["stream"]),
    ("dss_lake_ingest_gaps_total", &["stream"]),
    ("dss_lake_ingest_quarantined_total", &["stream"]),
    ("dss_lake_ingest_length_mismatches_total", &["stream"]),
    ("dss_lake_ingest_commits_total", &["stream"]),
    ("dss_lake_ingest_files_committed_total", &["stream"]),
    ("dss_lake_ingest_bytes_committed_total", &["stream"]),
    ("dss_lake_ingest_rows_committed_total", &["stream"]),
    ("dss_lake_ingest_commit_failures_total", &["stream"]),
    ("dss_lake_ingest_delta_publish_failures_total", &["stream"]),
    ("dss_lake_ingest_delta_unpublished_files", &["stream"]),
    ("dss_lake_ingest_flush_seconds_total", &["stream"]),
    ("dss_lake_ingest_last_flush_seconds", &["stream"]),
    ("dss_lake_ingest_socket_queue", &["stream"]),
    ("dss_lake_ingest_writer_queue", &["stream"]),
    ("dss_lake_ingest_last_seq", &["stream"]),
    ("dss_lake_ingest_last_event_age_seconds", &["stream"]),
    ("dss_lake_ingest_streams_retrying", &[]),
    ("dss_lake_ingest_events_total", &["stream", "type"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_over_http_keep_every_name_and_label() {
    let (sim, addr) = start_sim(sim_config(Faults::default())).await;
    let dir = tempfile::tempdir().unwrap();
    let config = ingest_config(&sim, addr, dir.path(), &[Table::Datapoint, Table::Location]);
    let running = Ingest::start(config).await.unwrap();
    let streams = running.metrics().streams.clone();
    wait_for("a commit on every stream", || {
        streams
            .iter()
            .all(|s| s.writer.commits.load(Ordering::Relaxed) > 0)
    })
    .await;
    let http::Response {
        status, body: text, ..
    } = http::get_async(running.metrics_addr().unwrap(), "/metrics").await;
    assert_eq!(status, 200, "{text}");
    http::assert_samples(&text, &METRICS);
    // Format 0.0.4: the family lines name a counter with its `_total`, as before.
    for line in [
        "# HELP dss_lake_ingest_messages_total Text messages read.\n",
        "# TYPE dss_lake_ingest_messages_total counter\n",
        "# TYPE dss_lake_ingest_last_seq gauge\n",
        "# TYPE dss_lake_ingest_events_total counter\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    // One sample per stream (and per event type for events_total).
    let lines = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(lines("dss_lake_ingest_commits_total{"), 2, "{text}");
    assert_eq!(
        lines("dss_lake_ingest_events_total{"),
        2 * Table::EVENTS.len(),
        "{text}"
    );
    assert!(
        text.contains("dss_lake_ingest_events_total{stream=\"location\",type=\"location\"} "),
        "{text}"
    );
    running.shutdown().await.unwrap();
    sim.shutdown();
}
