//! Fault injection, each fault on its own emulator, over real loopback sockets.

use std::time::Duration;

use crate::common::{DssClient, Received, Running, config, seq};
use dss_lake_schema::Table;
use dss_lake_sim::{Faults, SimConfig};

fn with(faults: Faults) -> SimConfig {
    SimConfig { faults, ..config() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_every_drops_the_connection_without_a_close_frame_and_resume_loses_nothing() {
    let running = Running::start(with(Faults {
        close_every: 50,
        ..Faults::default()
    }))
    .await;
    let key = running.key(Table::Datapoint);
    let mut next = None;
    let mut first = None;
    for round in 0..3 {
        let extra = next.map(|n| format!("&seq_start={n}")).unwrap_or_default();
        let mut client = DssClient::connect(&running.url(&key, &extra))
            .await
            .unwrap();
        let mut seqs = Vec::new();
        let end = loop {
            match client.next().await {
                Received::Event { json, .. } => seqs.push(seq(&json)),
                other => break other,
            }
        };
        assert!(
            matches!(end, Received::Dropped(_)),
            "round {round}: {end:?}"
        );
        assert_eq!(seqs.len(), 50, "round {round}");
        if let Some(n) = next {
            assert_eq!(
                seqs[0], n,
                "resuming with seq_start continues where the drop was"
            );
        }
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
        first = first.or(Some(seqs[0]));
        next = Some(seqs[49] + 1);
    }
    running.wait_until(|s| s.fault_closes == 3).await;
    let id = running.id(Table::Datapoint);
    let stats = running.sim.stats();
    let sub = stats.subscriptions.iter().find(|s| s.id == id).unwrap();
    let (first, next) = (first.unwrap(), next.unwrap());
    assert_eq!(
        sub.sent,
        [first..=next - 1],
        "three connections, one record"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freeze_every_goes_silent_after_that_many_events_but_keeps_the_socket_open() {
    let config = SimConfig {
        heartbeat_interval: Duration::from_millis(30),
        faults: Faults {
            freeze_every: 40,
            ..Faults::default()
        },
        ..config()
    };
    let running = Running::start(config).await;
    let mut client = running.client(Table::Datapoint, "").await;
    let mut events = 0;
    while events < 40 {
        if let Received::Event { .. } = client.next().await {
            events += 1;
        }
    }
    let heartbeats = client.heartbeats;
    // Ten heartbeat intervals of silence, and the socket neither sends nor closes.
    let silence = tokio::time::timeout(Duration::from_millis(300), client.next()).await;
    assert!(
        silence.is_err(),
        "a frozen stream sends nothing: {silence:?}"
    );
    assert_eq!(client.heartbeats, heartbeats);
    let stats = running.sim.stats();
    assert_eq!((stats.clients, stats.fault_freezes), (1, 1));
    client.close().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_heartbeats_sends_events_but_never_a_heartbeat_and_never_drops_the_client() {
    let config = SimConfig {
        heartbeat_interval: Duration::from_millis(30),
        faults: Faults {
            no_heartbeats: true,
            ..Faults::default()
        },
        ..config()
    };
    let running = Running::start(config).await;
    let mut client = running.client(Table::Datapoint, "").await;
    client.answer_heartbeats = false;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    let mut events = 0;
    while let Ok(received) = tokio::time::timeout_at(deadline, client.next()).await {
        assert!(matches!(received, Received::Event { .. }), "{received:?}");
        events += 1;
    }
    assert!(events > 0);
    assert_eq!(client.heartbeats, 0);
    assert_eq!(running.sim.stats().heartbeats_sent, 0);
    client.close().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_accepts_the_connection_and_then_sends_nothing() {
    let running = Running::start(with(Faults {
        stall: true,
        ..Faults::default()
    }))
    .await;
    let mut client = running.client(Table::Datapoint, "").await;
    let silence = tokio::time::timeout(Duration::from_millis(500), client.next()).await;
    assert!(
        silence.is_err(),
        "a stalled stream sends nothing: {silence:?}"
    );
    assert_eq!(client.heartbeats, 0);
    let stats = running.sim.stats();
    assert_eq!(
        (stats.clients, stats.events_sent, stats.heartbeats_sent),
        (1, 0, 0)
    );
    assert!(stats.events_generated > 0, "the fleet runs on");
    client.close().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sends_the_configured_fraction_of_broken_frames() {
    let faults = Faults {
        malformed_fraction: 0.3,
        ..Faults::default()
    };
    let running = Running::start(with(faults)).await;
    running
        .wait_for_seq(running.id(Table::Datapoint), 601)
        .await;
    let mut client = running
        .client(Table::Datapoint, "&seq_start=1&seq_end=600")
        .await;
    let (mut good, mut broken) = (0, 0);
    loop {
        match client.next().await {
            Received::Event { .. } => good += 1,
            Received::Malformed(_) => broken += 1,
            Received::Closed(1000, _) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(good + broken, 600);
    // 30% of 600 is 180; the standard deviation is about 11.
    assert!((130..=230).contains(&broken), "{broken} broken frames");
    running.wait_until(|s| s.clients == 0).await;
    let stats = running.sim.stats();
    assert_eq!(
        stats.malformed_frames, broken,
        "every broken frame is counted, and only those"
    );
    running.stop().await;
}
