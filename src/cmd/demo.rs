//! `dss-lake demo`: the emulator, the ingest daemon and the SQL service in one process, with
//! defaults that need no configuration; what a newcomer runs first.
//!
//! The three parts talk to each other exactly as they do as separate processes: the daemon
//! connects to the emulator over a loopback WebSocket and the SQL service reads only the
//! committed Parquet files. Queries run on the engine's own runtime, so they never starve the
//! socket and heartbeat tasks on this one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use dss_lake_fleet::FleetConfig;
use dss_lake_http::ServerConfig;
use dss_lake_ingest::{Config, ConnectionSettings, Ingest, StreamConfig, StreamKey};
use dss_lake_lake::{Checkpoint, FlushPolicy};
use dss_lake_query::EngineConfig;
use dss_lake_schema::{StreamName, Table};
use dss_lake_sim::{Rate, Sim, SimConfig};
use dss_lake_units::HumanDuration;
use tokio_util::sync::CancellationToken;

use super::ingest::print_summary;
use super::process;

/// Flags of `dss-lake demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The lake's root folder (created if missing; a second run continues it).
    #[arg(long, env = "DSS_LAKE_DIR", default_value_os_t = Config::default().lake)]
    lake: PathBuf,
    /// Where the SQL service listens.
    #[arg(long, env = "DSS_LAKE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the emulator listens [default: a free loopback port].
    #[arg(long, env = "DSS_LAKE_SIM_LISTEN", default_value = "127.0.0.1:0")]
    sim_listen: SocketAddr,
    /// Where the daemon serves /metrics and /health [default: a free loopback port].
    #[arg(long, env = "DSS_LAKE_METRICS_ADDR", default_value = "127.0.0.1:0")]
    metrics_addr: SocketAddr,
    /// Events per second over the whole simulated fleet, or `max`.
    #[arg(long, env = "DSS_LAKE_SIM_RATE", default_value_t = SimConfig::default().rate)]
    rate: Rate,
    /// How long a received event may wait before it is committed and queryable: the ingest
    /// daemon's `flush.max_age`, shorter than its default so that a newcomer sees data at once.
    #[arg(
        long,
        alias = "flush-age",
        env = "DSS_LAKE_FLUSH_MAX_AGE",
        default_value = "2s"
    )]
    flush_max_age: HumanDuration,
}

/// Heartbeats every 5 s: frequent enough that a newcomer watching /metrics sees them answered.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<()> {
    process::init_logging("warn");
    std::fs::create_dir_all(&args.lake)
        .with_context(|| format!("creating the lake folder {}", args.lake.display()))?;
    let lake = args
        .lake
        .canonicalize()
        .with_context(|| format!("resolving {}", args.lake.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dss-lake-demo")
        .enable_all()
        .build()?;
    runtime.block_on(demo(args, lake))
}

async fn demo(args: DemoArgs, lake: PathBuf) -> anyhow::Result<()> {
    let stopping = CancellationToken::new();

    let sim = Sim::new(SimConfig {
        // Event times follow the wall clock, so "offline since" and "last hour" mean what they say.
        fleet: FleetConfig {
            start_time_micros: dss_lake_sim::now_micros(),
            mean_interval_micros: dss_lake_sim::mean_interval_micros(args.rate),
            ..FleetConfig::default()
        },
        rate: args.rate,
        heartbeat_interval: HEARTBEAT,
        first_seq: next_seq_of_lake(&lake)?,
        stats_interval: None,
        ..SimConfig::default()
    })?;
    let subscriptions = sim.subscriptions();
    let sim_listener = tokio::net::TcpListener::bind(args.sim_listen)
        .await
        .with_context(|| format!("the emulator cannot listen on {}", args.sim_listen))?;
    let sim_addr = sim_listener.local_addr()?;
    let sim_task = tokio::spawn(sim.serve(sim_listener, stopping.clone().cancelled_owned()));

    let mut streams = Vec::with_capacity(subscriptions.len());
    for s in &subscriptions {
        streams.push(StreamConfig {
            name: StreamName::parse(s.subscription_type.dir_name())?,
            url: format!("ws://{sim_addr}/stream"),
            key: StreamKey::new(&s.stream_key).map_err(anyhow::Error::msg)?,
        });
    }
    let ingest = Ingest::start(Config {
        lake: lake.clone(),
        metrics_addr: Some(args.metrics_addr),
        flush: FlushPolicy {
            max_age: args.flush_max_age.get(),
            ..FlushPolicy::default()
        },
        connection: ConnectionSettings {
            heartbeat_interval: HEARTBEAT,
            ..ConnectionSettings::default()
        },
        streams,
        ..Config::default()
    })
    .await
    .with_context(|| format!("starting ingest into {}", lake.display()))?;

    let engine = EngineConfig::new(&lake);
    let sql_listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("the SQL service cannot listen on {}", args.listen))?;
    let sql_addr = sql_listener.local_addr()?;
    let sql_task = tokio::spawn(dss_lake_http::serve(
        ServerConfig::new(engine),
        sql_listener,
        stopping.clone().cancelled_owned(),
    ));

    print_banner(&Banner {
        lake: &lake,
        sim: sim_addr,
        streams: subscriptions.len(),
        rate: args.rate,
        metrics: ingest.metrics_addr(),
        sql: sql_addr,
    });

    let signal = process::shutdown_signal().await?;
    eprintln!("{signal}: committing what was received, then stopping (again to exit at once)");
    process::exit_on_second_signal();
    // Ingest first: its sockets close and every received event is committed while the emulator
    // still answers; then the emulator and the SQL service stop together.
    let summary = ingest.shutdown().await?;
    stopping.cancel();
    sim_task.await??;
    sql_task.await??;
    print_summary(&summary);
    println!("lake: {}", lake.display());
    Ok(())
}

/// Where the emulator's seqs start: after the highest seq any stream of the lake has committed,
/// so a second run continues the streams instead of waiting for the new emulator to catch up.
fn next_seq_of_lake(lake: &Path) -> anyhow::Result<u64> {
    let mut highest = 0;
    for table in Table::EVENTS {
        let stream = StreamName::parse(table.dir_name())?;
        let checkpoint = Checkpoint::load(lake, &stream)?;
        highest = highest.max(checkpoint.seq.unwrap_or(0));
    }
    Ok(highest + 1)
}

struct Banner<'a> {
    lake: &'a Path,
    sim: SocketAddr,
    streams: usize,
    rate: Rate,
    metrics: Option<SocketAddr>,
    sql: SocketAddr,
}

/// The console's address first (what a newcomer opens), then what is running, where, and three
/// things to paste into another terminal.
fn print_banner(b: &Banner<'_>) {
    let sql = format!("http://{}/api/v1/sql", b.sql);
    let curl_sql = "SELECT dsn, property_name, value_json, value_time FROM twin_latest \
                    ORDER BY value_time DESC LIMIT 10";
    let pandas_sql = "SELECT dsn, status, since FROM device_status ORDER BY since DESC";
    let metrics = b
        .metrics
        .map_or_else(|| "off".to_owned(), |a| format!("http://{a}/metrics"));
    let lake = b.lake.display();
    println!(
        "dss-lake demo: a simulated Ayla fleet streaming into a Parquet lake you can query\n\
         \n  console   http://{addr}/  (open it in a browser: tables, SQL, charts, devices, live events)\n\
         \n  emulator  ws://{sim}/stream  ({streams} subscriptions, {rate} events/s; REST http://{sim}/api/v1/subscriptions.json)\
         \n  ingest    {streams} streams -> {lake}  (metrics {metrics})\
         \n  SQL       {sql}  (tables: http://{addr}/api/v1/tables, OpenAPI: http://{addr}/api/v1/openapi.json)\
         \n\nEvents are queryable within a few seconds. Try, in another terminal:\n\
         \n  curl -s '{sql}?format=csv&q={curl_q}'\n\
         \n  python3 -c \"import pandas as pd; print(pd.read_csv('{sql}?format=csv&q={pandas_q}'))\"\n\
         \n  duckdb -c \"SELECT property_name, count(*) AS events, avg(value_num) AS mean \
         FROM read_parquet('{lake}/datapoint/date=*/*.parquet', hive_partitioning = true) \
         GROUP BY ALL ORDER BY events DESC\"\n\
         \nCtrl-C stops it; everything received is committed first.",
        sim = b.sim,
        streams = b.streams,
        rate = b.rate,
        addr = b.sql,
        curl_q = url_encode(curl_sql),
        pandas_q = url_encode(pandas_sql),
    );
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
