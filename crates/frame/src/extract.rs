//! From a parsed JSON envelope to an [`Event`]: one pass over the envelope, one over the body.
//!
//! Generic over [`JsonRef`] so the same code reads simd-json's tape (production) and
//! `serde_json::Value` (the benchmark baseline). JSON that must be kept as text (`value`, the
//! body's `metadata`, the extras overlay) is written to `scratch`; the caller turns the returned
//! spans into `&str` once writing is over. A scalar `value` read by the fast scanner is instead
//! borrowed from the frame as it was spelled.

use std::ops::Range;

use dss_lake_schema::Table;
use smallvec::SmallVec;

use crate::DecodeError;
use crate::event::{Ack, Body, Connection, Datapoint, Event, Location, Micros, Registration, Tags};
use crate::extras::{Extras, Level};
use crate::json::{JsonRef, Scalar, write_json};
use crate::scan::scalar_text;
use crate::time::parse_timestamp;

/// Where in `scratch` the re-serialised JSON of an event went, or the source text of `value`
/// when it could be kept as received.
#[derive(Debug, Default)]
pub(crate) struct Spans<'s> {
    pub(crate) value_source: Option<&'s str>,
    pub(crate) value_json: Option<Range<usize>>,
    pub(crate) metadata_json: Option<Range<usize>>,
    pub(crate) extra_json: Option<Range<usize>>,
}

const BODY_KEYS: [&str; 5] = [
    "connection",
    "datapoint",
    "datapointack",
    "location_event",
    "registration_event",
];

/// Extracts the event; its JSON-text fields are left `None` and described by `spans`.
///
/// `source` is the JSON text every string of `root` borrows from, when that is so (the scanner's
/// tape); it lets a scalar `value` be kept as its own text instead of written again.
pub(crate) fn extract_event<'s, J: JsonRef<'s>>(
    root: J,
    source: Option<&'s str>,
    scratch: &mut String,
    spans: &mut Spans<'s>,
) -> Result<Event<'s>, DecodeError> {
    if root.scalar() != Scalar::Object {
        return Err(DecodeError::NotAnObject);
    }
    let mut extras = Extras::new();
    let mut seq = None;
    let mut metadata = None;
    let mut bodies = SmallVec::<[(&'s str, J); 2]>::new();
    for (key, value) in root.entries() {
        match key {
            "seq" => seq = Some(parse_seq(value)?),
            "metadata" => metadata = Some(value),
            k if BODY_KEYS.contains(&k) => bodies.push((k, value)),
            k => keep_unknown(&mut extras, Level::Top, k, value)?,
        }
    }
    let seq = seq.ok_or(DecodeError::MissingField { field: "seq" })?;
    let metadata = metadata.ok_or(DecodeError::MissingField { field: "metadata" })?;
    let meta = read_metadata(metadata, &mut extras)?;

    let body_key = meta.table.body_key().unwrap_or("datapoint");
    let chosen = bodies
        .iter()
        .position(|(k, _)| *k == body_key)
        .or_else(|| {
            let alias = meta.table == Table::Datapointack;
            bodies
                .iter()
                .position(|(k, _)| alias && *k == "datapointack")
        })
        .ok_or(DecodeError::MissingField { field: body_key })?;
    for (i, (key, value)) in bodies.iter().enumerate() {
        if i != chosen {
            extras.value(Level::Top, key, *value);
        }
    }
    let (actual_body_key, body) = bodies[chosen];
    if actual_body_key != body_key {
        extras.body_key(actual_body_key);
    }
    if body.scalar() != Scalar::Object {
        return Err(DecodeError::wrong_type(body_key, "an object"));
    }

    let body = match meta.table {
        Table::Connectivity => Body::Connectivity(read_connection(body, &mut extras)?),
        Table::Location => Body::Location(read_location(body, &mut extras)?),
        Table::Registration => Body::Registration(read_registration(body, &mut extras)?),
        Table::Datapoint | Table::Datapointack => {
            let mut datapoint = Datapoint {
                property_name: meta.property_name.ok_or(DecodeError::MissingField {
                    field: "metadata.property_name",
                })?,
                display_name: meta.display_name,
                base_type: meta.base_type,
                ..Datapoint::default()
            };
            let ack = read_datapoint(
                body,
                meta.table,
                &mut datapoint,
                &mut extras,
                Text {
                    source,
                    scratch,
                    spans: &mut *spans,
                },
            )?;
            match ack {
                Some(ack) => Body::Datapointack(datapoint, ack),
                None => Body::Datapoint(datapoint),
            }
        }
        Table::Quarantine | Table::Gaps => return Err(DecodeError::UnknownEventType),
    };

    let start = scratch.len();
    if extras.write(actual_body_key, scratch) {
        spans.extra_json = Some(start..scratch.len());
    }
    Ok(meta.into_event(seq, body))
}

/// The envelope's `metadata`, as both decoding paths read it.
pub(crate) struct Metadata<'s> {
    pub(crate) table: Table,
    pub(crate) oem_id: Option<&'s str>,
    pub(crate) oem_model: Option<&'s str>,
    pub(crate) dsn: &'s str,
    pub(crate) resource_tags: Option<Tags<'s>>,
    pub(crate) property_name: Option<&'s str>,
    pub(crate) display_name: Option<&'s str>,
    pub(crate) base_type: Option<&'s str>,
}

impl<'s> Metadata<'s> {
    /// The event with this envelope; its JSON-text fields and `length_matches` are the caller's.
    pub(crate) fn into_event(self, seq: u64, body: Body<'s>) -> Event<'s> {
        Event {
            seq,
            oem_id: self.oem_id,
            oem_model: self.oem_model,
            dsn: self.dsn,
            resource_tags: self.resource_tags,
            body,
            extra_json: None,
            length_matches: true,
        }
    }
}

fn read_metadata<'s, J: JsonRef<'s>>(
    metadata: J,
    extras: &mut Extras<'s, J>,
) -> Result<Metadata<'s>, DecodeError> {
    if metadata.scalar() != Scalar::Object {
        return Err(DecodeError::wrong_type("metadata", "an object"));
    }
    let m = Level::Metadata;
    let (mut event_type, mut dsn, mut oem_id, mut oem_model, mut resource_tags) =
        (None, None, None, None, None);
    // Property fields belong to datapoint tables only; elsewhere they are kept as extras.
    let mut property_fields = SmallVec::<[(&'s str, J); 3]>::new();
    for (key, value) in metadata.entries() {
        match key {
            "event_type" => event_type = Some(value),
            "dsn" => dsn = Some(required_str(value, "metadata.dsn")?),
            "oem_id" => oem_id = opt_str(value, "metadata.oem_id", m, key, extras)?,
            "oem_model" => oem_model = opt_str(value, "metadata.oem_model", m, key, extras)?,
            "resource_tags" => resource_tags = read_tags(value, m, key, extras)?,
            "property_name" | "display_name" | "base_type" => property_fields.push((key, value)),
            k => keep_unknown(extras, m, k, value)?,
        }
    }
    let event_type = event_type.ok_or(DecodeError::MissingField {
        field: "metadata.event_type",
    })?;
    let table = match event_type.scalar() {
        Scalar::Str(name) => Table::from_event_type(name).ok_or(DecodeError::UnknownEventType)?,
        _ => return Err(DecodeError::wrong_type("metadata.event_type", "a string")),
    };
    let mut meta = Metadata {
        table,
        oem_id,
        oem_model,
        dsn: dsn.ok_or(DecodeError::MissingField {
            field: "metadata.dsn",
        })?,
        resource_tags,
        property_name: None,
        display_name: None,
        base_type: None,
    };
    let has_property = matches!(table, Table::Datapoint | Table::Datapointack);
    for (key, value) in property_fields {
        match key {
            _ if !has_property => extras.value(m, key, value),
            "property_name" => {
                meta.property_name = Some(required_str(value, "metadata.property_name")?)
            }
            "display_name" => {
                meta.display_name = opt_str(value, "metadata.display_name", m, key, extras)?
            }
            _ => meta.base_type = opt_str(value, "metadata.base_type", m, key, extras)?,
        }
    }
    Ok(meta)
}

fn read_connection<'s, J: JsonRef<'s>>(
    body: J,
    extras: &mut Extras<'s, J>,
) -> Result<Connection<'s>, DecodeError> {
    let b = Level::Body;
    let mut c = Connection::default();
    for (key, value) in body.entries() {
        match key {
            "event_time" => c.event_time = opt_time(value, "connection.event_time", key, extras)?,
            "user_uuid" => c.user_uuid = opt_str(value, "connection.user_uuid", b, key, extras)?,
            "status" => c.status = opt_str(value, "connection.status", b, key, extras)?,
            k => keep_unknown(extras, b, k, value)?,
        }
    }
    Ok(c)
}

fn read_location<'s, J: JsonRef<'s>>(
    body: J,
    extras: &mut Extras<'s, J>,
) -> Result<Location<'s>, DecodeError> {
    let b = Level::Body;
    let mut l = Location::default();
    for (key, value) in body.entries() {
        match key {
            "dsn" => l.body_dsn = opt_str(value, "location_event.dsn", b, key, extras)?,
            "ip" => l.ip = opt_str(value, "location_event.ip", b, key, extras)?,
            "lat" => l.lat = opt_coordinate(value, "location_event.lat", key, extras)?,
            "long" => l.long = opt_coordinate(value, "location_event.long", key, extras)?,
            "provider" => l.provider = opt_str(value, "location_event.provider", b, key, extras)?,
            "user_uuid" => {
                l.user_uuid = opt_str(value, "location_event.user_uuid", b, key, extras)?
            }
            "created_at" => {
                l.created_at = opt_time(value, "location_event.created_at", key, extras)?
            }
            k => keep_unknown(extras, b, k, value)?,
        }
    }
    Ok(l)
}

fn read_registration<'s, J: JsonRef<'s>>(
    body: J,
    extras: &mut Extras<'s, J>,
) -> Result<Registration<'s>, DecodeError> {
    let b = Level::Body;
    let mut r = Registration::default();
    let mut saw_user = false;
    for (key, value) in body.entries() {
        match key {
            "dsn" => r.body_dsn = opt_str(value, "registration_event.dsn", b, key, extras)?,
            "user_uuid" => {
                saw_user = true;
                r.user_uuid = nullable_str(value, "registration_event.user_uuid")?;
            }
            "registered" => {
                r.registered = opt_bool(value, "registration_event.registered", key, extras)?
            }
            "registration_type" => {
                r.registration_type = opt_str(
                    value,
                    "registration_event.registration_type",
                    b,
                    key,
                    extras,
                )?
            }
            "registered_at" => {
                r.registered_at = opt_time(value, "registration_event.registered_at", key, extras)?
            }
            "unregistered_at" => {
                r.unregistered_at =
                    opt_time(value, "registration_event.unregistered_at", key, extras)?
            }
            k => keep_unknown(extras, b, k, value)?,
        }
    }
    if !saw_user {
        extras.absent(b, "user_uuid");
    }
    Ok(r)
}

/// Where a datapoint's JSON-text fields go (see `extract_event`).
struct Text<'x, 's> {
    source: Option<&'s str>,
    scratch: &'x mut String,
    spans: &'x mut Spans<'s>,
}

/// Reads a datapoint body into `d`; returns the ack fields for a datapointack.
fn read_datapoint<'s, J: JsonRef<'s>>(
    body: J,
    table: Table,
    d: &mut Datapoint<'s>,
    extras: &mut Extras<'s, J>,
    text: Text<'_, 's>,
) -> Result<Option<Ack<'s>>, DecodeError> {
    let Text {
        source,
        scratch,
        spans,
    } = text;
    let b = Level::Body;
    let is_ack = table == Table::Datapointack;
    let mut ack = Ack::default();
    let mut saw_device_time = false;
    for (key, value) in body.entries() {
        match key {
            "id" => d.id = opt_str(value, "datapoint.id", b, key, extras)?,
            "created_at_from_device" => {
                saw_device_time = true;
                d.created_at_from_device = match value.scalar() {
                    Scalar::Null => None,
                    _ => opt_time(value, "datapoint.created_at_from_device", key, extras)?,
                };
            }
            "created_at" => d.created_at = opt_time(value, "datapoint.created_at", key, extras)?,
            "updated_at" => d.updated_at = opt_time(value, "datapoint.updated_at", key, extras)?,
            "user_uuid" => d.user_uuid = opt_str(value, "datapoint.user_uuid", b, key, extras)?,
            "echo" => d.echo = opt_bool(value, "datapoint.echo", key, extras)?,
            "closed" => d.closed = opt_bool(value, "datapoint.closed", key, extras)?,
            "value" => {
                d.value_num = numeric_value(value);
                // The text as received, when it is a scalar: byte for byte what the device sent
                // (`12.50` stays `12.50`), and no formatting of floats or copying into scratch.
                match source.and_then(|json| scalar_text(json, key, value.scalar())) {
                    Some(text) => spans.value_source = Some(text),
                    None => spans.value_json = Some(write_span(value, scratch)),
                }
            }
            "metadata" => spans.metadata_json = Some(write_span(value, scratch)),
            "ack_message" if is_ack => {
                ack.ack_message = opt_int(value, "datapoint.ack_message", key, extras)?
            }
            "ack_status" if is_ack => {
                ack.ack_status = opt_int(value, "datapoint.ack_status", key, extras)?
            }
            "ack_id" if is_ack => ack.ack_id = opt_str(value, "datapoint.ack_id", b, key, extras)?,
            "acked_at" if is_ack => {
                ack.acked_at = opt_time(value, "datapoint.acked_at", key, extras)?
            }
            k => keep_unknown(extras, b, k, value)?,
        }
    }
    if !saw_device_time {
        extras.absent(b, "created_at_from_device");
    }
    Ok(is_ack.then_some(ack))
}

fn write_span<'s, J: JsonRef<'s>>(value: J, scratch: &mut String) -> Range<usize> {
    let start = scratch.len();
    write_json(value, scratch);
    start..scratch.len()
}

fn keep_unknown<'s, J: JsonRef<'s>>(
    extras: &mut Extras<'s, J>,
    level: Level,
    key: &'s str,
    value: J,
) -> Result<(), DecodeError> {
    if key.starts_with('$') {
        return Err(DecodeError::ReservedKey);
    }
    extras.value(level, key, value);
    Ok(())
}

fn parse_seq<'s, J: JsonRef<'s>>(value: J) -> Result<u64, DecodeError> {
    const EXPECTED: &str = "a string of decimal digits without leading zeros";
    match value.scalar() {
        Scalar::Str(text) => seq_from_text(text).ok_or(DecodeError::wrong_type("seq", EXPECTED)),
        _ => Err(DecodeError::wrong_type("seq", EXPECTED)),
    }
}

/// `seq`'s text as a number, when it is canonical decimal digits that fit an `i64`.
pub(crate) fn seq_from_text(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 19
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match text.parse::<i64>() {
        Ok(seq) if canonical => Some(seq as u64),
        _ => None,
    }
}

fn required_str<'s, J: JsonRef<'s>>(value: J, field: &'static str) -> Result<&'s str, DecodeError> {
    match value.scalar() {
        Scalar::Str(s) => Ok(s),
        _ => Err(DecodeError::wrong_type(field, "a string")),
    }
}

/// A string whose JSON `null` is stored as SQL NULL (the documented null-able fields).
fn nullable_str<'s, J: JsonRef<'s>>(
    value: J,
    field: &'static str,
) -> Result<Option<&'s str>, DecodeError> {
    match value.scalar() {
        Scalar::Str(s) => Ok(Some(s)),
        Scalar::Null => Ok(None),
        _ => Err(DecodeError::wrong_type(field, "a string or null")),
    }
}

fn opt_str<'s, J: JsonRef<'s>>(
    value: J,
    field: &'static str,
    level: Level,
    key: &'s str,
    extras: &mut Extras<'s, J>,
) -> Result<Option<&'s str>, DecodeError> {
    match value.scalar() {
        Scalar::Str(s) => Ok(Some(s)),
        Scalar::Null => {
            extras.null(level, key);
            Ok(None)
        }
        _ => Err(DecodeError::wrong_type(field, "a string")),
    }
}

fn opt_time<'s, J: JsonRef<'s>>(
    value: J,
    field: &'static str,
    key: &'s str,
    extras: &mut Extras<'s, J>,
) -> Result<Option<Micros>, DecodeError> {
    const EXPECTED: &str = "an ISO-8601 timestamp";
    match value.scalar() {
        Scalar::Str(text) => {
            let parsed = parse_timestamp(text).ok_or(DecodeError::wrong_type(field, EXPECTED))?;
            if !parsed.canonical {
                extras.value(Level::Body, key, value);
            }
            Ok(Some(parsed.micros))
        }
        Scalar::Null => {
            extras.null(Level::Body, key);
            Ok(None)
        }
        _ => Err(DecodeError::wrong_type(field, EXPECTED)),
    }
}

fn opt_bool<'s, J: JsonRef<'s>>(
    value: J,
    field: &'static str,
    key: &'s str,
    extras: &mut Extras<'s, J>,
) -> Result<Option<bool>, DecodeError> {
    match value.scalar() {
        Scalar::Bool(b) => Ok(Some(b)),
        Scalar::Null => {
            extras.null(Level::Body, key);
            Ok(None)
        }
        _ => Err(DecodeError::wrong_type(field, "a boolean")),
    }
}

fn opt_int<'s, J: JsonRef<'s>>(
    value: J,
    field: &'static str,
    key: &'s str,
    extras: &mut Extras<'s, J>,
) -> Result<Option<i64>, DecodeError> {
    match value.scalar() {
        Scalar::I64(n) => Ok(Some(n)),
        Scalar::U64(n) if n <= i64::MAX as u64 => Ok(Some(n as i64)),
        Scalar::Null => {
            extras.null(Level::Body, key);
            Ok(None)
        }
        _ => Err(DecodeError::wrong_type(field, "an integer")),
    }
}

/// lat/long arrive as strings like `" 48.856600"`; the float goes to the column and, unless the
/// float's shortest spelling is exactly the text, the text goes to the overlay.
fn opt_coordinate<'s, J: JsonRef<'s>>(
    value: J,
    field: &'static str,
    key: &'s str,
    extras: &mut Extras<'s, J>,
) -> Result<Option<f64>, DecodeError> {
    const EXPECTED: &str = "a decimal number (as a string)";
    let number = match value.scalar() {
        Scalar::Str(text) => {
            let number = numeric_str(text).ok_or(DecodeError::wrong_type(field, EXPECTED))?;
            // Shortest float text never has spaces, so the padded spelling DSS often sends
            // (`" 48.856600"`) goes to the overlay without formatting the float to compare.
            let padded = text.starts_with(' ') || text.ends_with(' ');
            if padded || ryu::Buffer::new().format_finite(number) != text {
                extras.value(Level::Body, key, value);
            }
            number
        }
        Scalar::I64(_) | Scalar::U64(_) | Scalar::F64(_) => {
            extras.value(Level::Body, key, value);
            numeric_value(value).ok_or(DecodeError::wrong_type(field, EXPECTED))?
        }
        Scalar::Null => {
            extras.null(Level::Body, key);
            return Ok(None);
        }
        _ => return Err(DecodeError::wrong_type(field, EXPECTED)),
    };
    Ok(Some(number))
}

/// `value` as a float for `value_num`: numbers, booleans as 0/1, numeric strings.
fn numeric_value<'s, J: JsonRef<'s>>(value: J) -> Option<f64> {
    numeric_scalar(value.scalar())
}

pub(crate) fn numeric_scalar(value: Scalar<'_>) -> Option<f64> {
    match value {
        Scalar::I64(n) => Some(n as f64),
        Scalar::U64(n) => Some(n as f64),
        Scalar::F64(n) => Some(n),
        Scalar::Bool(b) => Some(f64::from(u8::from(b))),
        Scalar::Str(s) => numeric_str(s),
        Scalar::Null | Scalar::Object | Scalar::Array => None,
    }
}

/// A string that spells a finite decimal number, surrounding spaces allowed (`" 48.8566"`,
/// `"75"`, `"-1.5e3"`); not `"inf"`, `"NaN"` or `""`.
pub(crate) fn numeric_str(s: &str) -> Option<f64> {
    let t = s.trim_matches(' ');
    let first = *t.as_bytes().first()?;
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return None;
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn read_tags<'s, J: JsonRef<'s>>(
    value: J,
    level: Level,
    key: &'s str,
    extras: &mut Extras<'s, J>,
) -> Result<Option<Tags<'s>>, DecodeError> {
    const FIELD: &str = "metadata.resource_tags";
    match value.scalar() {
        Scalar::Array => value
            .elements()
            .map(|tag| match tag.scalar() {
                Scalar::Str(s) => Ok(s),
                _ => Err(DecodeError::wrong_type(FIELD, "an array of strings")),
            })
            .collect::<Result<Tags<'s>, _>>()
            .map(Some),
        Scalar::Null => {
            extras.null(level, key);
            Ok(None)
        }
        _ => Err(DecodeError::wrong_type(FIELD, "an array of strings")),
    }
}
