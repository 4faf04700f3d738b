//! The stream endpoint over real loopback sockets, with a client written from Ayla's docs.

use std::time::Duration;

use crate::common::{DssClient, PATIENCE, Received, Running, config, event_type, seq};
use dss_lake_schema::Table;
use dss_lake_sim::{Rate, SimConfig};
use dss_lake_test_support::http;
use serde_json::json;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Error as WsError;

/// How long the main client test listens: 15 heartbeats at 100 ms.
const LISTEN: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_from_the_docs_gets_every_event_type_and_keeps_answering_heartbeats() {
    let running = Running::start(SimConfig {
        max_missed_heartbeats: 2,
        ..config()
    })
    .await;
    let mut clients = Vec::new();
    for table in Table::EVENTS {
        let mut client = running.client(table, "").await;
        clients.push(tokio::spawn(async move {
            let (mut events, mut last_seq) = (0u64, None);
            let deadline = tokio::time::Instant::now() + LISTEN;
            while let Ok(received) = tokio::time::timeout_at(deadline, client.next()).await {
                let Received::Event { len, payload, json } = received else {
                    panic!("{table}: the connection must stay up, got {received:?}");
                };
                assert_eq!(len, payload.len());
                assert_eq!(event_type(&json), table.dir_name());
                assert!(json.get(table.body_key().unwrap()).is_some(), "{payload}");
                let seq = seq(&json);
                assert!(
                    last_seq.is_none_or(|last| seq == last + 1),
                    "seq {seq} after {last_seq:?}"
                );
                last_seq = Some(seq);
                events += 1;
            }
            let heartbeats = client.heartbeats;
            client.close().await;
            (table, events, heartbeats)
        }));
    }
    let mut answered_by_clients = 0;
    for client in clients {
        let (table, events, heartbeats) = client.await.unwrap();
        assert!(events > 0, "{table}: no events");
        // 15 heartbeats are due; a loaded test machine may delay a few.
        assert!(heartbeats >= 10, "{table}: only {heartbeats} heartbeats");
        answered_by_clients += heartbeats;
    }
    running.wait_until(|s| s.clients == 0).await;
    let stats = running.sim.stats();
    assert_eq!(stats.heartbeats_answered, answered_by_clients, "{stats:?}");
    assert_eq!(stats.heartbeat_timeouts, 0);
    let http::Response {
        status,
        body: metrics,
        ..
    } = http::get_async(running.addr, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    let line = format!("\ndss_sim_heartbeats_answered_total {answered_by_clients}\n");
    assert!(metrics.contains(&line), "{metrics}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_is_dropped_after_the_missed_heartbeats() {
    let config = SimConfig {
        heartbeat_interval: Duration::from_millis(50),
        max_missed_heartbeats: 3,
        ..config()
    };
    let running = Running::start(config).await;
    let mut client = running.client(Table::Connectivity, "").await;
    client.answer_heartbeats = false;
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            match client.next().await {
                Received::Event { .. } => continue,
                other => return other,
            }
        }
    })
    .await
    .unwrap();
    assert!(
        matches!(&end, Received::Closed(1008, reason) if reason == "missed 3 heartbeats"),
        "{end:?}"
    );
    assert_eq!(client.heartbeats, 3);
    running
        .wait_until(|s| s.heartbeat_timeouts == 1 && s.clients == 0)
        .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_missing_keys_are_refused_before_the_upgrade_with_a_json_error() {
    let running = Running::start(config()).await;
    let refused = |url: String| async move {
        match connect_async(url).await {
            Err(WsError::Http(response)) => {
                let body = response.body().clone().unwrap_or_default();
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                (
                    response.status().as_u16(),
                    json["error"].as_str().unwrap().to_owned(),
                )
            }
            other => panic!("expected an HTTP refusal, got {other:?}"),
        }
    };
    let unknown = running.url("0123456789abcdef0123456789abcdef", "");
    assert_eq!(
        refused(unknown).await,
        (401, "unknown stream_key".to_owned())
    );
    let missing = format!("ws://{}/stream", running.addr);
    assert_eq!(refused(missing).await.0, 400);
    let key = running.key(Table::Datapoint);
    let backwards = running.url(&key, "&seq_start=10&seq_end=5");
    assert_eq!(refused(backwards).await.0, 400);
    let http::Response { status, body, .. } =
        http::get_async(running.addr, &format!("/stream?stream_key={key}")).await;
    assert!(
        (400..500).contains(&status),
        "a plain GET is no upgrade: {status}"
    );
    assert!(body.contains("WebSocket upgrade"), "{body}");
    running
        .wait_until(|s| s.refused_total == 4 && s.connections_total == 0)
        .await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_with_wildcards_select_the_events_of_a_new_subscription() {
    let running = Running::start(config()).await;
    let body = json!({"subscription": {
        "name": "Freezer temperatures", "subscription_type": "datapoint",
        "oem_model": "walk-in-*", "dsn": "AC000W*", "property_name": "temp*",
    }});
    let (status, created) = running
        .rest("POST", "/api/v1/subscriptions.json", Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["subscription"]["stream_key"].as_str().unwrap();
    let id = created["subscription"]["id"].as_u64().unwrap();
    let mut client = DssClient::connect(&running.url(key, "")).await.unwrap();
    let (_, shown) = running
        .rest("GET", &format!("/api/v1/subscriptions/{id}.json"), None)
        .await;
    assert_eq!(shown["subscription"]["connection_status"], "Online");
    for _ in 0..50 {
        let event = client.event().await;
        assert_eq!(event["metadata"]["oem_model"], "walk-in-freezer");
        assert_eq!(event["metadata"]["property_name"], "temp_c");
    }
    client.close().await;
    running.wait_until(|s| s.clients == 0).await;
    let (_, shown) = running
        .rest("GET", &format!("/api/v1/subscriptions/{id}.json"), None)
        .await;
    assert_eq!(shown["subscription"]["connection_status"], "Offline");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_subscription_pauses_delivery_and_resumes_without_a_gap() {
    let running = Running::start(config()).await;
    let id = running.id(Table::Datapoint);
    let path = format!("/api/v1/subscriptions/{id}.json");
    let mut client = running.client(Table::Datapoint, "").await;
    let before = seq(&client.event().await);
    let (status, _) = running
        .rest("PATCH", &path, Some(json!({"is_suspended": true})))
        .await;
    assert_eq!(status, 200);
    // Drain what was numbered before the suspension (a generator batch may have been under
    // way when it took effect), then expect only heartbeats.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let frozen = running.next_seq(id);
    let mut last = before;
    while last + 1 < frozen {
        last = seq(&client.event().await);
    }
    let quiet = tokio::time::timeout(Duration::from_millis(400), client.next()).await;
    assert!(quiet.is_err(), "no event while suspended: {quiet:?}");
    assert!(client.heartbeats >= 2, "heartbeats go on while suspended");
    running
        .rest("PATCH", &path, Some(json!({"is_suspended": false})))
        .await;
    assert_eq!(
        seq(&client.event().await),
        frozen,
        "the seq goes on where it stopped"
    );
    client.close().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_subscription_or_stopping_the_emulator_closes_its_streams() {
    let running = Running::start(config()).await;
    let mut location = running.client(Table::Location, "").await;
    let mut datapoints = running.client(Table::Datapoint, "").await;
    datapoints.event().await;
    let id = running.id(Table::Location);
    let (status, _) = running
        .rest("DELETE", &format!("/api/v1/subscriptions/{id}.json"), None)
        .await;
    assert_eq!(status, 200);
    let end = until_end(&mut location).await;
    assert!(
        matches!(&end, Received::Closed(1000, r) if r == "subscription deleted"),
        "{end:?}"
    );
    running.sim.shutdown();
    let end = until_end(&mut datapoints).await;
    assert!(matches!(&end, Received::Closed(1001, _)), "{end:?}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_rate_max_events_come_from_the_pool_with_consecutive_seqs() {
    let config = SimConfig {
        rate: Rate::Max,
        max_pool: 2000,
        ..config()
    };
    let running = Running::start(config).await;
    let mut client = running.client(Table::Datapoint, "").await;
    let first = seq(&client.event().await);
    for expected in first + 1..first + 20_000 {
        assert_eq!(seq(&client.event().await), expected);
    }
    client.close().await;
    running.stop().await;
}

async fn until_end(client: &mut DssClient) -> Received {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match client.next().await {
                Received::Event { .. } => continue,
                other => return other,
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_seq_numbers_every_subscription_from_there_and_replay_asks_in_those_terms() {
    let running = Running::start(SimConfig {
        first_seq: 1_000_000,
        ..config()
    })
    .await;
    let mut client = running.client(Table::Datapoint, "").await;
    let first = loop {
        if let Received::Event { json, .. } = client.next().await {
            break seq(&json);
        }
    };
    assert!(first >= 1_000_000, "{first}");
    client.close().await;
    let mut replay = running.client(Table::Datapoint, "&seq_start=1000000").await;
    let replayed = loop {
        if let Received::Event { json, .. } = replay.next().await {
            break seq(&json);
        }
    };
    assert_eq!(replayed, 1_000_000);
    replay.close().await;
    running.stop().await;
}

/// Every metric the emulator exposes, by the name its samples carry and their label names, as
/// they were before `/metrics` moved to prometheus-client; dashboards and the root tests read
/// these names, so none may change.
const METRICS: [(&str, &[&str]); 23] = [
    ("dss_sim_clients", &[]),
    ("dss_sim_connections_total", &[]),
    ("dss_sim_refused_total", &[]),
    ("dss_sim_events_generated_total", &[]),
    ("dss_sim_events_sent_total", &[]),
    ("dss_sim_bytes_sent_total", &[]),
    ("dss_sim_heartbeats_sent_total", &[]),
    ("dss_sim_heartbeats_answered_total", &[]),
    ("dss_sim_heartbeat_timeouts_total", &[]),
    ("dss_sim_unexpected_messages_total", &[]),
    ("dss_sim_replay_skipped_total", &[]),
    ("dss_sim_fault_closes_total", &[]),
    ("dss_sim_fault_freezes_total", &[]),
    ("dss_sim_malformed_frames_total", &[]),
    ("dss_sim_subscription_clients", &["subscription", "type"]),
    (
        "dss_sim_subscription_events_sent_total",
        &["subscription", "type"],
    ),
    (
        "dss_sim_subscription_heartbeats_sent_total",
        &["subscription", "type"],
    ),
    (
        "dss_sim_subscription_heartbeats_answered_total",
        &["subscription", "type"],
    ),
    ("dss_sim_subscription_next_seq", &["subscription", "type"]),
    (
        "dss_sim_subscription_buffered_events",
        &["subscription", "type"],
    ),
    (
        "dss_sim_subscription_sent_first_seq",
        &["subscription", "type"],
    ),
    (
        "dss_sim_subscription_sent_last_seq",
        &["subscription", "type"],
    ),
    (
        "dss_sim_subscription_sent_ranges",
        &["subscription", "type"],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scraped_over_http_keep_every_name_and_label() {
    let running = Running::start(config()).await;
    let mut client = running.client(Table::Datapoint, "").await;
    // One event sent, so the per-subscription seq samples exist.
    client.event().await;
    client.close().await;
    let http::Response {
        status,
        content_type,
        body: text,
    } = http::get_async(running.addr, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    http::assert_samples(&text, &METRICS);
    // Format 0.0.4: the family lines name a counter with its `_total`, as before.
    for line in [
        "# HELP dss_sim_events_sent_total Event frames sent.\n",
        "# TYPE dss_sim_events_sent_total counter\n",
        "# TYPE dss_sim_clients gauge\n",
        "# TYPE dss_sim_subscription_events_sent_total counter\n",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    running.stop().await;
}
