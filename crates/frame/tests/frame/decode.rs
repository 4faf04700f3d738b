//! The decoder's contract, case by case: framing pitfalls, every error naming its reason, and
//! losslessness field by field on both decoding paths (the fast one, which reads the shape DSS
//! sends, and the general one, which reads any JSON).

use crate::support::{Order, Payload, assert_lossless, decode, framed, q};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use dss_lake_frame::time::timestamp_string;
use dss_lake_frame::{Body, DecodeError, Frame, FrameDecoder, is_heartbeat};
use dss_lake_schema::Table;
use serde_json::Value;

const DATAPOINT: &str = r#"{"seq":"42","metadata":{"oem_id":"1a2b3c4d","oem_model":"led","dsn":"AC000W000000001","property_name":"message","display_name":"Message","base_type":"string","resource_tags":["site:berlin"],"event_type":"datapoint"},"datapoint":{"id":"6f1c2d9e-0000-4000-8000-000000000001","created_at_from_device":null,"updated_at":"2026-11-24T10:25:14Z","created_at":"2026-11-24T10:25:14.123Z","user_uuid":"u","echo":false,"closed":false,"value":"VALUE","metadata":{}}}"#;

#[test]
fn a_string_value_containing_bar_z_is_a_datapoint_not_a_heartbeat() {
    for value in ["|Z", "1|Z", "a|b|Z|c", "Z"] {
        let payload = DATAPOINT.replace("VALUE", value);
        let mut decoder = FrameDecoder::new();
        let message = framed(&payload);
        let Ok(Frame::Event(event)) = decoder.decode_message(&message) else {
            panic!("{value:?} was not decoded as an event")
        };
        let Body::Datapoint(d) = &event.body else {
            panic!("not a datapoint")
        };
        assert_eq!(d.value_json, Some(format!("\"{value}\"").as_str()));
        assert_eq!(d.value_num, None);
        assert_eq!(event.resource_tags.as_deref(), Some(&["site:berlin"][..]));
    }
    assert_eq!(
        FrameDecoder::new().decode_message("1|Z"),
        Ok(Frame::Heartbeat)
    );
}

#[test]
fn numeric_values_fill_value_num() {
    let mut decoder = FrameDecoder::new();
    for (json_value, expected) in [
        ("21.5", Some(21.5)),
        ("\"75\"", Some(75.0)),
        ("true", Some(1.0)),
        ("0", Some(0.0)),
        ("null", None),
        ("\"inf\"", None),
        ("\"on\"", None),
    ] {
        let payload = DATAPOINT.replace("\"VALUE\"", json_value);
        let message = framed(&payload);
        let Ok(Frame::Event(event)) = decoder.decode_message(&message) else {
            panic!()
        };
        let Body::Datapoint(d) = &event.body else {
            panic!()
        };
        assert_eq!(d.value_num, expected, "{json_value}");
        assert_eq!(d.value_json, Some(json_value));
    }
}

#[test]
fn errors_name_their_reason_and_keep_the_raw_frame() {
    let cases: &[(&str, DecodeError)] = &[
        (
            "garbage",
            DecodeError::BadPrefix {
                reason: "no `|` after the length",
            },
        ),
        (
            "7|{\"seq\":",
            DecodeError::InvalidJson {
                offset: 6,
                reason: "syntax error",
            },
        ),
        ("2|[]", DecodeError::NotAnObject),
        (
            &framed(&DATAPOINT.replace("\"seq\":\"42\",", "")),
            DecodeError::MissingField { field: "seq" },
        ),
        (
            &framed(&DATAPOINT.replace("\"42\"", "42")),
            DecodeError::WrongType {
                field: "seq",
                expected: "a string of decimal digits without leading zeros",
            },
        ),
        (
            &framed(&DATAPOINT.replace("\"echo\":false", "\"echo\":\"no\"")),
            DecodeError::WrongType {
                field: "datapoint.echo",
                expected: "a boolean",
            },
        ),
        (
            &framed(&DATAPOINT.replace("\"datapoint\"}", "\"firmware\"}")),
            DecodeError::UnknownEventType,
        ),
        (
            &framed(&DATAPOINT.replace("\"property_name\":\"message\",", "")),
            DecodeError::MissingField {
                field: "metadata.property_name",
            },
        ),
        (
            &framed(&DATAPOINT.replace(
                "\"created_at\":\"2026-11-24T10:25:14.123Z\"",
                "\"created_at\":\"yesterday\"",
            )),
            DecodeError::WrongType {
                field: "datapoint.created_at",
                expected: "an ISO-8601 timestamp",
            },
        ),
        (
            &framed(&DATAPOINT.replace("\"closed\":false", "\"$absent\":1")),
            DecodeError::ReservedKey,
        ),
    ];
    let mut decoder = FrameDecoder::new();
    for (frame, expected) in cases {
        let rejected = decoder.decode_message(frame).unwrap_err();
        assert_eq!(&rejected.error, expected, "{frame}");
        assert_eq!(rejected.raw, *frame);
    }
    let message = DecodeError::MissingField {
        field: "metadata.dsn",
    }
    .to_string();
    assert_eq!(message, "missing field `metadata.dsn`");
}

#[test]
fn datapointack_body_may_be_keyed_datapointack() {
    let payload = DATAPOINT
        .replace("\"event_type\":\"datapoint\"", "\"event_type\":\"datapointack\"")
        .replace("\"datapoint\":{", "\"datapointack\":{")
        .replace("\"metadata\":{}}", "\"metadata\":{},\"ack_status\":200,\"ack_message\":0,\"ack_id\":\"a\",\"acked_at\":\"2026-11-24T10:25:15Z\"}");
    let mut decoder = FrameDecoder::new();
    let message = framed(&payload);
    let Ok(Frame::Event(event)) = decoder.decode_message(&message) else {
        panic!()
    };
    assert_eq!(event.table(), Table::Datapointack);
    let Body::Datapointack(_, ack) = &event.body else {
        panic!()
    };
    assert_eq!(ack.ack_status, Some(200));
    assert_eq!(event.extra_json, Some(r#"{"$body":"datapointack"}"#));
}

#[test]
fn a_wrong_length_is_flagged_but_the_event_kept() {
    let mut decoder = FrameDecoder::new();
    let message = format!("3|{DATAPOINT}");
    let length_matches =
        |decoder: &mut FrameDecoder, message: &str| match decoder.decode_message(message) {
            Ok(Frame::Event(event)) => event.length_matches,
            other => panic!("{other:?}"),
        };
    assert!(!length_matches(&mut decoder, &message));
    assert!(length_matches(&mut decoder, &framed(DATAPOINT)));
}

/// A typed column's value in a one-row batch; `None` when NULL.
fn float(batch: &RecordBatch, column: &str) -> Option<f64> {
    let array = batch.column_by_name(column).expect(column);
    let array = array.as_primitive::<Float64Type>();
    array.is_valid(0).then(|| array.value(0))
}

fn int(batch: &RecordBatch, column: &str) -> Option<i64> {
    let array = batch.column_by_name(column).expect(column);
    let array = array.as_primitive::<Int64Type>();
    array.is_valid(0).then(|| array.value(0))
}

fn time(batch: &RecordBatch, column: &str) -> Option<i64> {
    let array = batch.column_by_name(column).expect(column);
    let array = array.as_primitive::<TimestampMicrosecondType>();
    array.is_valid(0).then(|| array.value(0))
}

const BOTH: [Order; 2] = [Order::SeqFirst, Order::SeqLast];

/// The samples every test below starts from are canonical: the fast path reads them, and
/// a test that changes one field therefore checks that path wherever it still applies.
#[test]
fn canonical_events_take_the_fast_path_and_restore_exactly() {
    let mut decoder = FrameDecoder::new();
    for table in Table::EVENTS {
        let decoded = assert_lossless(&mut decoder, &Payload::canonical(table));
        assert!(decoded.fast, "{table}");
        assert_eq!(decoded.table, table);
        assert_eq!(decoded.batch.num_rows(), 1);
    }
}

/// `seq` is a string of decimal digits, stored as an integer and restored as digits: any
/// other spelling of a number would come back as another string, so it is refused.
#[test]
fn a_seq_that_is_not_canonical_digits_is_rejected_on_both_paths() {
    let mut decoder = FrameDecoder::new();
    for table in Table::EVENTS {
        for seq in [
            "007",
            "00",
            "+7",
            "-7",
            " 7",
            "7 ",
            "7.0",
            "7e0",
            "0x7",
            "",
            "٧",
            "７",
            "9223372036854775808",
            "18446744073709551616",
        ] {
            let mut payload = Payload::canonical(table);
            payload.seq = seq.into();
            for order in BOTH {
                let text = payload.render(order);
                assert!(
                    matches!(
                        decode(&mut decoder, &text),
                        Err(DecodeError::WrongType { field: "seq", .. })
                    ),
                    "{text}"
                );
            }
        }
        // Spelled with escapes, `007` is still `007`.
        for order in BOTH {
            let text = Payload::canonical(table)
                .render(order)
                .replace(r#""seq":"4711""#, r#""seq":"\u0030\u00307""#);
            assert!(
                matches!(
                    decode(&mut decoder, &text),
                    Err(DecodeError::WrongType { field: "seq", .. })
                ),
                "{text}"
            );
        }
        for seq in ["0", "7", "9223372036854775807"] {
            let mut payload = Payload::canonical(table);
            payload.seq = seq.into();
            let decoded = assert_lossless(&mut decoder, &payload);
            assert!(decoded.fast, "{seq}");
            assert_eq!(int(&decoded.batch, "seq"), seq.parse().ok());
        }
    }
}

/// The documented fields every table may lack: every field of the canonical event but the
/// envelope's `dsn` and `event_type` and a datapoint's `property_name`.
fn optional_fields(canonical: &Payload) -> (Vec<&str>, Vec<&str>) {
    const REQUIRED: [&str; 3] = ["dsn", "event_type", "property_name"];
    let metadata = canonical
        .metadata
        .iter()
        .map(|(key, _)| key.as_str())
        .filter(|key| !REQUIRED.contains(key))
        .collect();
    let body = canonical.body.iter().map(|(key, _)| key.as_str()).collect();
    (metadata, body)
}

/// A field left out must come back left out, and a `null` as `null`, for every optional field
/// of every table, whichever path reads the frame. The typed columns store both as NULL, so
/// this is the overlay's (or the fast path's refusal's) job.
#[test]
fn absent_and_null_fields_come_back_as_they_came_on_both_paths() {
    let mut decoder = FrameDecoder::new();
    let mut fast = 0;
    for table in Table::EVENTS {
        let mut canonical = Payload::canonical(table);
        if table == Table::Registration {
            canonical = canonical.body("unregistered_at", r#""2026-11-25T08:00:00Z""#);
        }
        let (metadata, body) = optional_fields(&canonical);
        let mut variants = Vec::new();
        for key in metadata {
            variants.push(canonical.clone().without_meta(key));
            variants.push(canonical.clone().meta(key, "null"));
        }
        for key in body {
            variants.push(canonical.clone().without_body(key));
            variants.push(canonical.clone().body(key, "null"));
        }
        for payload in &variants {
            fast += usize::from(assert_lossless(&mut decoder, payload).fast);
        }
    }
    // Most absent fields leave a frame canonical; without fast reads this test would check
    // the general path only.
    assert!(fast >= 30, "{fast}");
}

/// The two fields whose typed column holds JSON `null` natively: there `null` is the column's
/// NULL and absence is what needs recording.
#[test]
fn a_missing_registration_user_or_device_time_is_not_restored_as_null() {
    let mut decoder = FrameDecoder::new();
    for (table, key) in [
        (Table::Registration, "user_uuid"),
        (Table::Datapoint, "created_at_from_device"),
        (Table::Datapointack, "created_at_from_device"),
    ] {
        let body_key = table.body_key().unwrap();
        for order in BOTH {
            let absent = Payload::canonical(table).without_body(key).render(order);
            let restored = decode(&mut decoder, &absent).unwrap().restored;
            assert_eq!(restored[body_key].get(key), None, "{absent}");

            let null = Payload::canonical(table).body(key, "null").render(order);
            let decoded = decode(&mut decoder, &null).unwrap();
            assert_eq!(decoded.restored[body_key].get(key), Some(&Value::Null));
            // A plain NULL, nothing in the overlay: the common case stays cheap to store.
            let extra = decoded.batch.column_by_name("extra_json").unwrap();
            assert!(extra.is_null(0), "{null}");
        }
    }
}

/// Fields nobody documented are kept wherever they appear, including documented names at the
/// wrong level and a second body.
#[test]
fn unknown_fields_at_every_level_are_kept_on_both_paths() {
    let mut decoder = FrameDecoder::new();
    for table in Table::EVENTS {
        let other_body = if table == Table::Connectivity {
            "location_event"
        } else {
            "connection"
        };
        let canonical = Payload::canonical(table);
        let variants = [
            canonical.clone().top("x_top", r#""t""#),
            canonical
                .clone()
                .top("x_tree", r#"{"a":[1,"b",null,{}],"c":-0.5}"#),
            canonical.clone().top("dsn", r#""a dsn at the top""#),
            canonical.clone().top(other_body, r#"{"ip":"192.0.2.9"}"#),
            canonical.clone().top("datapointack", "{}"),
            canonical.clone().meta("x_meta", "7"),
            canonical.clone().meta("x_list", r#"[1,2.5,"c",true]"#),
            canonical
                .clone()
                .meta("status", r#""a status in metadata""#),
            canonical.clone().meta("seq", r#""1""#),
            canonical.clone().body("x_body", r#""b""#),
            canonical.clone().body("x_null", "null"),
            canonical.clone().body("x_num", "-1.5"),
            canonical.clone().body("x_bool", "false"),
            canonical.clone().body("x_obj", r#"{"k":[]}"#),
            canonical.clone().body("event_type", r#""in the body""#),
            canonical.clone().body("seq", r#""9""#),
            canonical
                .clone()
                .top("x_top", "1")
                .meta("x_meta", "2")
                .body("x_body", "3"),
        ];
        for payload in &variants {
            assert_lossless(&mut decoder, payload);
        }
        let property_fields = [
            ("property_name", r#""p""#),
            ("display_name", r#""P""#),
            ("base_type", r#""string""#),
        ];
        if !matches!(table, Table::Datapoint | Table::Datapointack) {
            // Property fields are a datapoint's; elsewhere they are unknown fields.
            for (key, json) in property_fields {
                assert_lossless(&mut decoder, &canonical.clone().meta(key, json));
            }
        }
        if table == Table::Datapoint {
            // So are the ack fields on a plain datapoint.
            for (key, json) in [("ack_status", "200"), ("ack_id", r#""a""#)] {
                assert_lossless(&mut decoder, &canonical.clone().body(key, json));
            }
        }
    }
}

/// DSS pads coordinates (`" 48.856600"`): the float column holds the number, and the event
/// comes back with the text as it was sent.
#[test]
fn padded_coordinates_are_stored_as_numbers_and_restored_as_sent() {
    let mut decoder = FrameDecoder::new();
    for (text, number) in [
        (" 48.856600", 48.8566),
        ("   2.352200", 2.3522),
        ("48.8566 ", 48.8566),
        (" -0.5 ", -0.5),
        (" 0", 0.0),
        ("48.856600", 48.8566),
        ("48.8566", 48.8566),
        ("-180", -180.0),
        ("1e-7", 1e-7),
    ] {
        for key in ["lat", "long"] {
            let payload = Payload::canonical(Table::Location).body(key, &q(text));
            let decoded = assert_lossless(&mut decoder, &payload);
            assert_eq!(float(&decoded.batch, key), Some(number), "{key} {text:?}");
        }
    }
    // Sent as JSON numbers, they are kept too.
    let payload = Payload::canonical(Table::Location)
        .body("lat", "48.8566")
        .body("long", "-2");
    let decoded = assert_lossless(&mut decoder, &payload);
    assert_eq!(float(&decoded.batch, "long"), Some(-2.0));
}

/// Each event table's timestamp fields, one per table, with the column of the same name.
const TIME_FIELDS: [(Table, &str); 6] = [
    (Table::Connectivity, "event_time"),
    (Table::Datapoint, "created_at_from_device"),
    (Table::Datapoint, "updated_at"),
    (Table::Datapointack, "acked_at"),
    (Table::Location, "created_at"),
    (Table::Registration, "registered_at"),
];

/// Every spelling of an instant keeps its text (through the overlay) and is stored as that
/// instant: the stored value's canonical spelling is what the test expects.
#[test]
fn timestamps_in_any_spelling_keep_their_text_and_their_instant() {
    let mut decoder = FrameDecoder::new();
    for (spelling, instant) in [
        ("2026-11-24T10:25:14Z", "2026-11-24T10:25:14Z"),
        ("2026-11-24T10:25:14.000Z", "2026-11-24T10:25:14Z"),
        ("2026-11-24T10:25:14.500000Z", "2026-11-24T10:25:14.500Z"),
        ("2026-11-24T10:25:14.123000Z", "2026-11-24T10:25:14.123Z"),
        ("2026-11-24T10:25:14.1Z", "2026-11-24T10:25:14.100Z"),
        ("2026-11-24T10:25:14.12Z", "2026-11-24T10:25:14.120Z"),
        ("2026-11-24T10:25:14.1234Z", "2026-11-24T10:25:14.123400Z"),
        (
            "2026-11-24T10:25:14.123456789Z",
            "2026-11-24T10:25:14.123456Z",
        ),
        ("2026-11-24T10:25:14+00:00", "2026-11-24T10:25:14Z"),
        ("2026-11-24T10:25:14-00:00", "2026-11-24T10:25:14Z"),
        ("2026-11-24T12:25:14+02:00", "2026-11-24T10:25:14Z"),
        ("2026-11-24T05:55:14-04:30", "2026-11-24T10:25:14Z"),
        ("2026-11-25T00:25:14+14:00", "2026-11-24T10:25:14Z"),
        ("2026-11-24T00:25:14.5+01:00", "2026-11-23T23:25:14.500Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z"),
        ("2026-11-24T10:25:14z", "2026-11-24T10:25:14Z"),
        ("2026-11-24t10:25:14Z", "2026-11-24T10:25:14Z"),
        ("2026-11-24 10:25:14Z", "2026-11-24T10:25:14Z"),
        ("2024-02-29T23:59:59.999999Z", "2024-02-29T23:59:59.999999Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"),
        ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
    ] {
        for (table, key) in TIME_FIELDS {
            let payload = Payload::canonical(table).body(key, &q(spelling));
            let decoded = assert_lossless(&mut decoder, &payload);
            let stored = time(&decoded.batch, key).expect("a timestamp");
            assert_eq!(timestamp_string(stored), instant, "{spelling} in {key}");
            // The canonical spelling needs no overlay, so the fast path reads it.
            assert!(decoded.fast || spelling != instant, "{spelling} in {key}");
        }
    }
}

#[test]
fn impossible_timestamps_are_rejected_naming_the_field() {
    let mut decoder = FrameDecoder::new();
    for spelling in [
        "2026-11-24T10:60:00Z",
        "2026-11-24T10:25:60Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T10:25:14+24:00",
        "2026-11-24T10:25:14+00:60",
        "2026-11-24T10:25:14+0000",
        "1900-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-24T10:25:14.Z",
        "2026-11-24T10:25:14",
        "2026-11-24T10:25:14Z ",
        " 2026-11-24T10:25:14Z",
        "2026-11-24",
        "1732443914",
    ] {
        for (table, key) in TIME_FIELDS {
            for order in BOTH {
                let text = Payload::canonical(table)
                    .body(key, &q(spelling))
                    .render(order);
                match decode(&mut decoder, &text) {
                    Err(DecodeError::WrongType { field, .. }) => {
                        assert!(field.ends_with(key), "{field} for {key}")
                    }
                    other => panic!("{other:?} for {text}"),
                }
            }
        }
    }
}

/// `value` keeps its JSON text on both paths, and `value_num` is the number it spells.
#[test]
fn values_in_every_spelling_keep_their_text_and_their_number() {
    let mut decoder = FrameDecoder::new();
    for (json, number) in [
        ("0", Some(0.0)),
        ("-0", Some(0.0)),
        ("-0.0", Some(-0.0)),
        ("-12.5", Some(-12.5)),
        ("12.50", Some(12.5)),
        ("0.1", Some(0.1)),
        ("-99999999999999999", Some(-99999999999999999.0)),
        ("12345678901234567890", Some(12345678901234567890.0)),
        ("-9223372036854775808", Some(-9223372036854775808.0)),
        ("1e5", Some(1e5)),
        ("1E+5", Some(1e5)),
        ("-1.5e-3", Some(-1.5e-3)),
        ("2.5E2", Some(250.0)),
        ("true", Some(1.0)),
        ("false", Some(0.0)),
        (r#""75""#, Some(75.0)),
        (r#""+5""#, Some(5.0)),
        (r#"" 7 ""#, Some(7.0)),
        (r#""-.5""#, Some(-0.5)),
        (r#""1e3""#, Some(1000.0)),
        (r#""1e400""#, None),
        (r#""NaN""#, None),
        (r#""inf""#, None),
        (r#""""#, None),
        (r#""-""#, None),
        (r#""0x10""#, None),
        (r#""1_000""#, None),
        ("null", None),
        (r#"{"a":1}"#, None),
        ("[1,2]", None),
    ] {
        for table in [Table::Datapoint, Table::Datapointack] {
            let payload = Payload::canonical(table).body("value", json);
            let decoded = assert_lossless(&mut decoder, &payload);
            let stored = float(&decoded.batch, "value_num");
            assert_eq!(
                stored.map(f64::to_bits),
                number.map(f64::to_bits),
                "{json}: {stored:?}"
            );
        }
    }
}

#[test]
fn ack_numbers_are_integers_of_the_full_i64_range() {
    let mut decoder = FrameDecoder::new();
    for (json, number) in [
        ("-1", -1),
        ("0", 0),
        ("99999999999999999", 99_999_999_999_999_999),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ] {
        for key in ["ack_message", "ack_status"] {
            let payload = Payload::canonical(Table::Datapointack).body(key, json);
            let decoded = assert_lossless(&mut decoder, &payload);
            assert_eq!(int(&decoded.batch, key), Some(number), "{key} {json}");
        }
    }
    for json in ["9223372036854775808", "200.0", "2e2", r#""200""#, "true"] {
        for order in BOTH {
            let text = Payload::canonical(Table::Datapointack)
                .body("ack_status", json)
                .render(order);
            assert_eq!(
                decode(&mut decoder, &text).map(|_| ()),
                Err(DecodeError::WrongType {
                    field: "datapoint.ack_status",
                    expected: "an integer"
                }),
                "{text}"
            );
        }
    }
}

/// Escapes are read by the general path; what they spell is stored, and the event restores to
/// the same JSON value (a reader cannot tell `\u00e9` from `é`).
#[test]
fn escaped_strings_restore_to_the_same_value() {
    let mut decoder = FrameDecoder::new();
    for table in Table::EVENTS {
        let canonical = Payload::canonical(table);
        let key = match table {
            Table::Datapoint | Table::Datapointack => "id",
            _ => "user_uuid",
        };
        for json in [
            r#""\u00e9\ud83d\ude00""#,
            r#""a\"b|Z""#,
            r#""tab\there\nnew line\\""#,
            r#""\u0000\u001f""#,
            r#""\/""#,
        ] {
            assert_lossless(&mut decoder, &canonical.clone().body(key, json));
            assert_lossless(&mut decoder, &canonical.clone().meta("oem_id", json));
            assert_lossless(&mut decoder, &canonical.clone().body("x_escaped", json));
        }
        // Raw (unescaped) non-ASCII needs no escape and stays on the fast path.
        let raw = canonical.clone().body(key, "\"é😀|Z\u{7f}\"");
        assert!(assert_lossless(&mut decoder, &raw).fast);
        // An escaped key is the key it spells.
        let text = canonical
            .render(Order::SeqFirst)
            .replace(r#""dsn":"#, r#""\u0064sn":"#);
        let original: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(decode(&mut decoder, &text).unwrap().restored, original);
        // A lone surrogate is not a character: invalid JSON, kept raw for quarantine.
        let text = canonical
            .clone()
            .body(key, r#""\ud800""#)
            .render(Order::SeqFirst);
        assert!(
            matches!(
                decode(&mut decoder, &text),
                Err(DecodeError::InvalidJson { .. })
            ),
            "{text}"
        );
    }
    // An escaped digit is a digit.
    let text = Payload::canonical(Table::Connectivity)
        .render(Order::SeqFirst)
        .replace(r#""seq":"4711""#, r#""seq":"\u0034711""#);
    assert_eq!(
        decode(&mut FrameDecoder::new(), &text).unwrap().restored["seq"],
        "4711"
    );
    let datapoint = Payload::canonical(Table::Datapoint);
    for metadata in [
        r#"{"k\u00e9y":"v\n"}"#,
        r#"{"n":1,"f":-2.5e3,"deep":{"a":[null]}}"#,
        r#"{ "spaced" : true }"#,
        "{}",
    ] {
        assert_lossless(&mut decoder, &datapoint.clone().body("metadata", metadata));
    }
}

/// The socket task answers what `is_heartbeat` says is a heartbeat, and hands every other
/// message to the decoder: the two must agree, or a message is lost or answered twice.
#[test]
fn is_heartbeat_agrees_with_the_decoder() {
    for (message, heartbeat) in [
        ("1|Z", true),
        ("01|Z", true),
        // `LEN` is not checked for a heartbeat: answering costs nothing, missing one a drop.
        ("2|Z", true),
        ("1234567890|Z", true),
        ("x|Z", false),
        ("|Z", false),
        ("Z", false),
        ("", false),
        (" 1|Z", false),
        ("1 |Z", false),
        ("1|Z ", false),
        ("1|Z\n", false),
        ("1|z", false),
        ("2|ZZ", false),
        ("3|a|Z", false),
        ("3|\"Z\"", false),
        ("-1|Z", false),
        ("12345678901|Z", false),
        (r#"20|{"value":"door|Z"}"#, false),
    ] {
        assert_eq!(is_heartbeat(message), heartbeat, "{message:?}");
        let mut decoder = FrameDecoder::new();
        assert_eq!(
            matches!(decoder.decode_message(message), Ok(Frame::Heartbeat)),
            heartbeat,
            "{message:?}"
        );
    }
}

/// The event ends where its object closes: anything after it is not the event's, and a frame
/// that carries it is kept whole in quarantine rather than stored as the event alone.
#[test]
fn data_after_the_event_is_invalid_json_on_both_paths() {
    let mut decoder = FrameDecoder::new();
    for table in Table::EVENTS {
        for order in BOTH {
            let event = Payload::canonical(table).render(order);
            for trailing in [" x", "}", "{}", ",", " \"seq\"", "\n1"] {
                let text = format!("{event}{trailing}");
                assert!(
                    matches!(
                        decode(&mut decoder, &text),
                        Err(DecodeError::InvalidJson { .. })
                    ),
                    "{text}"
                );
            }
            // Whitespace is not data.
            assert_lossless(&mut decoder, &Payload::canonical(table));
            assert!(decode(&mut decoder, &format!(" {event}\n\t ")).is_ok());
        }
    }
}

/// An ack's fields on a plain datapoint are unknown fields there, kept like any other.
#[test]
fn ack_fields_on_a_plain_datapoint_are_kept_as_unknown_fields() {
    let mut decoder = FrameDecoder::new();
    for (key, json) in [
        ("ack_message", "5"),
        ("ack_status", "200"),
        ("ack_id", r#""a-1""#),
        ("acked_at", r#""2026-11-24T10:25:15Z""#),
    ] {
        let payload = Payload::canonical(Table::Datapoint).body(key, json);
        assert_lossless(&mut decoder, &payload);
    }
}

/// Payloads of zero and one byte reach simd-json too, and get its reason, not a complaint
/// about the decoder's own buffer.
#[test]
fn the_shortest_payloads_are_invalid_json_with_simd_jsons_reason() {
    let cases = [
        (
            "0|",
            DecodeError::InvalidJson {
                offset: 0,
                reason: "unexpected end of input",
            },
        ),
        (
            "1|{",
            DecodeError::InvalidJson {
                offset: 0,
                reason: "syntax error",
            },
        ),
    ];
    let mut decoder = FrameDecoder::new();
    for (message, expected) in cases {
        let rejected = decoder.decode_message(message).unwrap_err();
        assert_eq!(rejected.error, expected, "{message}");
    }
}

/// `Event::event_time` on both paths: the preferred time, or the next when it is absent.
#[test]
fn event_time_is_the_first_present_time_of_its_table() {
    const T: i64 = 1_795_515_914_000_000; // 2026-11-24T10:25:14Z
    let unregistered = r#""2026-11-24T10:25:16Z""#;
    let cases = [
        (Payload::canonical(Table::Connectivity), Some(T)),
        (
            Payload::canonical(Table::Connectivity).without_body("event_time"),
            None,
        ),
        (Payload::canonical(Table::Datapoint), Some(T + 123_000)),
        (
            Payload::canonical(Table::Datapoint).without_body("created_at"),
            Some(T),
        ),
        (
            Payload::canonical(Table::Datapoint)
                .without_body("created_at")
                .without_body("updated_at"),
            None,
        ),
        (Payload::canonical(Table::Datapointack), Some(T + 1_000_001)),
        (
            Payload::canonical(Table::Datapointack).without_body("acked_at"),
            Some(T + 123_000),
        ),
        (Payload::canonical(Table::Location), Some(T)),
        (
            Payload::canonical(Table::Location).without_body("created_at"),
            None,
        ),
        (Payload::canonical(Table::Registration), Some(T)),
        (
            Payload::canonical(Table::Registration)
                .without_body("registered_at")
                .body("unregistered_at", unregistered),
            Some(T + 2_000_000),
        ),
        (
            Payload::canonical(Table::Registration).without_body("registered_at"),
            None,
        ),
    ];
    let mut decoder = FrameDecoder::new();
    for (payload, expected) in cases {
        for order in [Order::SeqFirst, Order::SeqLast] {
            let message = framed(&payload.render(order));
            match decoder.decode_message(&message) {
                Ok(Frame::Event(event)) => {
                    assert_eq!(event.event_time(), expected, "{order:?}: {message}")
                }
                other => panic!("{other:?}: {message}"),
            }
        }
    }
}

/// A missing body, or one that is not an object, is named by its key; an ack body does not
/// stand in for a plain datapoint's, and a `$` key at the top is reserved on both paths.
#[test]
fn body_errors_name_the_tables_body_key_on_both_paths() {
    let mut decoder = FrameDecoder::new();
    let mut check = |payload: &Payload, expected: &DecodeError| {
        for order in [Order::SeqFirst, Order::SeqLast] {
            let text = payload.render(order);
            let error = decode(&mut decoder, &text).unwrap_err();
            assert_eq!(&error, expected, "{order:?}: {text}");
        }
    };
    for table in Table::EVENTS {
        let body_key = table.body_key().expect("an event table");
        let mut elsewhere = Payload::canonical(table);
        elsewhere.body_key = "x_elsewhere".into();
        check(&elsewhere, &DecodeError::MissingField { field: body_key });
        check(
            &elsewhere.clone().top(body_key, "[]"),
            &DecodeError::WrongType {
                field: body_key,
                expected: "an object",
            },
        );
        check(
            &Payload::canonical(table).top("$absent", "1"),
            &DecodeError::ReservedKey,
        );
    }
    let mut ack_keyed = Payload::canonical(Table::Datapoint);
    ack_keyed.body_key = "datapointack".into();
    check(
        &ack_keyed,
        &DecodeError::MissingField { field: "datapoint" },
    );
}
