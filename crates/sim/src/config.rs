//! The emulator's validated configuration and the small value types its flags parse into.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use dss_lake_fleet::FleetConfig;
use dss_lake_schema::Table;
use serde_json::{Map, Value};

use crate::SimError;
use crate::subscription::Patch;

/// Everything the emulator needs, checked by [`crate::Sim::new`]. Build it with
/// [`crate::SimArgs::into_config`] or from `SimConfig::default()` with a few fields changed.
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

/// `--rate`: events per second, or `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    /// As fast as the fastest attached client reads, from a pre-generated pool.
    Max,
}

impl Rate {
    /// The fleet clock's mean step between events, so that event times keep pace with the wall
    /// clock; at `max` the generator's default step.
    pub fn mean_interval_micros(self) -> i64 {
        match self {
            Rate::PerSecond(r) => ((1e6 / r) as i64).max(1),
            Rate::Max => FleetConfig::default().mean_interval_micros,
        }
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        match s.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate::PerSecond(r)),
            _ => Err(format!(
                "{s:?} is neither a positive number of events per second nor `max`"
            )),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::PerSecond(r) => write!(f, "{r}"),
            Rate::Max => f.write_str("max"),
        }
    }
}

/// A duration given in seconds (`30`, `0.2`, `0.2s`) or milliseconds (`200ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> Result<Seconds, String> {
        let t = s.trim();
        let (number, scale) = match (t.strip_suffix("ms"), t.strip_suffix('s')) {
            (Some(ms), _) => (ms, 1e-3),
            (None, Some(secs)) => (secs, 1.0),
            (None, None) => (t, 1.0),
        };
        match number.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(Seconds(Duration::from_secs_f64(n * scale))),
            _ => Err(format!("{s:?} is not a duration like 30, 0.2s or 200ms")),
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
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
        const FIELDS: [&str; 10] = [
            "name",
            "description",
            "subscription_type",
            "oem_model",
            "dsn",
            "property_name",
            "client_type",
            "is_suspended",
            "batch_size",
            "stream_key",
        ];
        let fields = value.as_object().into_iter().flat_map(|o| o.keys());
        if let Some(unknown) = fields.into_iter().find(|k| !FIELDS.contains(&k.as_str())) {
            let expected = FIELDS.join(", ");
            return Err(format!(
                "unknown field `{unknown}` (expected one of {expected})"
            ));
        }
        let patch =
            Patch::from_json(value, true).map_err(|e| format!("{} {}", e.field, e.message))?;
        if patch.subscription_type.is_none() {
            return Err("subscription_type is required".to_owned());
        }
        Ok(Preset(patch))
    }

    /// The presets of a TOML config file: an array of `[[subscription]]` tables.
    pub fn from_toml(text: &str) -> Result<Vec<Preset>, String> {
        let doc: Value = toml::from_str(text).map_err(|e| e.to_string())?;
        let Some(table) = doc.as_object() else {
            return Err("not a TOML table".to_owned());
        };
        if let Some(unknown) = table.keys().find(|k| *k != "subscription") {
            return Err(format!(
                "unknown key `{unknown}` (expected [[subscription]] tables)"
            ));
        }
        let Some(list) = table.get("subscription") else {
            return Ok(Vec::new());
        };
        let list = list
            .as_array()
            .ok_or("`subscription` must be an array of tables")?;
        list.iter()
            .enumerate()
            .map(|(i, v)| Preset::from_json(v).map_err(|e| format!("subscription #{}: {e}", i + 1)))
            .collect()
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
    fn rates_are_positive_numbers_or_max() {
        assert_eq!("max".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("250".parse::<Rate>(), Ok(Rate::PerSecond(250.0)));
        assert_eq!("0.5".parse::<Rate>(), Ok(Rate::PerSecond(0.5)));
        for bad in ["0", "-3", "fast", "inf", "NaN"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_accept_seconds_fractions_and_milliseconds() {
        let secs = |s: &str| s.parse::<Seconds>().map(|d| d.0);
        assert_eq!(secs("30"), Ok(Duration::from_secs(30)));
        assert_eq!(secs("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(secs("0.2s"), Ok(Duration::from_millis(200)));
        assert_eq!(secs("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(secs("0"), Ok(Duration::ZERO));
        assert!(secs("-1").is_err() && secs("soon").is_err() && secs("5m").is_err());
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
            err.contains("subscription #1") && err.contains("subscription_type"),
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
