//! Turning simulated facts into DSS JSON text: timestamps, uuids, strings and the envelope.
//!
//! Everything is written by hand into one `String` per event (no serde) because the emulator
//! pre-encodes millions of events and the text must be byte-for-byte deterministic.

use std::fmt::Write as _;

use dss_lake_schema::{Table, text};
use rand::Rng;

/// One generated DSS event: the fields a subscription filters on, and its JSON text.
///
/// The payload is kept pre-rendered except for `seq`, which belongs to the subscription that
/// delivers the event, so one event can be sent on several streams with different numbers.
#[derive(Debug, Clone)]
pub struct GeneratedEvent {
    /// The DSS event type (one of the five event tables).
    pub table: Table,
    /// `metadata.oem_model` of the device.
    pub oem_model: String,
    /// `metadata.dsn` of the device.
    pub dsn: String,
    /// `metadata.property_name`, for datapoint and datapointack events only.
    pub property_name: Option<String>,
    /// The virtual time of the event, microseconds since the epoch (UTC).
    pub time_micros: i64,
    /// The payload after the seq digits: `","metadata":{…},"<body>":{…}}`.
    tail: String,
}

impl GeneratedEvent {
    pub(crate) fn new(head: &Head<'_>, time_micros: i64, tail: String) -> GeneratedEvent {
        GeneratedEvent {
            table: head.table,
            oem_model: head.oem_model.to_owned(),
            dsn: head.dsn.to_owned(),
            property_name: head.property.map(|p| p.name.to_owned()),
            time_micros,
            tail,
        }
    }

    /// Appends the event's JSON object (the DSS envelope) to `out`, with `"seq":"<seq>"`.
    pub fn write_payload(&self, seq: u64, out: &mut String) {
        out.reserve(self.tail.len() + 32);
        out.push_str("{\"seq\":\"");
        write!(out, "{seq}").expect("writing to a String cannot fail");
        out.push_str(&self.tail);
    }

    /// The event's JSON object with `"seq":"<seq>"`.
    pub fn payload(&self, seq: u64) -> String {
        let mut out = String::with_capacity(self.tail.len() + 32);
        self.write_payload(seq, &mut out);
        out
    }

    /// The UTF-8 byte length of [`GeneratedEvent::payload`] for `seq`, without rendering it.
    pub fn payload_len(&self, seq: u64) -> usize {
        const OPEN: usize = "{\"seq\":\"".len();
        OPEN + seq.checked_ilog10().unwrap_or(0) as usize + 1 + self.tail.len()
    }

    /// Appends the whole DSS message `<LEN>|<payload>` in one pass: what [`crate::frame`] of
    /// [`GeneratedEvent::payload`] gives, without the intermediate string. The emulator's hot path.
    pub fn write_frame(&self, seq: u64, out: &mut String) {
        let len = self.payload_len(seq);
        out.reserve(len + 8);
        write!(out, "{len}|").expect("writing to a String cannot fail");
        self.write_payload(seq, out);
    }
}

/// The metadata of a datapoint's property, as the envelope names it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PropertyMeta {
    pub(crate) name: &'static str,
    pub(crate) display_name: &'static str,
    pub(crate) base_type: &'static str,
}

/// What the envelope says about an event, before its body.
#[derive(Debug)]
pub(crate) struct Head<'a> {
    pub(crate) table: Table,
    pub(crate) oem_id: &'a str,
    pub(crate) oem_model: &'a str,
    pub(crate) dsn: &'a str,
    pub(crate) property: Option<PropertyMeta>,
    /// The JSON text of `resource_tags`, e.g. `[]` or `["site:berlin"]`.
    pub(crate) resource_tags: &'a str,
}

/// Writes the fields of the event body, comma-separated, after the envelope metadata.
#[derive(Debug)]
pub(crate) struct Body {
    out: String,
    first: bool,
}

impl Body {
    /// Starts the tail of a payload: the rest of the seq string, the metadata, the body key.
    pub(crate) fn start(head: &Head<'_>) -> Body {
        let mut out = String::with_capacity(640);
        out.push_str("\",\"metadata\":{\"oem_id\":");
        text::write_json_string(head.oem_id, &mut out);
        out.push_str(",\"oem_model\":");
        text::write_json_string(head.oem_model, &mut out);
        out.push_str(",\"dsn\":");
        text::write_json_string(head.dsn, &mut out);
        if let Some(p) = head.property {
            out.push_str(",\"property_name\":");
            text::write_json_string(p.name, &mut out);
            out.push_str(",\"display_name\":");
            text::write_json_string(p.display_name, &mut out);
            out.push_str(",\"base_type\":");
            text::write_json_string(p.base_type, &mut out);
        }
        out.push_str(",\"resource_tags\":");
        out.push_str(head.resource_tags);
        out.push_str(",\"event_type\":\"");
        out.push_str(head.table.dir_name());
        out.push_str("\"},\"");
        out.push_str(
            head.table
                .body_key()
                .expect("events are generated for event tables only"),
        );
        out.push_str("\":{");
        Body { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Body {
        self.key(key);
        text::write_json_string(value, &mut self.out);
        self
    }

    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Body {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// A field whose value is already JSON text (a number, `null`, an object).
    pub(crate) fn raw(&mut self, key: &str, json: &str) -> &mut Body {
        self.key(key);
        self.out.push_str(json);
        self
    }

    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Body {
        self.raw(key, if value { "true" } else { "false" })
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Body {
        self.key(key);
        write!(self.out, "{value}").expect("writing to a String cannot fail");
        self
    }

    pub(crate) fn time(&mut self, key: &str, time: Stamp) -> &mut Body {
        self.key(key);
        self.out.push('"');
        write_timestamp(time.micros, time.millis, &mut self.out);
        self.out.push('"');
        self
    }

    pub(crate) fn opt_time(&mut self, key: &str, time: Option<Stamp>) -> &mut Body {
        match time {
            Some(t) => self.time(key, t),
            None => self.raw(key, "null"),
        }
    }

    /// Closes the body and the envelope.
    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("}}");
        self.out
    }
}

/// A timestamp and whether it is written with a millisecond fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) micros: i64,
    pub(crate) millis: bool,
}

/// Appends `micros` (since the epoch, UTC) as ISO-8601, e.g. `2026-11-24T10:25:14Z`, or with
/// `millis` as `2026-11-24T10:25:14.123Z`. The fraction is truncated, never rounded.
pub fn write_timestamp(micros: i64, millis: bool, out: &mut String) {
    if millis {
        text::format_timestamp_millis(micros, out);
    } else {
        text::format_timestamp(micros - micros.rem_euclid(1_000_000), out);
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what [`write_timestamp`] writes) into microseconds since
/// the epoch; `None` for anything else (see `dss_lake_schema::text::parse_timestamp`).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    text::parse_timestamp(s)
}

/// A random (version 4) uuid in lowercase hex, as DSS writes ids and user uuids.
pub(crate) fn uuid(rng: &mut impl Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        write!(out, "{b:02x}").expect("writing to a String cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(micros: i64, millis: bool) -> String {
        let mut s = String::new();
        write_timestamp(micros, millis, &mut s);
        s
    }

    #[test]
    fn timestamps_are_iso_8601_utc() {
        assert_eq!(ts(0, false), "1970-01-01T00:00:00Z");
        let day = text::days_from_civil(2026, 11, 24) * 86_400_000_000;
        assert_eq!(ts(day, false), "2026-11-24T00:00:00Z");
        let t = day + (10 * 3600 + 25 * 60 + 14) * 1_000_000 + 123_999;
        assert_eq!(ts(t, true), "2026-11-24T10:25:14.123Z");
        assert_eq!(
            ts(text::days_from_civil(2028, 2, 29) * 86_400_000_000, false),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(ts(-1_000_000, false), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn timestamps_parse_back() {
        for t in [0, 1_795_000_000_123_456, -1_000_000, 1_795_000_000_000_000] {
            assert_eq!(
                parse_timestamp(&ts(t, false)),
                Some(t.div_euclid(1_000_000) * 1_000_000)
            );
            assert_eq!(
                parse_timestamp(&ts(t, true)),
                Some(t.div_euclid(1000) * 1000)
            );
        }
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.5Z"), Some(500_000));
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-24 00:00:00Z",
            "2026-11-24T00:00:00",
            "x",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
