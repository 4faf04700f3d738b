//! The decoder's contract, case by case: framing pitfalls and every error naming its reason.

use dss_lake_frame::{Body, DecodeError, Frame, FrameDecoder};
use dss_lake_schema::Table;

fn framed(payload: &str) -> String {
    format!("{}|{payload}", payload.len())
}

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
