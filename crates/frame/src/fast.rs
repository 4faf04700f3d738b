//! The fast path for the frames DSS sends nearly always: the envelope read straight from the
//! payload's bytes into an [`Event`], without a tape.
//!
//! It reads only the canonical shape: `seq`, then `metadata`, then the one body its event type
//! names, each field a known key of the expected type, timestamps and coordinates spelled the
//! way they are stored, no `null` where the row would need the overlay to say so, no escapes.
//! Anything else (an unknown key, a second body, a `value` that is an object, bad JSON) makes it
//! give up, and the general path (tape, extractor, overlay) decodes the frame as before; so it
//! changes no result, only how fast the common frame gets there. A test checks that whatever
//! it accepts decodes to the same event both ways, on the fleet's frames and mutations of them.
//! (perf: building and walking the tape were over a third of decoding.) A location event whose
//! coordinates DSS padded (`" 48.856600"`) takes the general path: only the overlay can keep that
//! spelling.

use dss_lake_schema::Table;
use simd_json::{Node, StaticNode};

use crate::event::{Ack, Body, Connection, Datapoint, Event, Location, Micros, Registration, Tags};
use crate::extract::{Metadata, numeric_scalar, numeric_str, seq_from_text};
use crate::json::{JsonRef, TapeRef};
use crate::scan::{GiveUp, ScanBuffers, Scanner};
use crate::time::parse_timestamp;

type Fast<T> = Result<T, GiveUp>;

/// Decodes `json` if it has the canonical shape; `Err(GiveUp)` sends it to the general path.
pub(crate) fn fast_event<'s>(json: &'s str, buffers: &mut ScanBuffers) -> Fast<Event<'s>> {
    let mut s = buffers.scanner(json);
    s.skip_ws();
    s.expect(b'{')?;
    if s.key_text()? != "seq" {
        return Err(GiveUp);
    }
    let seq = seq_from_text(string(&mut s)?).ok_or(GiveUp)?;
    s.more(b'}')?.then_some(()).ok_or(GiveUp)?;
    if s.key_text()? != "metadata" {
        return Err(GiveUp);
    }
    let meta = metadata(&mut s)?;
    s.more(b'}')?.then_some(()).ok_or(GiveUp)?;
    if Some(s.key_text()?) != meta.table.body_key() {
        return Err(GiveUp);
    }
    s.expect(b'{')?;
    let body = match meta.table {
        Table::Connectivity => Body::Connectivity(connection(&mut s)?),
        Table::Location => Body::Location(location(&mut s)?),
        Table::Registration => Body::Registration(registration(&mut s)?),
        Table::Datapoint | Table::Datapointack => {
            let mut d = Datapoint {
                property_name: meta.property_name.ok_or(GiveUp)?,
                display_name: meta.display_name,
                base_type: meta.base_type,
                ..Datapoint::default()
            };
            match datapoint(&mut s, &mut d, meta.table == Table::Datapointack)? {
                Some(ack) => Body::Datapointack(d, ack),
                None => Body::Datapoint(d),
            }
        }
        Table::Quarantine | Table::Gaps => return Err(GiveUp),
    };
    // The root closes right after the body.
    if s.more(b'}')? || !s.at_end() {
        return Err(GiveUp);
    }
    Ok(meta.into_event(seq, body))
}

/// Sets a field once; a key seen twice goes to the general path (which keeps the last).
#[inline(always)]
fn once<T>(slot: &mut Option<T>, value: T) -> Fast<()> {
    if slot.is_some() {
        return Err(GiveUp);
    }
    *slot = Some(value);
    Ok(())
}

fn metadata<'s>(s: &mut Scanner<'s, '_>) -> Fast<Metadata<'s>> {
    s.expect(b'{')?;
    let (mut table, mut dsn, mut oem_id, mut oem_model, mut tags) = (None, None, None, None, None);
    let (mut property_name, mut display_name, mut base_type) = (None, None, None);
    loop {
        match s.key_text()? {
            "event_type" => once(
                &mut table,
                Table::from_event_type(string(s)?).ok_or(GiveUp)?,
            )?,
            "dsn" => once(&mut dsn, string(s)?)?,
            "oem_id" => once(&mut oem_id, string(s)?)?,
            "oem_model" => once(&mut oem_model, string(s)?)?,
            "property_name" => once(&mut property_name, string(s)?)?,
            "display_name" => once(&mut display_name, string(s)?)?,
            "base_type" => once(&mut base_type, string(s)?)?,
            "resource_tags" => once(&mut tags, resource_tags(s)?)?,
            _ => return Err(GiveUp),
        }
        if !s.more(b'}')? {
            break;
        }
    }
    let table = table.ok_or(GiveUp)?;
    let has_property = matches!(table, Table::Datapoint | Table::Datapointack);
    // Elsewhere the property fields are kept in the overlay.
    if !has_property && (property_name, display_name, base_type) != (None, None, None) {
        return Err(GiveUp);
    }
    Ok(Metadata {
        table,
        oem_id,
        oem_model,
        dsn: dsn.ok_or(GiveUp)?,
        resource_tags: tags,
        property_name,
        display_name,
        base_type,
    })
}

fn resource_tags<'s>(s: &mut Scanner<'s, '_>) -> Fast<Tags<'s>> {
    s.expect(b'[')?;
    let mut tags = Tags::new();
    if s.peek() == Some(b']') {
        s.expect(b']')?;
        return Ok(tags);
    }
    loop {
        tags.push(string(s)?);
        if !s.more(b']')? {
            return Ok(tags);
        }
    }
}

/// A string value (the scanner's `string` expects to stand on its opening quote).
#[inline(always)]
fn string<'s>(s: &mut Scanner<'s, '_>) -> Fast<&'s str> {
    if s.peek() != Some(b'"') {
        return Err(GiveUp);
    }
    s.string()
}

/// A timestamp stored exactly as spelled; other spellings need the overlay.
#[inline(always)]
fn time(s: &mut Scanner<'_, '_>) -> Fast<Micros> {
    let parsed = parse_timestamp(string(s)?).ok_or(GiveUp)?;
    parsed.canonical.then_some(parsed.micros).ok_or(GiveUp)
}

#[inline(always)]
fn boolean(s: &mut Scanner<'_, '_>) -> Fast<bool> {
    match s.scalar()? {
        Some(Node::Static(StaticNode::Bool(b))) => Ok(b),
        _ => Err(GiveUp),
    }
}

#[inline(always)]
fn integer(s: &mut Scanner<'_, '_>) -> Fast<i64> {
    match s.scalar()? {
        Some(Node::Static(StaticNode::I64(n))) => Ok(n),
        Some(Node::Static(StaticNode::U64(n))) => i64::try_from(n).map_err(|_| GiveUp),
        _ => Err(GiveUp),
    }
}

/// A coordinate string whose float's shortest spelling is the text itself: a padded one
/// (`" 48.8"`, which the general path trims and records) is never that spelling.
fn coordinate(s: &mut Scanner<'_, '_>) -> Fast<f64> {
    let text = string(s)?;
    let number = numeric_str(text).ok_or(GiveUp)?;
    if ryu::Buffer::new().format_finite(number) != text {
        return Err(GiveUp);
    }
    Ok(number)
}

fn connection<'s>(s: &mut Scanner<'s, '_>) -> Fast<Connection<'s>> {
    let mut c = Connection::default();
    loop {
        match s.key_text()? {
            "event_time" => once(&mut c.event_time, time(s)?)?,
            "user_uuid" => once(&mut c.user_uuid, string(s)?)?,
            "status" => once(&mut c.status, string(s)?)?,
            _ => return Err(GiveUp),
        }
        if !s.more(b'}')? {
            return Ok(c);
        }
    }
}

fn location<'s>(s: &mut Scanner<'s, '_>) -> Fast<Location<'s>> {
    let mut l = Location::default();
    loop {
        match s.key_text()? {
            "dsn" => once(&mut l.body_dsn, string(s)?)?,
            "ip" => once(&mut l.ip, string(s)?)?,
            "lat" => once(&mut l.lat, coordinate(s)?)?,
            "long" => once(&mut l.long, coordinate(s)?)?,
            "provider" => once(&mut l.provider, string(s)?)?,
            "user_uuid" => once(&mut l.user_uuid, string(s)?)?,
            "created_at" => once(&mut l.created_at, time(s)?)?,
            _ => return Err(GiveUp),
        }
        if !s.more(b'}')? {
            return Ok(l);
        }
    }
}

fn registration<'s>(s: &mut Scanner<'s, '_>) -> Fast<Registration<'s>> {
    let mut r = Registration::default();
    // `user_uuid` must be present (the overlay records its absence); `null` is a plain NULL.
    let mut user_uuid = None;
    loop {
        match s.key_text()? {
            "dsn" => once(&mut r.body_dsn, string(s)?)?,
            "user_uuid" => match s.scalar()? {
                Some(Node::String(text)) => once(&mut user_uuid, Some(text))?,
                Some(Node::Static(StaticNode::Null)) => once(&mut user_uuid, None)?,
                _ => return Err(GiveUp),
            },
            "registered" => once(&mut r.registered, boolean(s)?)?,
            "registration_type" => once(&mut r.registration_type, string(s)?)?,
            "registered_at" => once(&mut r.registered_at, time(s)?)?,
            "unregistered_at" => once(&mut r.unregistered_at, time(s)?)?,
            _ => return Err(GiveUp),
        }
        if !s.more(b'}')? {
            break;
        }
    }
    r.user_uuid = user_uuid.ok_or(GiveUp)?;
    Ok(r)
}

/// An object of string, boolean and null values spelled compactly (the body's `metadata`, e.g.
/// `{"origin":"mobile-app"}`): its text is exactly what the general path would write, so it is
/// borrowed as it stands.
fn flat_object_text<'s>(s: &mut Scanner<'s, '_>) -> Fast<&'s str> {
    let start = s.pos();
    s.expect(b'{')?;
    let mut compact_len = 2;
    if s.peek() == Some(b'}') {
        s.more(b'}')?;
    } else {
        loop {
            let key = s.key_text()?;
            let value_start = s.pos();
            match s.scalar()? {
                Some(Node::String(_) | Node::Static(StaticNode::Bool(_) | StaticNode::Null)) => {}
                _ => return Err(GiveUp),
            }
            compact_len += key.len() + 3 + (s.pos() - value_start);
            if !s.more(b'}')? {
                break;
            }
            compact_len += 1;
        }
    }
    // Whitespace anywhere would make the text longer than its compact spelling.
    if s.pos() - start != compact_len {
        return Err(GiveUp);
    }
    s.text(start..s.pos()).ok_or(GiveUp)
}

/// Reads a datapoint body into `d`; the ack fields for a datapointack.
fn datapoint<'s>(
    s: &mut Scanner<'s, '_>,
    d: &mut Datapoint<'s>,
    is_ack: bool,
) -> Fast<Option<Ack<'s>>> {
    let mut ack = Ack::default();
    // `created_at_from_device` must be present (the overlay records its absence); `null` is a
    // plain NULL.
    let mut device_time = None;
    loop {
        match s.key_text()? {
            "id" => once(&mut d.id, string(s)?)?,
            "created_at_from_device" => {
                let micros = match s.peek() {
                    Some(b'n') => match s.scalar()? {
                        Some(Node::Static(StaticNode::Null)) => None,
                        _ => return Err(GiveUp),
                    },
                    _ => Some(time(s)?),
                };
                once(&mut device_time, micros)?;
            }
            "created_at" => once(&mut d.created_at, time(s)?)?,
            "updated_at" => once(&mut d.updated_at, time(s)?)?,
            "user_uuid" => once(&mut d.user_uuid, string(s)?)?,
            "echo" => once(&mut d.echo, boolean(s)?)?,
            "closed" => once(&mut d.closed, boolean(s)?)?,
            "value" => {
                let start = s.pos();
                let node = s.scalar()?.ok_or(GiveUp)?;
                once(&mut d.value_json, s.text(start..s.pos()).ok_or(GiveUp)?)?;
                d.value_num = numeric_scalar(TapeRef(std::slice::from_ref(&node)).scalar());
            }
            "metadata" => once(&mut d.metadata_json, flat_object_text(s)?)?,
            "ack_message" if is_ack => once(&mut ack.ack_message, integer(s)?)?,
            "ack_status" if is_ack => once(&mut ack.ack_status, integer(s)?)?,
            "ack_id" if is_ack => once(&mut ack.ack_id, string(s)?)?,
            "acked_at" if is_ack => once(&mut ack.acked_at, time(s)?)?,
            _ => return Err(GiveUp),
        }
        if !s.more(b'}')? {
            break;
        }
    }
    d.created_at_from_device = device_time.ok_or(GiveUp)?;
    Ok(is_ack.then_some(ack))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::FrameDecoder;

    /// What the fast path accepts, the general path decodes to the same event; and it accepts
    /// nearly every frame the fleet sends, or it would be no fast path.
    #[test]
    fn accepts_the_common_frames_and_agrees_with_the_general_path() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut buffers = ScanBuffers::default();
        let mut general = FrameDecoder::new();
        let corpus = dss_lake_fleet::corpus(17, 3_000);
        let (mut fast, mut accepted_mutations) = (0, 0);
        for frame in &corpus {
            let payload = frame.split_once('|').expect("framed").1;
            if let Ok(event) = fast_event(payload, &mut buffers) {
                fast += 1;
                assert_eq!(Ok(event), general.decode_general(payload), "{payload}");
            }
            for _ in 0..20 {
                let pick = b"{}[]\":,.-0123456789 \\tfnulZ|xe";
                let Some(mutated) = crate::scan::mutated(payload, pick, 1, &mut rng) else {
                    continue;
                };
                if let Ok(event) = fast_event(&mutated, &mut buffers) {
                    accepted_mutations += 1;
                    assert_eq!(Ok(event), general.decode_general(&mutated), "{mutated}");
                }
            }
        }
        assert!(accepted_mutations > 5_000, "{accepted_mutations}");
        assert!(
            fast * 100 >= corpus.len() * 90,
            "{fast} of {}",
            corpus.len()
        );
    }

    #[test]
    fn gives_up_on_what_needs_the_overlay_or_the_general_path() {
        let datapoint = |body: &str| {
            format!(
                r#"{{"seq":"1","metadata":{{"oem_id":"o","oem_model":"m","dsn":"d","property_name":"p","display_name":"P","base_type":"integer","resource_tags":[],"event_type":"datapoint"}},"datapoint":{{{body}}}}}"#
            )
        };
        let common = r#""id":"i","created_at_from_device":null,"updated_at":"2026-11-24T10:25:14Z","created_at":"2026-11-24T10:25:14Z","user_uuid":"u","echo":false,"closed":false,"metadata":{}"#;
        let mut buffers = ScanBuffers::default();
        let accepted = datapoint(&format!(r#"{common},"value":12.50"#));
        let event = fast_event(&accepted, &mut buffers).expect("canonical");
        let Body::Datapoint(d) = &event.body else {
            panic!("{event:?}")
        };
        assert_eq!((d.value_json, d.value_num), (Some("12.50"), Some(12.5)));
        let flat = r#"{"origin":"mobile-app","n":null,"b":true}"#;
        let accepted = datapoint(&format!(
            r#"{},"value":"x|Z""#,
            common.replace(r#""metadata":{}"#, &format!(r#""metadata":{flat}"#))
        ));
        let event = fast_event(&accepted, &mut buffers).expect("canonical");
        let Body::Datapoint(d) = &event.body else {
            panic!("{event:?}")
        };
        assert_eq!(
            (d.metadata_json, d.value_json),
            (Some(flat), Some(r#""x|Z""#))
        );
        for refused in [
            datapoint(&format!(r#"{common},"value":{{"a":1}}"#)),
            datapoint(&format!(r#"{common},"value":"a\"b""#)),
            datapoint(&format!(r#"{common},"value":1,"value":2"#)),
            datapoint(&format!(r#"{common},"value":1,"extra":2"#)),
            datapoint(&format!(r#"{common},"value":1,"ack_id":"a""#)),
            datapoint(&common.replace(r#""echo":false"#, r#""echo":null"#)),
            datapoint(&common.replace("10:25:14Z", "10:25:14+00:00")),
            datapoint(&common.replace(r#""created_at_from_device":null,"#, "")),
            datapoint(&common.replace(r#""metadata":{}"#, r#""metadata":{"k":1}"#)),
            datapoint(&common.replace(r#""metadata":{}"#, r#""metadata":{"k": "v"}"#)),
            datapoint(&common.replace(r#""metadata":{}"#, r#""metadata":{"k":{}}"#)),
            accepted.replace(r#""seq":"1""#, r#""seq":1"#),
            accepted.replace(r#""display_name":"P""#, r#""display_name":null"#),
            accepted.replace(r#""event_type":"datapoint""#, r#""event_type":"other""#),
            accepted.replace(r#""datapoint":{"#, r#""connection":{"#),
            format!("{} x", accepted),
        ] {
            assert!(fast_event(&refused, &mut buffers).is_err(), "{refused}");
        }
    }
}
