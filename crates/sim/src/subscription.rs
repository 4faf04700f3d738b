//! Subscriptions: what a stream delivers (event type and filters), their REST shape, and the
//! validation shared by the REST API, `--subscription` flags and the config file.

use std::sync::{Mutex, MutexGuard};

use dss_lake_fleet::GeneratedEvent;
use dss_lake_schema::{StreamKey, Table};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::metrics::SubCounters;
use crate::ring::Ring;

/// `client_type` of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientType {
    Cloud,
    UserOptIn,
}

impl ClientType {
    const fn as_str(self) -> &'static str {
        match self {
            ClientType::Cloud => "cloud",
            ClientType::UserOptIn => "user_opt_in",
        }
    }
}

/// `*` matches any run of characters (also none); everything else matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// What the generator needs to know to route an event: a snapshot of a subscription's filter.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub(crate) table: Table,
    pub(crate) oem_model: String,
    pub(crate) dsn: String,
    pub(crate) property_name: String,
    pub(crate) suspended: bool,
}

impl Filter {
    pub(crate) fn matches(&self, event: &GeneratedEvent) -> bool {
        event.table == self.table
            && glob_match(&self.oem_model, &event.oem_model)
            && glob_match(&self.dsn, &event.dsn)
            && event
                .property_name
                .as_deref()
                .is_none_or(|p| glob_match(&self.property_name, p))
    }
}

/// A field a client got wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The settable fields of a subscription, each `None` when not given (or `null`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Patch {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) subscription_type: Option<Table>,
    pub(crate) oem_model: Option<String>,
    pub(crate) dsn: Option<String>,
    pub(crate) property_name: Option<String>,
    pub(crate) client_type: Option<ClientType>,
    pub(crate) is_suspended: Option<bool>,
    pub(crate) batch_size: Option<u32>,
    pub(crate) stream_key: Option<StreamKey>,
}

impl Patch {
    /// Reads and checks the fields of a subscription object. Fields the server fills (`id`,
    /// `connection_status`, timestamps, …) and unknown fields are ignored, so a client can send
    /// back what it read; `stream_key` is accepted only where `allow_stream_key` (presets).
    pub(crate) fn from_json(value: &Value, allow_stream_key: bool) -> Result<Patch, FieldError> {
        let Some(obj) = value.as_object() else {
            return Err(field_error("subscription", "must be a JSON object"));
        };
        let mut patch = Patch {
            name: text(obj, "name", 255)?,
            description: text(obj, "description", 1024)?,
            oem_model: pattern(obj, "oem_model")?,
            dsn: pattern(obj, "dsn")?,
            property_name: pattern(obj, "property_name")?,
            ..Patch::default()
        };
        if patch.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(field_error("name", "can't be blank"));
        }
        if let Some(t) = text(obj, "subscription_type", 64)? {
            let table = Table::from_event_type(&t).ok_or_else(|| {
                field_error(
                    "subscription_type",
                    "must be one of connectivity, datapoint, datapointack, location, registration",
                )
            })?;
            patch.subscription_type = Some(table);
        }
        if let Some(c) = text(obj, "client_type", 64)? {
            patch.client_type = Some(match c.as_str() {
                "cloud" => ClientType::Cloud,
                "user_opt_in" => ClientType::UserOptIn,
                _ => return Err(field_error("client_type", "must be cloud or user_opt_in")),
            });
        }
        patch.is_suspended = match present(obj, "is_suspended") {
            None => None,
            Some(v) => Some(
                v.as_bool()
                    .ok_or_else(|| field_error("is_suspended", "must be a boolean"))?,
            ),
        };
        patch.batch_size = match present(obj, "batch_size") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=1000) => Some(n as u32),
                _ => {
                    return Err(field_error(
                        "batch_size",
                        "must be an integer from 1 to 1000",
                    ));
                }
            },
        };
        if allow_stream_key && let Some(k) = text(obj, "stream_key", 64)? {
            let key = StreamKey::parse_dss(&k)
                .ok_or_else(|| field_error("stream_key", "must be 32 lowercase hex characters"))?;
            patch.stream_key = Some(key);
        }
        Ok(patch)
    }
}

fn present<'a>(obj: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    obj.get(field).filter(|v| !v.is_null())
}

fn text(obj: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>, FieldError> {
    let Some(v) = present(obj, field) else {
        return Ok(None);
    };
    let s = v
        .as_str()
        .ok_or_else(|| field_error(field, "must be a string"))?;
    if s.chars().count() > max {
        return Err(field_error(
            field,
            format!("is too long (maximum is {max} characters)"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(field_error(field, "must not contain control characters"));
    }
    Ok(Some(s.to_owned()))
}

/// A filter value: a non-empty string where `*` is the wildcard.
fn pattern(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, FieldError> {
    let value = text(obj, field, 255)?;
    if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
        return Err(field_error(
            field,
            "can't be blank (use * to match everything)",
        ));
    }
    Ok(value)
}

/// The mutable part of a subscription.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) oem_model: String,
    pub(crate) dsn: String,
    pub(crate) property_name: String,
    pub(crate) client_type: ClientType,
    pub(crate) is_suspended: bool,
    pub(crate) batch_size: u32,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) date_suspended: Option<String>,
}

impl Settings {
    /// The settings of a new subscription: the patch, with Ayla's defaults for what it omits.
    pub(crate) fn new(patch: Patch, now: &str) -> Settings {
        let suspended = patch.is_suspended.unwrap_or(false);
        let table = patch.subscription_type.map_or("events", Table::dir_name);
        Settings {
            name: patch.name.unwrap_or_else(|| format!("{table} (preset)")),
            description: patch.description.unwrap_or_default(),
            oem_model: patch.oem_model.unwrap_or_else(|| "*".to_owned()),
            dsn: patch.dsn.unwrap_or_else(|| "*".to_owned()),
            property_name: patch.property_name.unwrap_or_else(|| "*".to_owned()),
            client_type: patch.client_type.unwrap_or(ClientType::Cloud),
            is_suspended: suspended,
            batch_size: patch.batch_size.unwrap_or(1),
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            date_suspended: suspended.then(|| now.to_owned()),
        }
    }

    fn apply(&mut self, patch: Patch, now: &str) {
        let Patch {
            name,
            description,
            oem_model,
            dsn,
            property_name,
            ..
        } = patch;
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut self.name, name);
        set(&mut self.description, description);
        set(&mut self.oem_model, oem_model);
        set(&mut self.dsn, dsn);
        set(&mut self.property_name, property_name);
        self.client_type = patch.client_type.unwrap_or(self.client_type);
        self.batch_size = patch.batch_size.unwrap_or(self.batch_size);
        if let Some(s) = patch.is_suspended {
            if s && !self.is_suspended {
                self.date_suspended = Some(now.to_owned());
            } else if !s {
                self.date_suspended = None;
            }
            self.is_suspended = s;
        }
        self.updated_at = now.to_owned();
    }
}

/// One subscription: its settings, its replay buffer and the connections' view of it.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) id: u64,
    pub(crate) key: StreamKey,
    pub(crate) table: Table,
    pub(crate) user_uuid: String,
    settings: Mutex<Settings>,
    /// The replay buffer. A std mutex: every critical section is a few pointer copies and none
    /// spans an `.await`.
    pub(crate) ring: Mutex<Ring>,
    /// The next seq to be assigned; connections wait on it for new events. A watch channel
    /// because every connection only needs the latest value, never each step.
    pub(crate) head: watch::Sender<u64>,
    /// Cancelled when the subscription is deleted or the emulator shuts down.
    pub(crate) closed: CancellationToken,
    pub(crate) counters: SubCounters,
}

impl Subscription {
    pub(crate) fn new(
        id: u64,
        key: StreamKey,
        table: Table,
        user_uuid: String,
        settings: Settings,
        ring: Ring,
        closed: CancellationToken,
    ) -> Subscription {
        let head = watch::Sender::new(ring.next_seq());
        Subscription {
            id,
            key,
            table,
            user_uuid,
            settings: Mutex::new(settings),
            ring: Mutex::new(ring),
            head,
            closed,
            counters: SubCounters::default(),
        }
    }

    pub(crate) fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().expect("settings lock poisoned")
    }

    pub(crate) fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().expect("replay buffer lock poisoned")
    }

    pub(crate) fn filter(&self) -> Filter {
        let s = self.settings();
        Filter {
            table: self.table,
            oem_model: s.oem_model.clone(),
            dsn: s.dsn.clone(),
            property_name: s.property_name.clone(),
            suspended: s.is_suspended,
        }
    }

    /// Applies a checked patch; the event type of a stream cannot change.
    pub(crate) fn update(&self, patch: Patch, now: &str) -> Result<(), FieldError> {
        if patch.subscription_type.is_some_and(|t| t != self.table) {
            return Err(field_error(
                "subscription_type",
                "can't be changed; create a new subscription",
            ));
        }
        self.settings().apply(patch, now);
        Ok(())
    }

    /// The Ayla-style object: `{"subscription": {...}}`.
    pub(crate) fn to_json(&self, oem: &str) -> Value {
        let s = self.settings().clone();
        let online = self.counters.clients() > 0;
        json!({"subscription": {
            "id": self.id,
            "oem": oem,
            "dsn": s.dsn,
            "name": s.name,
            "description": s.description,
            "property_name": s.property_name,
            "connection_status": if online { "Online" } else { "Offline" },
            "batch_size": s.batch_size,
            "is_suspended": s.is_suspended,
            "created_at": s.created_at,
            "updated_at": s.updated_at,
            "date_suspended": s.date_suspended,
            "user_uuid": self.user_uuid,
            "oem_model": s.oem_model,
            "stream_key": self.key.expose(),
            "client_type": s.client_type.as_str(),
            "subscription_type": self.table.dir_name(),
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_stars_anywhere() {
        assert!(glob_match("*", ""));
        assert!(glob_match("walk-in-freezer", "walk-in-freezer"));
        assert!(!glob_match("walk-in-freezer", "walk-in-freezer2"));
        assert!(glob_match("walk-*", "walk-in-freezer"));
        assert!(glob_match("*freezer", "walk-in-freezer"));
        assert!(glob_match("*-in-*", "walk-in-freezer"));
        assert!(glob_match("AC000W*1*3", "AC000W000123"));
        assert!(!glob_match("AC000W*1*3", "AC000W000124"));
        assert!(!glob_match("led-*", "walk-in-freezer"));
        assert!(glob_match("a**b", "ab"));
    }

    #[test]
    fn patches_name_the_field_that_is_wrong() {
        let err = |v: Value| Patch::from_json(&v, false).unwrap_err().field;
        assert_eq!(err(json!({"name": 5})), "name");
        assert_eq!(err(json!({"name": " "})), "name");
        assert_eq!(
            err(json!({"subscription_type": "datapoints"})),
            "subscription_type"
        );
        assert_eq!(err(json!({"client_type": "phone"})), "client_type");
        assert_eq!(err(json!({"dsn": ""})), "dsn");
        assert_eq!(err(json!({"batch_size": 0})), "batch_size");
        assert_eq!(err(json!({"is_suspended": "yes"})), "is_suspended");
        assert_eq!(err(json!([1])), "subscription");
        let ok = Patch::from_json(&json!({"stream_key": "x", "id": 3}), false).unwrap();
        assert!(
            ok.stream_key.is_none(),
            "stream_key is server-filled over REST"
        );
        let preset = Patch::from_json(&json!({"stream_key": "x"}), true);
        assert_eq!(preset.unwrap_err().field, "stream_key");
    }
}
