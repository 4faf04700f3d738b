//! Replay with `seq_start` / `seq_end` over real loopback sockets.

use crate::common::{Received, Running, config, seq};
use dss_lake_schema::Table;
use dss_lake_sim::SimConfig;
use dss_lake_test_support::http;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_start_and_seq_end_replay_exactly_the_range_in_order() {
    let running = Running::start(config()).await;
    let id = running.id(Table::Datapoint);
    running.wait_for_seq(id, 400).await;
    let mut payloads = Vec::new();
    for _ in 0..2 {
        let mut client = running
            .client(Table::Datapoint, "&seq_start=100&seq_end=299")
            .await;
        let mut got = Vec::new();
        loop {
            match client.next().await {
                Received::Event { payload, json, .. } => got.push((seq(&json), payload)),
                Received::Closed(code, reason) => {
                    assert_eq!((code, reason.as_str()), (1000, "seq_end reached"));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (100..=299).collect::<Vec<_>>());
        payloads.push(got);
    }
    assert_eq!(
        payloads[0], payloads[1],
        "a replay sends the same bytes again"
    );
    let stats = running.sim.stats();
    let sub = stats.subscriptions.iter().find(|s| s.id == id).unwrap();
    assert_eq!(sub.sent, [100..=299], "sent twice, recorded once");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_publish_the_first_and_last_seq_sent_and_the_runs_between() {
    let running = Running::start(config()).await;
    let id = running.id(Table::Datapoint);
    running.wait_for_seq(id, 400).await;
    for range in ["&seq_start=100&seq_end=199", "&seq_start=300&seq_end=349"] {
        let mut client = running.client(Table::Datapoint, range).await;
        while let Received::Event { .. } = client.next().await {}
    }
    running.wait_until(|s| s.clients == 0).await;
    let http::Response {
        status,
        body: metrics,
        ..
    } = http::get_async(running.addr, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    let sample = |name: &str, table: Table| {
        let prefix = format!(
            "{name}{{subscription=\"{}\",type=\"{table}\"}} ",
            running.id(table)
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.parse::<u64>().unwrap())
    };
    let sent = |name| sample(name, Table::Datapoint);
    assert_eq!(
        sent("dss_sim_subscription_sent_first_seq"),
        Some(100),
        "{metrics}"
    );
    assert_eq!(
        sent("dss_sim_subscription_sent_last_seq"),
        Some(349),
        "{metrics}"
    );
    assert_eq!(
        sent("dss_sim_subscription_sent_ranges"),
        Some(2),
        "{metrics}"
    );
    // A subscription nobody read: no runs, and no first or last seq to claim.
    let unread = |name| sample(name, Table::Connectivity);
    assert_eq!(
        unread("dss_sim_subscription_sent_ranges"),
        Some(0),
        "{metrics}"
    );
    assert_eq!(
        unread("dss_sim_subscription_sent_first_seq"),
        None,
        "{metrics}"
    );
    assert_eq!(
        unread("dss_sim_subscription_sent_last_seq"),
        None,
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE dss_sim_subscription_sent_ranges gauge\n"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seq_start_older_than_the_buffer_starts_at_the_oldest_retained_event() {
    let running = Running::start(SimConfig {
        replay_buffer: 100,
        ..config()
    })
    .await;
    let id = running.id(Table::Datapoint);
    running.wait_for_seq(id, 300).await;
    // Freeze the buffer so its window is known exactly.
    let path = format!("/api/v1/subscriptions/{id}.json");
    running
        .rest(
            "PUT",
            &path,
            Some(json!({"subscription": {"is_suspended": true}})),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let stats = running.sim.stats();
    let sub = stats.subscriptions.iter().find(|s| s.id == id).unwrap();
    assert_eq!(sub.buffered, 100);
    let oldest = sub.next_seq - 100;
    let extra = format!("&seq_start=1&seq_end={}", sub.next_seq - 1);
    let mut client = running.client(Table::Datapoint, &extra).await;
    for expected in oldest..sub.next_seq {
        assert_eq!(seq(&client.event().await), expected);
    }
    assert!(matches!(client.next().await, Received::Closed(1000, _)));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_replays_the_same_events_and_a_live_client_starts_at_the_head() {
    let mut streams = Vec::new();
    for _ in 0..2 {
        let running = Running::start(config()).await;
        let id = running.id(Table::Registration);
        running.wait_for_seq(id, 21).await;
        let mut client = running
            .client(Table::Registration, "&seq_start=1&seq_end=20")
            .await;
        let mut payloads = Vec::new();
        while let Received::Event { payload, .. } = client.next().await {
            payloads.push(payload);
        }
        let head = running.next_seq(id);
        let mut live = running.client(Table::Registration, "").await;
        assert!(
            seq(&live.event().await) >= head,
            "a client without seq_start gets new events"
        );
        streams.push(payloads);
        running.stop().await;
    }
    assert_eq!(streams[0].len(), 20);
    assert_eq!(streams[0], streams[1]);
}
