//! `dss-lake sim`: run the DSS emulator until Ctrl-C, printing its stream keys and token.
//!
//! The flags turn into a `dss_lake_sim::SimConfig`; every default shown in `--help` is that
//! config's `Default` (or `dss_lake_sim::DEFAULT_LISTEN`), never written here a second time.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use dss_lake_fleet::FleetConfig;
use dss_lake_sim::{Faults, Preset, Rate, Sim, SimConfig};
use dss_lake_units::HumanDuration;

use super::process;

/// The library's defaults, which every flag below shows as its own.
fn defaults() -> SimConfig {
    SimConfig::default()
}

/// Flags of `dss-lake sim`: a DSS-compatible emulator (REST subscriptions API and WebSocket
/// streams) fed by a simulated fleet of freezers, LED boards and gateways.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SimArgs {
    /// Address to serve the REST API, `/stream` and `/metrics` on.
    #[arg(long, env = "DSS_LAKE_SIM_LISTEN", default_value = dss_lake_sim::DEFAULT_LISTEN)]
    pub(crate) listen: SocketAddr,

    /// Seed of the fleet, the stream keys and the default auth token; the same seed gives the
    /// same events and keys.
    #[arg(long, env = "DSS_LAKE_SIM_SEED", default_value_t = defaults().fleet.seed)]
    seed: u64,

    /// Aggregate events per second over the whole fleet, or `max`: as fast as the fastest
    /// attached client reads, cycling through a pre-generated pool (see --max-pool).
    #[arg(long, env = "DSS_LAKE_SIM_RATE", default_value_t = defaults().rate)]
    rate: Rate,

    /// Time between heartbeats `1|Z`, in seconds (`30`, `0.2`) or with a unit (`200ms`, `1m`).
    #[arg(
        long,
        env = "DSS_LAKE_SIM_HEARTBEAT_SECS",
        default_value_t = HumanDuration(defaults().heartbeat_interval)
    )]
    heartbeat_secs: HumanDuration,

    /// Disconnect a client after this many heartbeats in a row without a `Z` answer.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_MAX_MISSED_HEARTBEATS",
        default_value_t = defaults().max_missed_heartbeats
    )]
    max_missed_heartbeats: u32,

    /// Events kept per subscription for replay (`seq_start`); older ones are forgotten.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_REPLAY_BUFFER",
        default_value_t = defaults().replay_buffer
    )]
    replay_buffer: usize,

    /// The seq of the first event of every subscription, as on a DSS that has been running
    /// for a while (a client resuming from an earlier run asks for its next seq).
    #[arg(long, env = "DSS_LAKE_SIM_FIRST_SEQ", default_value_t = defaults().first_seq)]
    first_seq: u64,

    /// Token required by the REST API as `Authorization: auth_token <token>` [default: derived
    /// from --seed, printed at start].
    #[arg(long, env = "DSS_LAKE_SIM_AUTH_TOKEN")]
    auth_token: Option<String>,

    /// TOML file of preset subscriptions: `[[subscription]]` tables with the REST fields
    /// (subscription_type, name, oem_model, dsn, property_name, …) and optionally stream_key
    /// [default: none].
    #[arg(long, env = "DSS_LAKE_SIM_CONFIG")]
    config: Option<PathBuf>,

    /// A preset subscription, repeatable: `TYPE[,field=value…]`, e.g.
    /// `datapoint,oem_model=walk-in-freezer,property_name=temp_c`. With neither this nor
    /// --config, there is one subscription per event type. In the environment variable,
    /// separate presets with `;`.
    #[arg(
        long = "subscription",
        env = "DSS_LAKE_SIM_SUBSCRIPTIONS",
        value_delimiter = ';'
    )]
    subscriptions: Vec<Preset>,

    /// Walk-in freezers in the fleet.
    #[arg(long, env = "DSS_LAKE_SIM_FREEZERS", default_value_t = defaults().fleet.freezers)]
    freezers: usize,

    /// LED boards in the fleet.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_LED_BOARDS",
        default_value_t = defaults().fleet.led_boards
    )]
    led_boards: usize,

    /// Gateways in the fleet.
    #[arg(long, env = "DSS_LAKE_SIM_GATEWAYS", default_value_t = defaults().fleet.gateways)]
    gateways: usize,

    /// `metadata.oem_id` of every event and `oem` of every subscription.
    #[arg(long, env = "DSS_LAKE_SIM_OEM_ID", default_value_t = defaults().fleet.oem_id)]
    oem_id: String,

    /// Virtual time of the first event, `now` or like `2026-11-24T00:00:00Z`; the clock then
    /// advances by 1/rate per event. (The library's default is a fixed time, for repeatable
    /// tests; a person running the emulator wants today.)
    #[arg(long, env = "DSS_LAKE_SIM_START_TIME", default_value = "now")]
    start_time: String,

    /// Events generated up front for --rate max (each is sent with a fresh seq).
    #[arg(long, env = "DSS_LAKE_SIM_MAX_POOL", default_value_t = defaults().max_pool)]
    max_pool: usize,

    /// Fault: drop each connection abruptly (no close frame) after this many events; 0 never.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_FAULT_CLOSE_EVERY",
        default_value_t = defaults().faults.close_every
    )]
    fault_close_every: u64,

    /// Fault: after this many events, send nothing more (no heartbeats either) on that
    /// connection but keep it open, like a half-open TCP connection; 0 never.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_FAULT_FREEZE_EVERY",
        default_value_t = defaults().faults.freeze_every
    )]
    fault_freeze_every: u64,

    /// Fault: never send heartbeats [default: off].
    #[arg(long, env = "DSS_LAKE_SIM_FAULT_NO_HEARTBEATS")]
    fault_no_heartbeats: bool,

    /// Fault: accept stream connections, then send nothing at all [default: off].
    #[arg(long, env = "DSS_LAKE_SIM_FAULT_STALL")]
    fault_stall: bool,

    /// Fault: this fraction (0 to 1) of event frames is malformed.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_FAULT_MALFORMED",
        default_value_t = defaults().faults.malformed_fraction
    )]
    fault_malformed: f64,

    /// Log a stats line this often (seconds, or `200ms`); 0 never.
    #[arg(
        long,
        env = "DSS_LAKE_SIM_STATS_SECS",
        default_value_t = HumanDuration(defaults().stats_interval.unwrap_or_default())
    )]
    stats_secs: HumanDuration,
}

impl SimArgs {
    /// Reads the presets file, if any, and builds the validated configuration.
    pub(crate) fn into_config(self) -> anyhow::Result<SimConfig> {
        let fleet = FleetConfig {
            seed: self.seed,
            freezers: self.freezers,
            led_boards: self.led_boards,
            gateways: self.gateways,
            oem_id: self.oem_id,
            start_time_micros: dss_lake_sim::parse_start_time("start-time", &self.start_time)?,
            mean_interval_micros: dss_lake_sim::mean_interval_micros(self.rate),
        };
        let mut presets = match &self.config {
            Some(path) => Preset::load(path)?,
            None => Vec::new(),
        };
        presets.extend(self.subscriptions);
        let config = SimConfig {
            fleet,
            rate: self.rate,
            heartbeat_interval: self.heartbeat_secs.get(),
            max_missed_heartbeats: self.max_missed_heartbeats,
            replay_buffer: self.replay_buffer,
            first_seq: self.first_seq,
            auth_token: self.auth_token,
            presets,
            faults: Faults {
                close_every: self.fault_close_every,
                freeze_every: self.fault_freeze_every,
                no_heartbeats: self.fault_no_heartbeats,
                stall: self.fault_stall,
                malformed_fraction: self.fault_malformed,
            },
            max_pool: self.max_pool,
            stats_interval: Some(self.stats_secs.get()).filter(|d| !d.is_zero()),
        };
        config.validate()?;
        Ok(config)
    }
}

pub(crate) fn run(args: SimArgs) -> anyhow::Result<()> {
    process::init_logging("info");
    let listen = args.listen;
    let sim = Sim::new(args.clone().into_config()?)?;
    // Two workers: one for the generator and sockets, one for a local client or benchmark.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dss-lake-sim")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        print_banner(&sim, &args, listener.local_addr()?)?;
        let shutdown = async {
            let _ = process::shutdown_signal().await;
        };
        sim.serve(listener, shutdown).await?;
        Ok(())
    })
}

/// What a user needs to connect: the addresses, the REST token and one stream key per
/// subscription (printed, never logged).
fn print_banner(sim: &Sim, args: &SimArgs, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "dss-lake sim: DSS emulator on {addr} (seed {}, rate {})",
        args.seed, args.rate
    )?;
    writeln!(out, "  REST:       http://{addr}/api/v1/subscriptions.json")?;
    writeln!(
        out,
        "  auth token: Authorization: auth_token {}",
        sim.auth_token()
    )?;
    writeln!(out, "  metrics:    http://{addr}/metrics")?;
    writeln!(out, "  subscriptions:")?;
    for s in sim.subscriptions() {
        writeln!(
            out,
            "    #{} {:<12} oem_model={} dsn={} property_name={}\n      ws://{addr}/stream?stream_key={}",
            s.id,
            s.subscription_type.dir_name(),
            s.oem_model,
            s.dsn,
            s.property_name,
            s.stream_key
        )?;
    }
    out.flush()
}

/// `--check`: the config validates and the emulator can be built; prints its subscriptions.
pub(crate) fn check(args: &SimArgs) -> anyhow::Result<()> {
    let sim = Sim::new(args.clone().into_config()?)?;
    println!(
        "ok: sim on {} with {} subscriptions",
        args.listen,
        sim.subscriptions().len()
    );
    for s in sim.subscriptions() {
        println!("  {} {}", s.subscription_type.dir_name(), s.stream_key);
    }
    Ok(())
}
