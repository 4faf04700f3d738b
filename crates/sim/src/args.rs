//! The flags of `dss-lake sim`, parsed by clap and validated into a [`SimConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;

use dss_lake_fleet::FleetConfig;

use crate::SimError;
use crate::config::{Faults, Preset, Rate, Seconds, SimConfig};

/// Flags of `dss-lake sim`: a DSS-compatible emulator (REST subscriptions API and WebSocket
/// streams) fed by a simulated fleet of freezers, LED boards and gateways.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to serve the REST API, `/stream` and `/metrics` on.
    #[arg(long, env = "DSS_LAKE_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,

    /// Seed of the fleet, the stream keys and the default auth token; the same seed gives the
    /// same events and keys.
    #[arg(long, env = "DSS_LAKE_SIM_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Aggregate events per second over the whole fleet, or `max`: as fast as the fastest
    /// attached client reads, cycling through a pre-generated pool (see --max-pool).
    #[arg(long, env = "DSS_LAKE_SIM_RATE", default_value = "200")]
    pub rate: Rate,

    /// Time between heartbeats `1|Z`, in seconds (`30`, `0.2`) or milliseconds (`200ms`).
    #[arg(long, env = "DSS_LAKE_SIM_HEARTBEAT_SECS", default_value = "30")]
    pub heartbeat_secs: Seconds,

    /// Disconnect a client after this many heartbeats in a row without a `Z` answer.
    #[arg(long, env = "DSS_LAKE_SIM_MAX_MISSED_HEARTBEATS", default_value_t = 3)]
    pub max_missed_heartbeats: u32,

    /// Events kept per subscription for replay (`seq_start`); older ones are forgotten.
    #[arg(long, env = "DSS_LAKE_SIM_REPLAY_BUFFER", default_value_t = 50_000)]
    pub replay_buffer: usize,

    /// The seq of the first event of every subscription, as on a DSS that has been running
    /// for a while (a client resuming from an earlier run asks for its next seq).
    #[arg(long, env = "DSS_LAKE_SIM_FIRST_SEQ", default_value_t = 1)]
    pub first_seq: u64,

    /// Token required by the REST API as `Authorization: auth_token <token>` [default: derived
    /// from --seed, printed at start].
    #[arg(long, env = "DSS_LAKE_SIM_AUTH_TOKEN")]
    pub auth_token: Option<String>,

    /// TOML file of preset subscriptions: `[[subscription]]` tables with the REST fields
    /// (subscription_type, name, oem_model, dsn, property_name, …) and optionally stream_key
    /// [default: none].
    #[arg(long, env = "DSS_LAKE_SIM_CONFIG")]
    pub config: Option<PathBuf>,

    /// A preset subscription, repeatable: `TYPE[,field=value…]`, e.g.
    /// `datapoint,oem_model=walk-in-freezer,property_name=temp_c`. With neither this nor
    /// --config, there is one subscription per event type. In the environment variable,
    /// separate presets with `;`.
    #[arg(
        long = "subscription",
        env = "DSS_LAKE_SIM_SUBSCRIPTIONS",
        value_delimiter = ';'
    )]
    pub subscriptions: Vec<Preset>,

    /// Walk-in freezers in the fleet.
    #[arg(long, env = "DSS_LAKE_SIM_FREEZERS", default_value_t = 200)]
    pub freezers: usize,

    /// LED boards in the fleet.
    #[arg(long, env = "DSS_LAKE_SIM_LED_BOARDS", default_value_t = 50)]
    pub led_boards: usize,

    /// Gateways in the fleet.
    #[arg(long, env = "DSS_LAKE_SIM_GATEWAYS", default_value_t = 20)]
    pub gateways: usize,

    /// `metadata.oem_id` of every event and `oem` of every subscription.
    #[arg(long, env = "DSS_LAKE_SIM_OEM_ID", default_value = "1a2b3c4d")]
    pub oem_id: String,

    /// Virtual time of the first event, `now` or like `2026-11-24T00:00:00Z`; the clock then
    /// advances by 1/rate per event.
    #[arg(long, env = "DSS_LAKE_SIM_START_TIME", default_value = "now")]
    pub start_time: String,

    /// Events generated up front for --rate max (each is sent with a fresh seq).
    #[arg(long, env = "DSS_LAKE_SIM_MAX_POOL", default_value_t = 32_768)]
    pub max_pool: usize,

    /// Fault: drop each connection abruptly (no close frame) after this many events; 0 never.
    #[arg(long, env = "DSS_LAKE_SIM_FAULT_CLOSE_EVERY", default_value_t = 0)]
    pub fault_close_every: u64,

    /// Fault: after this many events, send nothing more (no heartbeats either) on that
    /// connection but keep it open, like a half-open TCP connection; 0 never.
    #[arg(long, env = "DSS_LAKE_SIM_FAULT_FREEZE_EVERY", default_value_t = 0)]
    pub fault_freeze_every: u64,

    /// Fault: never send heartbeats [default: off].
    #[arg(
        long,
        env = "DSS_LAKE_SIM_FAULT_NO_HEARTBEATS",
        default_value_t = false
    )]
    pub fault_no_heartbeats: bool,

    /// Fault: accept stream connections, then send nothing at all [default: off].
    #[arg(long, env = "DSS_LAKE_SIM_FAULT_STALL", default_value_t = false)]
    pub fault_stall: bool,

    /// Fault: this fraction (0 to 1) of event frames is malformed.
    #[arg(long, env = "DSS_LAKE_SIM_FAULT_MALFORMED", default_value_t = 0.0)]
    pub fault_malformed: f64,

    /// Log a stats line this often (seconds, or `200ms`); 0 never.
    #[arg(long, env = "DSS_LAKE_SIM_STATS_SECS", default_value = "10")]
    pub stats_secs: Seconds,
}

impl SimArgs {
    /// Reads the config file, if any, and builds the validated configuration.
    pub fn into_config(self) -> Result<SimConfig, SimError> {
        let start_time_micros = match self.start_time.as_str() {
            "now" => now_micros(),
            t => dss_lake_fleet::parse_timestamp(t).ok_or_else(|| {
                SimError::invalid(
                    "start-time",
                    format!("{t:?} is not `now` nor like 2026-11-24T00:00:00Z"),
                )
            })?,
        };
        let mean_interval_micros = self.rate.mean_interval_micros();
        let fleet = FleetConfig {
            seed: self.seed,
            freezers: self.freezers,
            led_boards: self.led_boards,
            gateways: self.gateways,
            oem_id: self.oem_id,
            start_time_micros,
            mean_interval_micros,
        };
        let mut presets = match &self.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SimError::ConfigFile {
                        path: path.clone(),
                        source,
                    })?;
                Preset::from_toml(&text).map_err(|reason| SimError::ConfigParse {
                    path: path.clone(),
                    reason,
                })?
            }
            None => Vec::new(),
        };
        presets.extend(self.subscriptions);
        let config = SimConfig {
            fleet,
            rate: self.rate,
            heartbeat_interval: self.heartbeat_secs.0,
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
            stats_interval: Some(self.stats_secs.0).filter(|d| !d.is_zero()),
        };
        config.validate()?;
        Ok(config)
    }
}

/// The wall clock in microseconds since the epoch, where a live fleet's clock starts.
pub fn now_micros() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since_epoch.as_micros() as i64
}

/// The wall clock as DSS writes timestamps, for subscriptions' `created_at`.
pub(crate) fn now_iso() -> String {
    let mut out = String::with_capacity(24);
    dss_lake_fleet::write_timestamp(now_micros(), false, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn parse(args: &[&str]) -> Result<SimConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("sim").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.sim.into_config().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_give_a_valid_config_with_one_subscription_per_type() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.rate, Rate::PerSecond(200.0));
        assert_eq!(config.fleet.mean_interval_micros, 5000);
        assert_eq!(config.effective_presets().len(), 5);
        assert_eq!(
            config.heartbeat_interval,
            std::time::Duration::from_secs(30)
        );
    }

    #[test]
    fn flags_reach_the_config() {
        let config = parse(&[
            "--rate=max",
            "--heartbeat-secs=200ms",
            "--subscription=datapoint,oem_model=led-board",
            "--subscription=location",
            "--fault-malformed=0.25",
            "--fault-stall",
            "--start-time=2026-11-24T00:00:00Z",
            "--stats-secs=0",
        ])
        .unwrap();
        assert_eq!(config.rate, Rate::Max);
        assert_eq!(
            config.heartbeat_interval,
            std::time::Duration::from_millis(200)
        );
        assert_eq!(config.presets.len(), 2);
        assert!(config.faults.stall && config.faults.malformed_fraction == 0.25);
        assert_eq!(
            config.fleet.start_time_micros,
            FleetConfig::default().start_time_micros
        );
        assert_eq!(config.stats_interval, None);
    }

    #[test]
    fn a_config_file_adds_presets_before_the_flags() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let toml = "[[subscription]]\nsubscription_type = \"location\"\nname = \"Where\"\n";
        std::io::Write::write_all(&mut file, toml.as_bytes()).unwrap();
        let path = file.path().to_str().unwrap().to_owned();
        let path = path.as_str();
        let config = parse(&["--config", path, "--subscription", "registration"]).unwrap();
        let names: Vec<_> = config.presets.iter().map(|p| p.0.name.clone()).collect();
        assert_eq!(names, [Some("Where".to_owned()), None]);
        std::io::Write::write_all(&mut file, b"subscription_typo = \"datapoint\"\n").unwrap();
        let err = parse(&["--config", path]).unwrap_err();
        assert!(
            err.contains("invalid config file") && err.contains("subscription_typo"),
            "{err}"
        );
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        assert!(parse(&["--rate=0"]).unwrap_err().contains("--rate"));
        assert!(
            parse(&["--fault-malformed=2"])
                .unwrap_err()
                .contains("fault-malformed")
        );
        assert!(
            parse(&["--start-time=yesterday"])
                .unwrap_err()
                .contains("start-time")
        );
        let missing = parse(&["--config=/nonexistent/sim.toml"]).unwrap_err();
        assert!(missing.contains("/nonexistent/sim.toml"), "{missing}");
    }
}
