//! Measures how many events per second (and MB/s) one loopback WebSocket client receives from
//! the emulator at `--rate max`: the emulator must never be the bottleneck of an ingest
//! benchmark, so the target is at least 500k events/s.
//!
//! The emulator runs in-process on its own runtime; the client, on its own thread, does what a
//! DSS client must at least do: split each text frame at its first `|`, answer heartbeats, and
//! count events and bytes. Run with `cargo bench -p dss-lake-sim --bench sim_throughput`
//! (optionally followed by `-- <seconds>`); it prints the figure, it asserts nothing.

use std::time::{Duration, Instant};

use dss_lake_schema::Table;
use dss_lake_sim::{Preset, Rate, Sim, SimConfig};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Time for TCP windows and the generator to reach their stride before counting.
const WARMUP: Duration = Duration::from_secs(1);
/// Default measuring time; the first numeric argument overrides it (seconds).
const MEASURE: Duration = Duration::from_secs(5);
/// The subscription under test: every datapoint, about 70% of the fleet's events.
const TABLE: Table = Table::Datapoint;

fn main() {
    let measure = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<f64>().ok())
        .map_or(MEASURE, Duration::from_secs_f64);
    let config = SimConfig {
        rate: Rate::Max,
        presets: vec![Preset::of_type(TABLE)],
        stats_interval: None,
        ..SimConfig::default()
    };
    let sim = Sim::new(config).expect("valid config");
    let key = sim.subscriptions()[0].stream_key.clone();

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sim-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let listener = server
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let serving = server.spawn(sim.clone().serve(listener, std::future::pending()));

    let url = format!("ws://{addr}/stream?stream_key={key}");
    let client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        runtime
            .expect("client runtime")
            .block_on(count_events(url, measure))
    });
    let (events, bytes, elapsed) = client.join().expect("client thread");
    sim.shutdown();
    server
        .block_on(serving)
        .expect("server task")
        .expect("server");

    let secs = elapsed.as_secs_f64();
    println!("sim_throughput: one loopback client, --rate max, subscription {TABLE}");
    println!(
        "  {events} events in {secs:.2} s = {:.0} events/s, {:.1} MB/s (mean frame {} B)",
        events as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes / events.max(1),
    );
}

/// Connects, warms up, then counts event frames and their bytes for `measure`.
async fn count_events(url: String, measure: Duration) -> (u64, u64, Duration) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let (mut events, mut bytes) = (0u64, 0u64);
    let mut started: Option<Instant> = None;
    let connected = Instant::now();
    while let Some(message) = ws.next().await {
        let Message::Text(text) = message.expect("stream error") else {
            continue;
        };
        let (_, payload) = text.as_str().split_once('|').expect("a DSS frame has a |");
        if payload == "Z" {
            ws.send(Message::text("Z")).await.expect("answer heartbeat");
            continue;
        }
        match started {
            None if connected.elapsed() >= WARMUP => started = Some(Instant::now()),
            None => continue,
            Some(t) if t.elapsed() >= measure => break,
            Some(_) => {}
        }
        events += 1;
        bytes += text.len() as u64;
    }
    let elapsed = started.map_or(Duration::ZERO, |t| t.elapsed());
    let _ = ws.close(None).await;
    (events, bytes, elapsed)
}
