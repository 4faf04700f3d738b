//! What the decoder's test modules share: events
//! written as text in the key order the test chooses, and the way from a payload to its stored
//! row and back to JSON.
//!
//! The text is written by hand because `serde_json`'s maps sort their keys: `metadata` would
//! always come before `seq`, and the fast path, which wants `seq` first, would never be reached.

use arrow_array::RecordBatch;
use dss_lake_frame::{DecodeError, Frame, FrameDecoder, TableBuilder, restore::restore_row};
use dss_lake_schema::Table;
use serde_json::Value;

pub(crate) fn framed(payload: &str) -> String {
    format!("{}|{payload}", payload.len())
}

/// `text` as a JSON string literal.
pub(crate) fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// An event as ordered lists of `(key, JSON text)`.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    pub(crate) seq: String,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) body_key: String,
    pub(crate) body: Vec<(String, String)>,
    /// Top-level fields after the body.
    pub(crate) top: Vec<(String, String)>,
}

/// Where `seq` goes in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// First, as DSS sends it: the shape the fast path reads.
    SeqFirst,
    /// After the body: the same event, which the fast path leaves to the general one.
    SeqLast,
}

fn set(fields: &mut Vec<(String, String)>, key: &str, json: &str) {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(field) => field.1 = json.to_owned(),
        None => fields.push((key.to_owned(), json.to_owned())),
    }
}

fn object(fields: &[(String, String)]) -> String {
    let entries: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", q(k)))
        .collect();
    format!("{{{}}}", entries.join(","))
}

impl Payload {
    /// The five canonical events the tests start from: every documented field present, every
    /// value spelled the way the typed columns give it back.
    pub(crate) fn canonical(table: Table) -> Payload {
        let fields = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let mut metadata = fields(&[
            ("oem_id", r#""1a2b3c4d""#),
            ("oem_model", r#""freezer""#),
            ("dsn", r#""AC000W000123456""#),
            ("resource_tags", r#"["site:berlin"]"#),
        ]);
        let datapoint = [
            ("id", r#""9c1e0000-0000-4000-8000-000000000001""#),
            ("created_at_from_device", r#""2026-11-24T10:25:13.500Z""#),
            ("updated_at", r#""2026-11-24T10:25:14Z""#),
            ("created_at", r#""2026-11-24T10:25:14.123Z""#),
            ("user_uuid", r#""u-1""#),
            ("echo", "false"),
            ("closed", "true"),
            ("value", "12.50"),
            ("metadata", r#"{"origin":"app","n":null}"#),
        ];
        let body = match table {
            Table::Connectivity => fields(&[
                ("event_time", r#""2026-11-24T10:25:14Z""#),
                ("user_uuid", r#""u-1""#),
                ("status", r#""Online""#),
            ]),
            Table::Datapoint => fields(&datapoint),
            Table::Datapointack => {
                let mut body = fields(&datapoint);
                body.extend(fields(&[
                    ("ack_message", "0"),
                    ("ack_status", "200"),
                    ("ack_id", r#""a-1""#),
                    ("acked_at", r#""2026-11-24T10:25:15.000001Z""#),
                ]));
                body
            }
            Table::Location => fields(&[
                ("dsn", r#""AC000W000123456""#),
                ("ip", r#""192.0.2.1""#),
                ("lat", r#""48.8566""#),
                ("long", r#""-2.3522""#),
                ("provider", r#""ip-based""#),
                ("user_uuid", r#""u-1""#),
                ("created_at", r#""2026-11-24T10:25:14Z""#),
            ]),
            Table::Registration => fields(&[
                ("dsn", r#""AC000W000123456""#),
                ("user_uuid", r#""u-1""#),
                ("registered", "true"),
                ("registration_type", r#""AP-Mode""#),
                ("registered_at", r#""2026-11-24T10:25:14Z""#),
            ]),
            Table::Quarantine | Table::Gaps => panic!("{table} is not an event table"),
        };
        if matches!(table, Table::Datapoint | Table::Datapointack) {
            metadata.extend(fields(&[
                ("property_name", r#""temp_c""#),
                ("display_name", r#""Temperature""#),
                ("base_type", r#""decimal""#),
            ]));
        }
        metadata.push(("event_type".into(), q(table.dir_name())));
        Payload {
            seq: "4711".into(),
            metadata,
            body_key: table.body_key().expect("an event table").into(),
            body,
            top: Vec::new(),
        }
    }

    pub(crate) fn body(mut self, key: &str, json: &str) -> Self {
        set(&mut self.body, key, json);
        self
    }

    pub(crate) fn without_body(mut self, key: &str) -> Self {
        self.body.retain(|(k, _)| k != key);
        self
    }

    pub(crate) fn meta(mut self, key: &str, json: &str) -> Self {
        set(&mut self.metadata, key, json);
        self
    }

    pub(crate) fn without_meta(mut self, key: &str) -> Self {
        self.metadata.retain(|(k, _)| k != key);
        self
    }

    pub(crate) fn top(mut self, key: &str, json: &str) -> Self {
        set(&mut self.top, key, json);
        self
    }

    pub(crate) fn render(&self, order: Order) -> String {
        let seq = format!(r#""seq":{}"#, q(&self.seq));
        let mut parts = Vec::new();
        if order == Order::SeqFirst {
            parts.push(seq.clone());
        }
        parts.push(format!(r#""metadata":{}"#, object(&self.metadata)));
        parts.push(format!("{}:{}", q(&self.body_key), object(&self.body)));
        parts.extend(self.top.iter().map(|(k, v)| format!("{}:{v}", q(k))));
        if order == Order::SeqLast {
            parts.push(seq);
        }
        format!("{{{}}}", parts.join(","))
    }
}

/// One payload decoded, stored in a one-row batch and restored.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) table: Table,
    pub(crate) batch: RecordBatch,
    pub(crate) restored: Value,
    /// Whether the decoder's fast path read it.
    pub(crate) fast: bool,
}

/// Decodes `payload` as a framed message; a rejection must carry the raw message.
pub(crate) fn decode(decoder: &mut FrameDecoder, payload: &str) -> Result<Decoded, DecodeError> {
    let message = framed(payload);
    let fast_before = decoder.fast_path_frames();
    let (table, batch) = match decoder.decode_message(&message) {
        Ok(Frame::Event(event)) => {
            let mut builder = TableBuilder::new(event.table(), 1);
            builder.append(&event, "s", 0).expect("its own table");
            (event.table(), builder.finish())
        }
        Ok(Frame::Heartbeat) => panic!("a heartbeat: {message}"),
        Err(rejected) => {
            assert_eq!(rejected.raw, message);
            return Err(rejected.error);
        }
    };
    let fast = decoder.fast_path_frames() > fast_before;
    let restored = restore_row(table, &batch, 0).expect("a row of its table");
    Ok(Decoded {
        table,
        batch,
        restored,
        fast,
    })
}

/// Decodes `payload` in both key orders and checks that each restores to the JSON value it
/// was, and that `SeqLast` did leave the fast path. Returns the `SeqFirst` result.
pub(crate) fn assert_lossless(decoder: &mut FrameDecoder, payload: &Payload) -> Decoded {
    let mut results = [Order::SeqFirst, Order::SeqLast].map(|order| {
        let text = payload.render(order);
        let original: Value = serde_json::from_str(&text).expect("the test wrote valid JSON");
        let decoded = decode(decoder, &text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(decoded.restored, original, "{order:?}: {text}");
        if order == Order::SeqLast {
            assert!(!decoded.fast, "the fast path read {text}");
        }
        Some(decoded)
    });
    results[0].take().expect("decoded")
}
