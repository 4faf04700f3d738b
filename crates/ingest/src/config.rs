//! The daemon's configuration: a TOML file (or the DSS Collector's `config.json`), overridden by
//! flags, validated into a [`Config`] before anything connects.
//!
//! ```toml
//! lake = "/var/lib/dss-lake"
//! metrics_addr = "127.0.0.1:9464"     # or "off"
//! shutdown_timeout = "30s"
//!
//! [flush]
//! max_rows = 1000000
//! max_bytes = "64MiB"                 # or 67108864
//! max_age = "10s"                     # or 10 (seconds), "0.5s", "500ms", "1m"
//!
//! [commit_retry]                       # a commit that fails on I/O (a full disk) is retried
//! initial = "100ms"
//! max = "30s"
//!
//! [connection]
//! heartbeat_interval = "30s"           # what the server promises
//! watchdog_heartbeats = 3              # reconnect after this many intervals of silence
//! backoff_initial = "500ms"
//! backoff_max = "60s"
//! connect_timeout = "15s"
//! max_message_size = 16777216
//!
//! [[stream]]
//! name = "freezers"
//! url = "wss://stream.aylanetworks.com/stream"
//! key_env = "FREEZERS_KEY"             # or key = "…" (file must then be chmod 600), or key_file
//! ```
//!
//! The file is read by serde into structs that refuse unknown fields; sizes and durations are
//! the units crate's types, so every spelling works the same in the file and on the command
//! line. A value that is wrong names its path (`flush.max_bytes`, `stream[1].url`). Every
//! default is [`Config::default`]'s (and the lake's `FlushPolicy` and `CommitRetry` defaults).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dss_lake_lake::{Clock, CommitRetry, FlushPolicy, SystemClock};
use dss_lake_schema::{StreamKey, StreamName};
use dss_lake_units::{ByteSize, HumanDuration};
use serde::Deserialize;

use crate::error::{IngestError, Result};

/// Where metrics are served unless told otherwise (the Prometheus exporter port range).
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9464";

/// Everything the daemon needs, validated. [`Config::default`] holds every default (with no
/// streams, which a real config must add).
#[derive(Debug, Clone)]
pub struct Config {
    pub lake: PathBuf,
    /// `None`: no HTTP endpoint.
    pub metrics_addr: Option<SocketAddr>,
    pub flush: FlushPolicy,
    /// How a stream's writer retries a commit that failed on I/O (a full disk, a permission)
    /// while the stream keeps its rows and stops reading its socket.
    pub commit_retry: CommitRetry,
    pub connection: ConnectionSettings,
    /// How long shutdown may take to commit every stream before giving up.
    pub shutdown_timeout: Duration,
    pub streams: Vec<StreamConfig>,
    /// Where the daemon reads the time: each row's `received_at`, the flush policy's age and
    /// the metrics' event age. The system clock, but for tests that move time by hand
    /// (`dss_lake_lake::ManualClock`) instead of sleeping.
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lake: PathBuf::from("lake"),
            metrics_addr: Some(
                DEFAULT_METRICS_ADDR
                    .parse()
                    .expect("the default metrics address parses"),
            ),
            flush: FlushPolicy::default(),
            commit_retry: CommitRetry::default(),
            connection: ConnectionSettings::default(),
            shutdown_timeout: Duration::from_secs(30),
            streams: Vec::new(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// One DSS stream: the name rows are stored under, where to connect, and the secret key.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub name: StreamName,
    /// The base URL (`wss://host/stream`), without the key.
    pub url: String,
    pub key: StreamKey,
}

/// How every connection behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub heartbeat_interval: Duration,
    /// The watchdog reconnects after `watchdog_heartbeats x heartbeat_interval` without any
    /// message (a half-open connection delivers nothing and reports no error).
    pub watchdog_heartbeats: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub connect_timeout: Duration,
    /// Largest message (and frame) accepted; a bigger one drops the connection. DSS events are
    /// a few KB; a `message` datapoint can be long, hence 16 MiB rather than tungstenite's 64.
    pub max_message_size: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            heartbeat_interval: Duration::from_secs(30),
            watchdog_heartbeats: 3,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            max_message_size: 16 << 20,
        }
    }
}

impl ConnectionSettings {
    pub fn watchdog(&self) -> Duration {
        self.heartbeat_interval * self.watchdog_heartbeats
    }
}

/// Settings given on the command line, which win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub lake: Option<PathBuf>,
    /// An address, or `off`.
    pub metrics_addr: Option<String>,
    /// `flush.max_rows`.
    pub flush_max_rows: Option<usize>,
    /// `flush.max_bytes`.
    pub flush_max_bytes: Option<ByteSize>,
    /// `flush.max_age`.
    pub flush_max_age: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    lake: Option<PathBuf>,
    metrics_addr: Option<String>,
    shutdown_timeout: Option<HumanDuration>,
    #[serde(default)]
    flush: RawFlush,
    #[serde(default)]
    commit_retry: RawCommitRetry,
    #[serde(default)]
    connection: RawConnection,
    #[serde(default, rename = "stream", alias = "streams")]
    streams: Vec<RawStream>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlush {
    max_rows: Option<usize>,
    max_bytes: Option<ByteSize>,
    max_age: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommitRetry {
    initial: Option<HumanDuration>,
    max: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    heartbeat_interval: Option<HumanDuration>,
    watchdog_heartbeats: Option<u32>,
    backoff_initial: Option<HumanDuration>,
    backoff_max: Option<HumanDuration>,
    connect_timeout: Option<HumanDuration>,
    max_message_size: Option<ByteSize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    name: String,
    url: String,
    key: Option<String>,
    key_env: Option<String>,
    key_file: Option<PathBuf>,
}

/// One entry of the DSS Collector's `config.json`; its other fields are ignored.
#[derive(Debug, Deserialize)]
struct CollectorEntry {
    #[serde(default)]
    id: serde_json::Value,
    name: String,
    url: String,
    key: String,
}

/// Looks up an environment variable (`key_env`): `None` when it is unset or not UTF-8. Passed
/// in rather than read from the process, so that tests can give each call its own environment
/// instead of mutating the one every thread shares.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as [`Config::load`] reads it.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// Reads `path` (TOML, or the Collector's JSON array when it starts with `[`), applies the
    /// overrides and validates, taking `key_env` keys from the process environment. A file
    /// holding keys must be private to its owner.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Config> {
        Config::load_with_env(path, overrides, &process_env)
    }

    /// [`Config::load`] with `key_env` keys looked up in `env`.
    pub fn load_with_env(path: &Path, overrides: &Overrides, env: EnvLookup<'_>) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| IngestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path, overrides, env)
    }

    /// [`Config::load_with_env`] for text already read; `path` names the file in errors and is
    /// checked for permissions when the text holds keys.
    pub fn parse(
        text: &str,
        path: &Path,
        overrides: &Overrides,
        env: EnvLookup<'_>,
    ) -> Result<Config> {
        let parse_error = |message: String| IngestError::Parse {
            path: path.to_owned(),
            message,
        };
        // A value serde refuses is reported with its path (`flush.max_bytes`), which
        // serde_path_to_error tracks; a syntax error has no field and keeps toml's snippet.
        let field_error = |at: &serde_path_to_error::Path, reason: String| IngestError::Field {
            path: path.to_owned(),
            field: at.to_string(),
            reason,
        };
        let (raw, holds_keys) = if text.trim_start().starts_with('[') && !looks_like_toml(text) {
            let mut json = serde_json::Deserializer::from_str(text);
            let entries: Vec<CollectorEntry> = serde_path_to_error::deserialize(&mut json)
                .map_err(|e| field_error(e.path(), e.inner().to_string()))?;
            (from_collector(entries), true)
        } else {
            let toml = toml::Deserializer::parse(text).map_err(|e| parse_error(e.to_string()))?;
            let raw: RawConfig = serde_path_to_error::deserialize(toml)
                .map_err(|e| field_error(e.path(), e.inner().message().to_owned()))?;
            let inline = raw.streams.iter().any(|s| s.key.is_some());
            (raw, inline)
        };
        if holds_keys {
            check_private(path)?;
        }
        Validator { path, env }.config(raw, overrides)
    }
}

/// A TOML file may start with a `[table]` header; the Collector's file starts with `[{` or `[]`.
fn looks_like_toml(text: &str) -> bool {
    let rest = text.trim_start()[1..].trim_start();
    !(rest.starts_with('{') || rest.starts_with(']'))
}

fn from_collector(entries: Vec<CollectorEntry>) -> RawConfig {
    let streams = entries
        .into_iter()
        .map(|e| RawStream {
            name: collector_stream_name(&e.name, &e.id),
            url: strip_key_param(&e.url),
            key: Some(e.key),
            key_env: None,
            key_file: None,
        })
        .collect();
    RawConfig {
        streams,
        ..RawConfig::default()
    }
}

/// Collector names are free text ("Freezers EU"); a stream name is `[A-Za-z0-9_-]`, so other
/// characters become `-`.
fn collector_stream_name(name: &str, id: &serde_json::Value) -> String {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug.trim_start_matches(['-', '_']);
    if slug.is_empty() {
        let id = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        format!("stream-{id}")
    } else {
        slug.to_owned()
    }
}

/// The Collector's URLs may already carry `?stream_key=`; the key is added back by us.
fn strip_key_param(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("stream_key="))
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// Refuses a file that group or others can read.
fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(IngestError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

struct Validator<'a> {
    path: &'a Path,
    env: EnvLookup<'a>,
}

impl Validator<'_> {
    fn field(&self, field: impl Into<String>, reason: impl Into<String>) -> IngestError {
        IngestError::Field {
            path: self.path.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A duration that was given must be more than zero; one that was not is the default.
    fn duration(
        &self,
        field: &str,
        value: Option<HumanDuration>,
        default: Duration,
    ) -> Result<Duration> {
        positive(self, field, value.map(HumanDuration::get), default)
    }

    fn size(&self, field: &str, value: Option<ByteSize>, default: usize) -> Result<usize> {
        positive(self, field, value.map(ByteSize::as_usize), default)
    }

    fn config(&self, raw: RawConfig, overrides: &Overrides) -> Result<Config> {
        let defaults = Config::default();
        let f = defaults.flush;
        let flush = FlushPolicy {
            max_rows: positive(
                self,
                "flush.max_rows",
                overrides.flush_max_rows.or(raw.flush.max_rows),
                f.max_rows,
            )?,
            max_bytes: self.size(
                "flush.max_bytes",
                overrides.flush_max_bytes.or(raw.flush.max_bytes),
                f.max_bytes,
            )?,
            max_age: self.duration(
                "flush.max_age",
                overrides.flush_max_age.or(raw.flush.max_age),
                f.max_age,
            )?,
        };
        let r = defaults.commit_retry;
        let commit_retry = CommitRetry {
            initial: self.duration("commit_retry.initial", raw.commit_retry.initial, r.initial)?,
            max: self.duration("commit_retry.max", raw.commit_retry.max, r.max)?,
        };
        if commit_retry.max < commit_retry.initial {
            return Err(self.field("commit_retry.max", "must be at least commit_retry.initial"));
        }
        let c = raw.connection;
        let d = defaults.connection;
        let connection = ConnectionSettings {
            heartbeat_interval: self.duration(
                "connection.heartbeat_interval",
                c.heartbeat_interval,
                d.heartbeat_interval,
            )?,
            watchdog_heartbeats: positive(
                self,
                "connection.watchdog_heartbeats",
                c.watchdog_heartbeats,
                d.watchdog_heartbeats,
            )?,
            backoff_initial: self.duration(
                "connection.backoff_initial",
                c.backoff_initial,
                d.backoff_initial,
            )?,
            backoff_max: self.duration("connection.backoff_max", c.backoff_max, d.backoff_max)?,
            connect_timeout: self.duration(
                "connection.connect_timeout",
                c.connect_timeout,
                d.connect_timeout,
            )?,
            max_message_size: self.size(
                "connection.max_message_size",
                c.max_message_size,
                d.max_message_size,
            )?,
        };
        if connection.backoff_max < connection.backoff_initial {
            return Err(self.field(
                "connection.backoff_max",
                "must be at least connection.backoff_initial",
            ));
        }
        let metrics_addr = match overrides.metrics_addr.clone().or(raw.metrics_addr) {
            None => defaults.metrics_addr,
            Some(text) => match text.trim() {
                "off" | "none" | "" => None,
                addr => Some(addr.parse().map_err(|_| {
                    self.field(
                        "metrics_addr",
                        format!("{addr:?} is not like 127.0.0.1:9464 or off"),
                    )
                })?),
            },
        };
        if raw.streams.is_empty() {
            return Err(self.field("stream", "is missing: configure at least one [[stream]]"));
        }
        let mut streams: Vec<StreamConfig> = Vec::with_capacity(raw.streams.len());
        for (i, s) in raw.streams.into_iter().enumerate() {
            let stream = self.stream(i, s)?;
            if streams.iter().any(|other| other.name == stream.name) {
                return Err(self.field(
                    format!("stream[{i}].name"),
                    format!("{:?} is used by two streams", stream.name.as_str()),
                ));
            }
            streams.push(stream);
        }
        Ok(Config {
            lake: overrides.lake.clone().or(raw.lake).unwrap_or(defaults.lake),
            metrics_addr,
            flush,
            commit_retry,
            connection,
            shutdown_timeout: self.duration(
                "shutdown_timeout",
                raw.shutdown_timeout,
                defaults.shutdown_timeout,
            )?,
            streams,
            clock: defaults.clock,
        })
    }

    fn stream(&self, i: usize, s: RawStream) -> Result<StreamConfig> {
        let at = |f: &str| format!("stream[{i}].{f}");
        let name = StreamName::parse(&s.name).map_err(|e| self.field(at("name"), e.to_string()))?;
        let url = s.url.trim().to_owned();
        let rest = url
            .strip_prefix("wss://")
            .or_else(|| url.strip_prefix("ws://"))
            .ok_or_else(|| {
                self.field(at("url"), "must start with wss:// (or ws:// for local use)")
            })?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(self.field(at("url"), "has no host"));
        }
        if url.contains("stream_key=") {
            return Err(self.field(
                at("url"),
                "must not hold the key: give it as key, key_env or key_file",
            ));
        }
        let given = [s.key.is_some(), s.key_env.is_some(), s.key_file.is_some()];
        if given.iter().filter(|&&g| g).count() != 1 {
            return Err(self.field(at("key"), "give exactly one of key, key_env and key_file"));
        }
        let (field, text) = if let Some(key) = s.key {
            ("key", key)
        } else if let Some(var) = s.key_env {
            let text = (self.env)(&var).ok_or_else(|| {
                self.field(at("key_env"), format!("names {var}, which is not set"))
            })?;
            ("key_env", text)
        } else {
            let file = s.key_file.expect("one of the three is given");
            check_private(&file)?;
            let text = std::fs::read_to_string(&file).map_err(|source| IngestError::Read {
                path: file.clone(),
                source,
            })?;
            ("key_file", text)
        };
        let key = StreamKey::new(&text).map_err(|reason| self.field(at(field), reason))?;
        Ok(StreamConfig { name, url, key })
    }
}

fn positive<T: Default + PartialEq + Copy>(
    v: &Validator<'_>,
    field: &str,
    value: Option<T>,
    default: T,
) -> Result<T> {
    match value {
        Some(x) if x == T::default() => Err(v.field(field, "must be more than zero")),
        Some(x) => Ok(x),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests;
