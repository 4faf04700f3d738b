//! The daemon on a disk that fills up during a live ingest from the emulator: the stream does
//! not die, `/health` and `/metrics` say why it waits, the emulator drops the unread connection,
//! and once space is freed the daemon resumes by itself (reconnecting with `seq_start`) with
//! every event the emulator sent in the lake exactly once, without a restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use dss_lake_ingest::{Config, Ingest};
use dss_lake_lake::{Checkpoint, CommitRetry};
use dss_lake_schema::{StreamName, Table};
use dss_lake_sim::{Rate, Sim, SimConfig};

use dss_lake_test_support::http;
use dss_lake_test_support::tmpfs::Tmpfs;

use super::{PATIENCE, assert_exactly_once, ingest_config, start_sim, wait_for};

/// Like [`wait_for`], for a condition that needs an HTTP request.
async fn wait_for_http(addr: SocketAddr, path: &str, what: &str, done: impl Fn(u16, &str) -> bool) {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let response = http::get_async(addr, path).await;
            if done(response.status, &response.body) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// The emulator serving on loopback (its datapoint subscription's id) and a daemon config with
/// that one stream and its lake on `disk`.
async fn emulator_and_config(disk: &Tmpfs) -> (Sim, u64, Config) {
    // Slow enough that the replay buffer outlasts the pause many times over, and that the
    // emulator's socket buffers do not fill before it drops the client for unanswered
    // heartbeats (it cannot notice while its own send is blocked).
    let (sim, sim_addr) = start_sim(SimConfig {
        rate: Rate::PerSecond(500.0),
        heartbeat_interval: Duration::from_millis(100),
        max_missed_heartbeats: 3,
        replay_buffer: 100_000,
        stats_interval: None,
        ..SimConfig::default()
    })
    .await;
    let subscription = sim
        .subscriptions()
        .into_iter()
        .find(|s| s.subscription_type == Table::Datapoint)
        .unwrap();
    let mut config = ingest_config(
        &sim,
        sim_addr,
        &disk.path().join("lake"),
        &[Table::Datapoint],
    );
    config.flush.max_age = Duration::from_millis(300);
    config.commit_retry = CommitRetry {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(500),
    };
    (sim, subscription.id, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_the_stream_reports_why_and_resumes_without_loss_once_freed() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let (sim, subscription, config) = emulator_and_config(&disk).await;
    let lake = config.lake.clone();
    let running = Ingest::start(config.clone()).await.unwrap();
    let http = running.metrics_addr().unwrap();
    let stream = Arc::clone(&running.metrics().streams[0]);
    wait_for("two commits", || {
        stream.writer.commits.load(Ordering::Relaxed) >= 2
    })
    .await;

    let filler = disk.fill();
    let path = lake.display().to_string();
    wait_for_http(
        http,
        "/health",
        "/health to report the full disk",
        |status, body| {
            status != 200
                && body.contains("\"status\":\"degraded\"")
                && body.contains("\"state\":\"retrying\"")
                && body.contains("No space left on device")
                && body.contains(&path)
        },
    )
    .await;
    let http::Response {
        status,
        body: health,
        ..
    } = http::get_async(http, "/health").await;
    assert_eq!(status, 503, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    let reason = health["streams"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("No space left on device") && reason.contains(&path),
        "{reason}"
    );
    let metrics = http::get_async(http, "/metrics").await.body;
    assert!(
        metrics.contains("dss_lake_ingest_streams_retrying 1"),
        "{metrics}"
    );
    assert!(stream.writer.commit_failures.load(Ordering::Relaxed) > 0);
    // Backpressure reached the socket: nothing reads it, so the emulator gives up on us.
    wait_for("the emulator to drop the unread connection", || {
        sim.stats().heartbeat_timeouts >= 1
    })
    .await;
    let commits_while_full = stream.writer.commits.load(Ordering::Relaxed);

    std::fs::remove_file(&filler).unwrap();
    // Every event the emulator has produced so far: 1 ..= sent.
    let sent = sim
        .stats()
        .subscriptions
        .iter()
        .find(|s| s.id == subscription)
        .unwrap()
        .next_seq
        - 1;
    wait_for_http(http, "/health", "/health to recover", |status, body| {
        status == 200 && body.contains("\"status\":\"ok\"")
    })
    .await;
    let name = StreamName::parse("datapoint").unwrap();
    wait_for("every sent event to be committed", || {
        Checkpoint::load(&lake, &name)
            .ok()
            .and_then(|c| c.seq)
            .is_some_and(|seq| seq >= sent)
    })
    .await;
    assert!(stream.writer.commits.load(Ordering::Relaxed) > commits_while_full);
    assert!(stream.reconnects.load(Ordering::Relaxed) >= 1);
    let metrics = http::get_async(http, "/metrics").await.body;
    assert!(
        metrics.contains("dss_lake_ingest_streams_retrying 0"),
        "{metrics}"
    );

    let summary = running.shutdown().await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.replay_skipped, 0, "the replay buffer held");
    assert_eq!(
        summary.streams[0].counts.gaps, 0,
        "the resume asked for the next seq"
    );
    assert!(summary.streams[0].checkpoint.seq.unwrap() >= sent);
    assert_exactly_once(&sim, &config);
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_while_the_disk_is_full_names_the_cause_and_a_restart_loses_nothing() {
    let Some(disk) = Tmpfs::mount("4m") else {
        return;
    };
    let (sim, _, config) = emulator_and_config(&disk).await;
    let running = Ingest::start(config.clone()).await.unwrap();
    let stream = Arc::clone(&running.metrics().streams[0]);
    wait_for("a commit", || {
        stream.writer.commits.load(Ordering::Relaxed) >= 1
    })
    .await;
    let filler = disk.fill();
    wait_for("a retry", || stream.writer.retrying().is_some()).await;
    // The writer stops retrying instead of holding shutdown until its timeout.
    let message = running.shutdown().await.unwrap_err().to_string();
    assert!(message.contains("No space left on device"), "{message}");
    assert!(
        message.contains(&config.lake.display().to_string()),
        "{message}"
    );

    std::fs::remove_file(&filler).unwrap();
    let running = Ingest::start(config.clone()).await.unwrap();
    let stream = Arc::clone(&running.metrics().streams[0]);
    let resumed_from = stream.last_seq().unwrap();
    wait_for("the restart to go on", || {
        stream.last_seq().unwrap_or(0) > resumed_from + 500
    })
    .await;
    let summary = running.shutdown().await.unwrap();
    assert_eq!(summary.streams[0].counts.gaps, 0);
    assert_exactly_once(&sim, &config);
    sim.shutdown();
}
