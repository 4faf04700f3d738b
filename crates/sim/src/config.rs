//! The emulator's validated configuration and the small value types its flags parse into.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use dss_lake_fleet::FleetConfig;
use dss_lake_schema::Table;
pub use dss_lake_units::Rate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SimError;
use crate::subscription::Patch;

/// Everything the emulator needs, checked by [`crate::Sim::new`]. Build it from
/// `SimConfig::default()` with a few fields changed: that `Default` is where every default of
/// the emulator is written (the `dss-lake sim` flags take theirs from it).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The simulated fleet (its seed also derives stream keys and the default auth token).
    pub fleet: FleetConfig,
    /// Aggregate events per second over the whole fleet, or as fast as clients read.
    pub rate: Rate,
    /// Time between heartbeats (`1|Z`).
    pub heartbeat_interval: Duration,
    /// A client that leaves this many heartbeats in a row unanswered is disconnected.
    pub max_missed_heartbeats: u32,
    /// Events kept per subscription for replay with `seq_start`.
    pub replay_buffer: usize,
    /// The seq of each subscription's first event (1 on a fresh DSS).
    pub first_seq: u64,
    /// The token REST calls must present as `Authorization: auth_token <token>`; `None` derives
    /// one from the seed.
    pub auth_token: Option<String>,
    /// Subscriptions that exist at start; empty means one per event type.
    pub presets: Vec<Preset>,
    /// Misbehaviour on purpose, to test clients.
    pub faults: Faults,
    /// At [`Rate::Max`], how many events are generated up front and then cycled through.
    pub max_pool: usize,
    /// How often a stats line is logged; `None` never.
    pub stats_interval: Option<Duration>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            fleet: FleetConfig::default(),
            rate: Rate::PerSecond(200.0),
            heartbeat_interval: Duration::from_secs(30),
            max_missed_heartbeats: 3,
            replay_buffer: 50_000,
            first_seq: 1,
            auth_token: None,
            presets: Vec::new(),
            faults: Faults::default(),
            max_pool: 32_768,
            stats_interval: Some(Duration::from_secs(10)),
        }
    }
}

impl SimConfig {
    /// Checks ranges; called by [`crate::Sim::new`].
    pub fn validate(&self) -> Result<(), SimError> {
        let f = &self.fleet;
        if f.freezers + f.led_boards + f.gateways == 0 {
            return Err(SimError::invalid("fleet", "needs at least one device"));
        }
        if self.heartbeat_interval.is_zero() {
            return Err(SimError::invalid(
                "heartbeat-secs",
                "must be more than zero",
            ));
        }
        if self.max_missed_heartbeats == 0 {
            return Err(SimError::invalid(
                "max-missed-heartbeats",
                "must be at least 1",
            ));
        }
        if self.first_seq == 0 {
            return Err(SimError::invalid("first-seq", "seqs start at 1"));
        }
        if self.replay_buffer == 0 {
            return Err(SimError::invalid(
                "replay-buffer",
                "must hold at least one event",
            ));
        }
        if self.rate == Rate::Max && self.max_pool == 0 {
            return Err(SimError::invalid(
                "max-pool",
                "must be at least 1 with --rate max",
            ));
        }
        if self
            .auth_token
            .as_deref()
            .is_some_and(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            return Err(SimError::invalid(
                "auth-token",
                "must be non-empty, without spaces",
            ));
        }
        let fraction = self.faults.malformed_fraction;
        if !(0.0..=1.0).contains(&fraction) {
            return Err(SimError::invalid(
                "fault-malformed",
                "must be a fraction from 0 to 1",
            ));
        }
        Ok(())
    }

    /// The presets to create: the configured ones, or one per event type.
    pub(crate) fn effective_presets(&self) -> Vec<Preset> {
        if self.presets.is_empty() {
            Table::EVENTS.into_iter().map(Preset::of_type).collect()
        } else {
            self.presets.clone()
        }
    }
}

/// Faults to inject into every stream connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Drop the TCP connection (no close frame) after this many events; 0 never.
    pub close_every: u64,
    /// After this many events, go silent (no events, no heartbeats) but keep the socket open:
    /// a half-open connection as a client sees it; 0 never.
    pub freeze_every: u64,
    /// Never send heartbeats (and so never disconnect for missed ones).
    pub no_heartbeats: bool,
    /// Accept the upgrade, then send nothing at all.
    pub stall: bool,
    /// This fraction of event frames is malformed (wrong LEN, truncated JSON, no `|`, bad LEN).
    pub malformed_fraction: f64,
}

/// The fleet clock's mean step between events at `rate`, so that event times keep pace with the
/// wall clock; at `max` the generator's default step.
pub fn mean_interval_micros(rate: Rate) -> i64 {
    match rate {
        Rate::PerSecond(r) => ((1e6 / r) as i64).max(1),
        Rate::Max => FleetConfig::default().mean_interval_micros,
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

/// The fleet's first event time from `now` (the wall clock) or a timestamp like
/// `2026-11-24T00:00:00Z`; `setting` names it in the error.
pub fn parse_start_time(setting: &str, text: &str) -> Result<i64, SimError> {
    match text.trim() {
        "now" => Ok(now_micros()),
        t => dss_lake_fleet::parse_timestamp(t).ok_or_else(|| {
            SimError::invalid(
                setting,
                format!("{t:?} is not `now` nor like 2026-11-24T00:00:00Z"),
            )
        }),
    }
}

/// A subscription that exists when the emulator starts.
///
/// From the command line: `TYPE[,field=value…]`, e.g.
/// `datapoint,name=Freezers,oem_model=walk-in-freezer,property_name=temp_c`; the fields are
/// those of the REST API plus `stream_key` (32 lowercase hex) to fix the key.
#[derive(Debug, Clone)]
pub struct Preset(pub(crate) Patch);

impl Preset {
    /// All events of one type, no filter.
    pub fn of_type(table: Table) -> Preset {
        Preset(Patch {
            subscription_type: Some(table),
            ..Patch::default()
        })
    }

    /// A preset from a subscription object (as in the REST API, plus `stream_key`). Unlike the
    /// REST API, which ignores fields it does not know, a preset refuses them: in a file or a
    /// flag they are typos.
    pub fn from_json(value: &Value) -> Result<Preset, String> {
        let fields = PresetFields::deserialize(value).map_err(|e| e.to_string())?;
        fields.into_preset()
    }

    /// The presets of a TOML config file: an array of `[[subscription]]` tables. An error names
    /// the path of the value (`subscription[0].subscription_type`).
    pub fn from_toml(text: &str) -> Result<Vec<Preset>, String> {
        let toml = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
        let file: PresetFile = serde_path_to_error::deserialize(toml)
            .map_err(|e| format!("{}: {}", e.path(), e.inner().message()))?;
        file.subscription
            .into_iter()
            .enumerate()
            .map(|(i, fields)| {
                fields
                    .into_preset()
                    .map_err(|e| format!("subscription[{i}]: {e}"))
            })
            .collect()
    }

    /// [`Preset::from_toml`] of the file at `path`.
    pub fn load(path: &Path) -> Result<Vec<Preset>, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ConfigFile {
            path: path.to_owned(),
            source,
        })?;
        Preset::from_toml(&text).map_err(|reason| SimError::ConfigParse {
            path: path.to_owned(),
            reason,
        })
    }
}

/// The preset file: `[[subscription]]` tables and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    #[serde(default)]
    subscription: Vec<PresetFields>,
}

/// The fields a preset may give: the REST API's settable ones plus `stream_key`. serde reads
/// them (refusing any other); the values are then checked by the REST API's own validation
/// ([`Patch::from_json`]), so a preset and a `POST` accept exactly the same values.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PresetFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oem_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dsn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    property_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_suspended: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_key: Option<String>,
}

impl PresetFields {
    fn into_preset(self) -> Result<Preset, String> {
        let value = serde_json::to_value(&self).map_err(|e| e.to_string())?;
        let patch =
            Patch::from_json(&value, true).map_err(|e| format!("{} {}", e.field, e.message))?;
        if patch.subscription_type.is_none() {
            return Err("subscription_type is required".to_owned());
        }
        Ok(Preset(patch))
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Preset, String> {
        let mut fields = Map::new();
        for (i, part) in s.split(',').map(str::trim).enumerate() {
            match part.split_once('=') {
                Some((k, v)) => {
                    fields.insert(k.trim().to_owned(), Value::String(v.trim().to_owned()))
                }
                None if i == 0 => fields.insert("subscription_type".to_owned(), part.into()),
                None => return Err(format!("{part:?} is not field=value")),
            };
        }
        if let Some(Value::String(b)) = fields.get("is_suspended") {
            let flag = b
                .parse::<bool>()
                .map_err(|_| "is_suspended must be true or false")?;
            fields.insert("is_suspended".to_owned(), Value::Bool(flag));
        }
        if let Some(Value::String(n)) = fields.get("batch_size") {
            let n = n
                .parse::<u64>()
                .map_err(|_| "batch_size must be an integer")?;
            fields.insert("batch_size".to_owned(), n.into());
        }
        Preset::from_json(&Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_clock_keeps_pace_with_the_rate() {
        assert_eq!(mean_interval_micros(Rate::PerSecond(200.0)), 5000);
        assert_eq!(mean_interval_micros(Rate::PerSecond(1e9)), 1);
        assert_eq!(
            mean_interval_micros(Rate::Max),
            FleetConfig::default().mean_interval_micros
        );
    }

    #[test]
    fn start_times_are_now_or_a_timestamp_and_an_error_names_the_setting() {
        let before = now_micros();
        assert!(parse_start_time("start-time", "now").unwrap() >= before);
        assert_eq!(
            parse_start_time("start-time", "2026-11-24T00:00:00Z").unwrap(),
            FleetConfig::default().start_time_micros
        );
        let err = parse_start_time("start-time", "yesterday")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("start-time") && err.contains("yesterday"),
            "{err}"
        );
    }

    #[test]
    fn a_preset_file_is_read_from_disk_and_a_bad_one_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.toml");
        let toml = "[[subscription]]\nsubscription_type = \"location\"\nname = \"Where\"\n";
        std::fs::write(&path, toml).unwrap();
        let presets = Preset::load(&path).unwrap();
        assert_eq!(presets[0].0.name.as_deref(), Some("Where"));
        std::fs::write(&path, format!("{toml}subscription_typo = \"datapoint\"\n")).unwrap();
        let err = Preset::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("invalid config file")
                && err.contains("sim.toml")
                && err.contains("subscription_typo"),
            "{err}"
        );
        let missing = Preset::load(Path::new("/nonexistent/sim.toml"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/sim.toml"), "{missing}");
    }

    #[test]
    fn presets_parse_from_flags_and_toml() {
        let p: Preset = "datapoint, oem_model=walk-in-freezer,property_name=temp_c"
            .parse()
            .unwrap();
        assert_eq!(p.0.subscription_type, Some(Table::Datapoint));
        assert_eq!(p.0.property_name.as_deref(), Some("temp_c"));
        let p: Preset = "subscription_type=location,is_suspended=true"
            .parse()
            .unwrap();
        assert_eq!(p.0.is_suspended, Some(true));
        assert!(
            "datapoints"
                .parse::<Preset>()
                .unwrap_err()
                .contains("subscription_type")
        );
        assert!("name=x".parse::<Preset>().unwrap_err().contains("required"));
        assert!(
            "datapoint,stream_key=nothex"
                .parse::<Preset>()
                .unwrap_err()
                .contains("stream_key")
        );

        let toml = r#"
            [[subscription]]
            subscription_type = "datapoint"
            name = "Freezers"
            oem_model = "walk-in-freezer"
            stream_key = "0123456789abcdef0123456789abcdef"

            [[subscription]]
            subscription_type = "connectivity"
        "#;
        let presets = Preset::from_toml(toml).unwrap();
        assert_eq!(presets.len(), 2);
        assert_eq!(presets[0].0.name.as_deref(), Some("Freezers"));
        assert!(presets[0].0.stream_key.is_some());
        let err = Preset::from_toml("[[subscription]]\nsubscription_type = 3").unwrap_err();
        assert!(
            err.contains("subscription[0].subscription_type") && err.contains("invalid type"),
            "{err}"
        );
        let err =
            Preset::from_toml("[[subscription]]\nsubscription_type = \"datapoints\"").unwrap_err();
        assert!(
            err.contains("subscription[0]") && err.contains("subscription_type must be one of"),
            "{err}"
        );
        assert!(
            Preset::from_toml("listen = 3")
                .unwrap_err()
                .contains("listen")
        );
        let typo = "[[subscription]]\nsubscription_type = \"location\"\ndns = \"*\"";
        assert!(
            Preset::from_toml(typo)
                .unwrap_err()
                .contains("unknown field `dns`")
        );
        assert!(
            "location,dns=x"
                .parse::<Preset>()
                .unwrap_err()
                .contains("`dns`")
        );
    }

    #[test]
    fn validation_names_the_setting() {
        let invalid = |c: SimConfig| match c.validate() {
            Err(SimError::InvalidConfig { setting, .. }) => setting,
            other => panic!("{other:?}"),
        };
        let base = SimConfig::default;
        assert!(base().validate().is_ok());
        let zero = SimConfig {
            heartbeat_interval: Duration::ZERO,
            ..base()
        };
        assert_eq!(invalid(zero), "heartbeat-secs");
        assert_eq!(
            invalid(SimConfig {
                replay_buffer: 0,
                ..base()
            }),
            "replay-buffer"
        );
        let faults = Faults {
            malformed_fraction: 1.5,
            ..Faults::default()
        };
        assert_eq!(invalid(SimConfig { faults, ..base() }), "fault-malformed");
        assert_eq!(
            invalid(SimConfig {
                auth_token: Some("a b".into()),
                ..base()
            }),
            "auth-token"
        );
    }
}
