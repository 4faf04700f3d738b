//! Property tests of losslessness: for generated events of all five types, frame -> event ->
//! Arrow row -> JSON gives back a value equal to the original. The first generator leans on the
//! protocol's pitfalls: unicode, `|` and `|Z` inside strings, nulls, numeric strings, odd
//! timestamp spellings, lat/long with spaces, and unknown fields at every level. The second
//! writes events in the shape DSS sends, which the fast path reads, and checks that path
//! against the general one.
//!
//! Both run from a fixed seed, so a run is repeatable and CI never fails on a case nobody can
//! reproduce; a failure is also saved (shrunk) in `roundtrip.proptest-regressions` next to this
//! file, which is committed and re-run first. To explore other cases, override the seed (and
//! the number of cases) from the environment, which proptest reads over this config:
//! `PROPTEST_RNG_SEED=12345 PROPTEST_CASES=20000 cargo test -p dss-lake-frame --test roundtrip`.

use crate::support::{Order, Payload, framed, q};
use dss_lake_frame::{Frame, FrameDecoder, TableBuilder, restore::restore_row};
use dss_lake_schema::Table;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use serde_json::{Map, Value, json};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        rng_seed: RngSeed::Fixed(20),
        // Where proptest would look for it anyway (a test file has no `lib.rs` above it),
        // spelled out so that the file the repository keeps is the one that is read.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.-]{0,12}",
        "\\PC{0,10}",
        "[a-z|Z\"\\\\/é😀\n\t\u{1}]{0,10}",
        Just("|Z".to_owned()),
        Just("1|Z".to_owned()),
    ]
}

fn timestamp() -> impl Strategy<Value = String> {
    // Seconds in 1990..2100, then one of the spellings DSS or its imitators use.
    (631_152_000i64..4_102_444_800, 0u32..1_000_000, 0usize..7).prop_map(|(secs, micros, style)| {
        let base = dss_lake_frame::time::timestamp_string(secs * 1_000_000);
        let stem = &base[..19];
        match style {
            0 => format!("{stem}Z"),
            1 => format!("{stem}.{:03}Z", micros / 1000),
            2 => format!("{stem}.{micros:06}Z"),
            3 => format!("{stem}.000Z"),
            4 => format!("{stem}+00:00"),
            5 => format!("{stem}.{}Z", micros % 10),
            _ => dss_lake_frame::time::timestamp_string(secs * 1_000_000 + i64::from(micros)),
        }
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        text().prop_map(Value::String),
        "-?[0-9]{1,6}(\\.[0-9]{1,4})?".prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown fields: `x_` prefixed so they never collide with documented ones.
fn unknown_fields() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x_[a-z]{1,5}", any_json(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

/// A documented field: present with a value, present as null, or absent.
#[derive(Debug, Clone)]
enum Field {
    Value(Value),
    Null,
    Absent,
}

fn field(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Field> {
    prop_oneof![
        8 => value.prop_map(Field::Value),
        1 => Just(Field::Null),
        1 => Just(Field::Absent),
    ]
}

fn set(object: &mut Map<String, Value>, key: &str, field: Field) {
    match field {
        Field::Value(v) => {
            object.insert(key.into(), v);
        }
        Field::Null => {
            object.insert(key.into(), Value::Null);
        }
        Field::Absent => {}
    }
}

fn s() -> impl Strategy<Value = Field> {
    field(text().prop_map(Value::String))
}
fn t() -> impl Strategy<Value = Field> {
    field(timestamp().prop_map(Value::String))
}
fn b() -> impl Strategy<Value = Field> {
    field(any::<bool>().prop_map(Value::Bool))
}

fn body(table: Table) -> BoxedStrategy<Map<String, Value>> {
    let named = |names: &'static [&'static str], fields: Vec<BoxedStrategy<Field>>| {
        (fields, unknown_fields()).prop_map(move |(values, mut extra)| {
            for (name, value) in names.iter().zip(values) {
                set(&mut extra, name, value);
            }
            extra
        })
    };
    match table {
        Table::Connectivity => named(
            &["event_time", "user_uuid", "status"],
            vec![
                t().boxed(),
                s().boxed(),
                field(prop_oneof![Just(json!("Online")), Just(json!("Offline"))]).boxed(),
            ],
        )
        .boxed(),
        Table::Location => {
            let coordinate = (-90.0f64..90.0, 0usize..3).prop_map(|(x, style)| match style {
                0 => json!(format!(" {x:.6}")),
                1 => json!(ryu::Buffer::new().format(x)),
                _ => json!(x),
            });
            named(
                &[
                    "dsn",
                    "ip",
                    "lat",
                    "long",
                    "provider",
                    "user_uuid",
                    "created_at",
                ],
                vec![
                    s().boxed(),
                    s().boxed(),
                    field(coordinate.clone()).boxed(),
                    field(coordinate).boxed(),
                    s().boxed(),
                    s().boxed(),
                    t().boxed(),
                ],
            )
            .boxed()
        }
        Table::Registration => named(
            &[
                "dsn",
                "user_uuid",
                "registered",
                "registration_type",
                "registered_at",
                "unregistered_at",
            ],
            vec![
                s().boxed(),
                s().boxed(),
                b().boxed(),
                s().boxed(),
                t().boxed(),
                t().boxed(),
            ],
        )
        .boxed(),
        _ => {
            let ack = table == Table::Datapointack;
            let int = field(any::<i64>().prop_map(Value::from)).boxed();
            let mut fields = vec![
                s().boxed(),
                t().boxed(),
                t().boxed(),
                t().boxed(),
                s().boxed(),
                b().boxed(),
                b().boxed(),
                prop_oneof![
                    leaf().prop_map(Field::Value),
                    any_json().prop_map(Field::Value),
                    Just(Field::Absent)
                ]
                .boxed(),
                prop_oneof![any_json().prop_map(Field::Value), Just(Field::Absent)].boxed(),
            ];
            if ack {
                fields.extend([int.clone(), int, s().boxed(), t().boxed()]);
            }
            const DATAPOINT: &[&str] = &[
                "id",
                "created_at_from_device",
                "updated_at",
                "created_at",
                "user_uuid",
                "echo",
                "closed",
                "value",
                "metadata",
                "ack_message",
                "ack_status",
                "ack_id",
                "acked_at",
            ];
            named(DATAPOINT, fields).boxed()
        }
    }
}

fn event() -> impl Strategy<Value = (Table, Value)> {
    let table = prop::sample::select(Table::EVENTS.to_vec());
    table.prop_flat_map(|table| {
        let metadata = (
            s(),
            s(),
            "AC[0-9A-Z]{1,13}",
            field(prop::collection::vec(text(), 0..3).prop_map(|v| json!(v))),
            unknown_fields(),
        );
        let property = (text(), s(), s());
        let body_key = if table == Table::Datapointack {
            prop_oneof![Just("datapoint"), Just("datapointack")].boxed()
        } else {
            Just(table.body_key().unwrap()).boxed()
        };
        (
            0u64..i64::MAX as u64,
            metadata,
            property,
            body(table),
            body_key,
            unknown_fields(),
        )
            .prop_map(
                move |(
                    seq,
                    (oem_id, oem_model, dsn, tags, mut meta),
                    (pn, dn, bt),
                    body,
                    body_key,
                    mut top,
                )| {
                    set(&mut meta, "oem_id", oem_id);
                    set(&mut meta, "oem_model", oem_model);
                    meta.insert("dsn".into(), json!(dsn));
                    set(&mut meta, "resource_tags", tags);
                    meta.insert("event_type".into(), json!(table.dir_name()));
                    if matches!(table, Table::Datapoint | Table::Datapointack) {
                        meta.insert("property_name".into(), json!(pn));
                        set(&mut meta, "display_name", dn);
                        set(&mut meta, "base_type", bt);
                    }
                    top.insert("seq".into(), json!(seq.to_string()));
                    top.insert("metadata".into(), Value::Object(meta));
                    top.insert(body_key.into(), Value::Object(body));
                    (table, Value::Object(top))
                },
            )
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn frame_to_row_to_json_is_the_identity((table, original) in event()) {
        let payload = serde_json::to_string(&original).unwrap();
        let message = format!("{}|{payload}", payload.len());
        let mut decoder = FrameDecoder::new();
        let event = match decoder.decode_message(&message) {
            Ok(Frame::Event(event)) => event,
            other => panic!("{other:?} for {message}"),
        };
        prop_assert_eq!(event.table(), table);
        let mut builder = TableBuilder::new(table, 4);
        builder.append(&event, "s", 0).unwrap();
        let batch = builder.finish();
        let restored = restore_row(table, &batch, 0).unwrap();
        prop_assert_eq!(restored, original, "frame: {}", message);
    }
}

/// A field's JSON text, and whether the fast path reads it as it stands (`false`: it needs the
/// general path or the overlay, and the fast path may give up on the frame).
type Spelled = (String, bool);
type SpelledField = (&'static str, Option<String>, bool);

/// Strings the fast path reads: no quote, backslash or control character, so no escapes.
fn plain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.:-]{0,12}",
        "[^\"\\\\\\x00-\\x1f]{0,10}",
        Just("|Z".to_owned()),
        Just("1|Z".to_owned()),
    ]
}

/// The canonical spellings, or (when `odd`) as often one the fast path leaves.
fn spelled(
    canonical: BoxedStrategy<String>,
    other: BoxedStrategy<String>,
    odd: bool,
) -> BoxedStrategy<Spelled> {
    let canonical = canonical.prop_map(|json| (json, true));
    if odd {
        prop_oneof![canonical, other.prop_map(|json| (json, false))].boxed()
    } else {
        canonical.boxed()
    }
}

fn string(odd: bool) -> BoxedStrategy<Spelled> {
    spelled(
        plain().prop_map(|t| q(&t)).boxed(),
        "[a-z\"\\\\\n\t\u{1}é]{1,6}".prop_map(|t| q(&t)).boxed(),
        odd,
    )
}

/// Year 0000 to 9999, to the second, millisecond or microsecond: the canonical spelling has no
/// fraction, three or six digits accordingly.
fn timestamp_spelled(odd: bool) -> BoxedStrategy<Spelled> {
    let instant = (
        -62_167_219_200_000_000i64..253_402_300_800_000_000,
        0usize..3,
    )
        .prop_map(|(micros, precision)| {
            let unit = [1_000_000, 1_000, 1][precision];
            dss_lake_frame::time::timestamp_string(micros - micros.rem_euclid(unit))
        });
    spelled(
        instant.clone().prop_map(|t| q(&t)).boxed(),
        instant
            .prop_map(|t| q(&format!("{}.000+00:00", &t[..19])))
            .boxed(),
        odd,
    )
}

fn boolean() -> BoxedStrategy<Spelled> {
    any::<bool>().prop_map(|b| (b.to_string(), true)).boxed()
}

/// The scanner reads integers of up to 17 digits; longer ones go to simd-json.
fn integer_spelled(odd: bool) -> BoxedStrategy<Spelled> {
    const MAX_SCANNED: i64 = 99_999_999_999_999_999;
    spelled(
        (-MAX_SCANNED..=MAX_SCANNED)
            .prop_map(|n| n.to_string())
            .boxed(),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-MAX_SCANNED - 1)]
            .prop_map(|n| n.to_string())
            .boxed(),
        odd,
    )
}

/// Decimals as devices spell them (`12.50`), within the digits a float holds exactly.
fn decimal() -> BoxedStrategy<String> {
    (any::<bool>(), 0u32..100_000_000, "[0-9]{1,6}")
        .prop_map(|(negative, int, fraction)| {
            let sign = if negative { "-" } else { "" };
            format!("{sign}{int}.{fraction}")
        })
        .boxed()
}

fn value_spelled(odd: bool) -> BoxedStrategy<Spelled> {
    let canonical = prop_oneof![
        3 => plain().prop_map(|t| q(&t)),
        3 => integer_spelled(false).prop_map(|(json, _)| json),
        3 => decimal(),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("null".to_owned()),
        1 => "-?[0-9]{1,6}(\\.[0-9]{1,4})?".prop_map(|t| q(&t)),
    ];
    let other = prop_oneof![
        Just("1e5"),
        Just("-2.5E-3"),
        Just("[1]"),
        Just(r#"{"a":1}"#),
        Just("123456789012345678"),
    ]
    .prop_map(str::to_owned);
    spelled(canonical.boxed(), other.boxed(), odd)
}

/// The body's own `metadata`: the fast path reads a compact object of strings, booleans and
/// nulls.
fn flat_object(odd: bool) -> BoxedStrategy<Spelled> {
    let leaf = prop_oneof![
        plain().prop_map(|t| q(&t)),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("null".to_owned()),
    ];
    let flat = prop::collection::btree_map("[a-z_]{1,6}", leaf, 0..4).prop_map(|m| {
        let entries: Vec<String> = m.iter().map(|(k, v)| format!("{}:{v}", q(k))).collect();
        format!("{{{}}}", entries.join(","))
    });
    let other = prop_oneof![Just(r#"{"n":1,"o":{}}"#), Just(r#"{"k": "spaced"}"#)];
    spelled(flat.boxed(), other.prop_map(str::to_owned).boxed(), odd)
}

/// Coordinates the fast path reads are the float's shortest spelling; DSS's padded ones and
/// numbers need the overlay.
fn coordinate_spelled(odd: bool) -> BoxedStrategy<Spelled> {
    let x = -180.0f64..180.0;
    spelled(
        x.clone()
            .prop_map(|x| q(ryu::Buffer::new().format(x)))
            .boxed(),
        (x, 0usize..3)
            .prop_map(|(x, style)| match style {
                0 => q(&format!(" {x:.6}")),
                1 => q(&format!("{x:.7}")),
                _ => ryu::Buffer::new().format(x).to_owned(),
            })
            .boxed(),
        odd,
    )
}

fn tags_spelled() -> BoxedStrategy<Spelled> {
    prop::collection::vec(plain(), 0..3)
        .prop_map(|tags| (serde_json::to_string(&tags).unwrap(), true))
        .boxed()
}

/// A documented field present, absent or `null`. `absent_reads`/`null_reads`: whether the fast
/// path reads the frame without it or with `null`; when not `odd`, only what it reads.
fn field_spelled(
    key: &'static str,
    value: BoxedStrategy<Spelled>,
    (absent_reads, null_reads): (bool, bool),
    odd: bool,
) -> BoxedStrategy<SpelledField> {
    let present = value.prop_map(move |(json, fast)| (key, Some(json), fast));
    let absent = Just((key, None, absent_reads));
    let null = Just((key, Some("null".to_owned()), null_reads));
    if odd {
        return prop_oneof![2 => present, 1 => absent, 1 => null].boxed();
    }
    match (absent_reads, null_reads) {
        (true, true) => prop_oneof![8 => present, 1 => absent, 1 => null].boxed(),
        (true, false) => prop_oneof![8 => present, 1 => absent].boxed(),
        (false, true) => prop_oneof![8 => present, 1 => null].boxed(),
        (false, false) => present.boxed(),
    }
}

/// Most optional fields: the fast path reads them absent, not `null` (the overlay's job).
const MAY_BE_ABSENT: (bool, bool) = (true, false);
/// A field whose column holds `null` natively, and whose absence the overlay records.
const NULLABLE: (bool, bool) = (false, true);

fn dss_body(table: Table, odd: bool) -> Vec<BoxedStrategy<SpelledField>> {
    let optional = |key, value| field_spelled(key, value, MAY_BE_ABSENT, odd);
    let datapoint = || {
        vec![
            optional("id", string(odd)),
            field_spelled(
                "created_at_from_device",
                timestamp_spelled(odd),
                NULLABLE,
                odd,
            ),
            optional("updated_at", timestamp_spelled(odd)),
            optional("created_at", timestamp_spelled(odd)),
            optional("user_uuid", string(odd)),
            optional("echo", boolean()),
            optional("closed", boolean()),
            // `null` is one of its values.
            field_spelled("value", value_spelled(odd), (true, true), odd),
            optional("metadata", flat_object(odd)),
        ]
    };
    match table {
        Table::Connectivity => vec![
            optional("event_time", timestamp_spelled(odd)),
            optional("user_uuid", string(odd)),
            optional("status", string(odd)),
        ],
        Table::Datapoint => datapoint(),
        Table::Datapointack => {
            let mut fields = datapoint();
            fields.extend([
                optional("ack_message", integer_spelled(odd)),
                optional("ack_status", integer_spelled(odd)),
                optional("ack_id", string(odd)),
                optional("acked_at", timestamp_spelled(odd)),
            ]);
            fields
        }
        Table::Location => vec![
            optional("dsn", string(odd)),
            optional("ip", string(odd)),
            optional("lat", coordinate_spelled(odd)),
            optional("long", coordinate_spelled(odd)),
            optional("provider", string(odd)),
            optional("user_uuid", string(odd)),
            optional("created_at", timestamp_spelled(odd)),
        ],
        Table::Registration => vec![
            optional("dsn", string(odd)),
            field_spelled("user_uuid", string(odd), NULLABLE, odd),
            optional("registered", boolean()),
            optional("registration_type", string(odd)),
            optional("registered_at", timestamp_spelled(odd)),
            optional("unregistered_at", timestamp_spelled(odd)),
        ],
        Table::Quarantine | Table::Gaps => unreachable!("not an event table"),
    }
}

fn dss_metadata(table: Table, odd: bool) -> Vec<BoxedStrategy<SpelledField>> {
    let optional = |key, value| field_spelled(key, value, MAY_BE_ABSENT, odd);
    let required = |key, value: BoxedStrategy<Spelled>| {
        value
            .prop_map(move |(json, fast)| (key, Some(json), fast))
            .boxed()
    };
    let mut fields = vec![
        optional("oem_id", string(odd)),
        optional("oem_model", string(odd)),
        required("dsn", string(odd)),
        optional("resource_tags", tags_spelled()),
        required("event_type", Just((q(table.dir_name()), true)).boxed()),
    ];
    if matches!(table, Table::Datapoint | Table::Datapointack) {
        fields.extend([
            required("property_name", string(odd)),
            optional("display_name", string(odd)),
            optional("base_type", string(odd)),
        ]);
    }
    fields
}

/// The present fields, in the generated order, and whether the fast path reads them all.
fn present(fields: Vec<SpelledField>) -> (Vec<(String, String)>, bool) {
    let fast = fields.iter().all(|(_, _, fast)| *fast);
    let present = fields
        .into_iter()
        .filter_map(|(key, json, _)| Some((key.to_owned(), json?)))
        .collect();
    (present, fast)
}

/// Events written as DSS writes them: `seq`, `metadata`, then the body, the fields of each
/// object in any order. Half are canonical; in the other half one field (or the body's key, or
/// an unknown field) may be spelled so that it needs the general path or the overlay: an
/// escape, a `null`, an absence, an odd timestamp... Each such frame is one step outside what
/// the fast path reads, which is where a fast path that reads too much would go wrong. The
/// event says whether the fast path must read it.
fn dss_event() -> impl Strategy<Value = (Table, Payload, bool)> {
    let table = prop::sample::select(Table::EVENTS.to_vec());
    let odd_slot = prop::option::weighted(0.5, any::<prop::sample::Index>());
    (table, odd_slot).prop_flat_map(|(table, odd_slot)| {
        let (metadata_len, body_len) = (
            dss_metadata(table, false).len(),
            dss_body(table, false).len(),
        );
        // The slots: each metadata field, each body field, the body key, an unknown field.
        let odd = odd_slot.map(|slot| slot.index(metadata_len + body_len + 2));
        let pick = |canonical: Vec<_>,
                    odd_ones: Vec<_>,
                    first: usize|
         -> Vec<BoxedStrategy<SpelledField>> {
            canonical
                .into_iter()
                .zip(odd_ones)
                .enumerate()
                .map(|(i, (c, o))| if odd == Some(first + i) { o } else { c })
                .collect()
        };
        let metadata = pick(dss_metadata(table, false), dss_metadata(table, true), 0);
        let body = pick(dss_body(table, false), dss_body(table, true), metadata_len);
        let body_key = match table {
            Table::Datapointack if odd == Some(metadata_len + body_len) => {
                Just(("datapointack", false)).boxed()
            }
            _ => Just((table.body_key().unwrap(), true)).boxed(),
        };
        let unknown = if odd == Some(metadata_len + body_len + 1) {
            (0usize..3, "x_[a-z]{1,4}", plain()).prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        };
        (
            0..=i64::MAX as u64,
            metadata.prop_shuffle(),
            body.prop_shuffle(),
            body_key,
            unknown,
        )
            .prop_map(
                move |(seq, metadata, body, (body_key, body_key_fast), unknown)| {
                    let (metadata, metadata_fast) = present(metadata);
                    let (body, body_fast) = present(body);
                    let mut payload = Payload {
                        seq: seq.to_string(),
                        metadata,
                        body_key: body_key.to_owned(),
                        body,
                        top: Vec::new(),
                    };
                    if let Some((level, key, text)) = &unknown {
                        let field = (key.clone(), q(text));
                        match level {
                            0 => payload.top.push(field),
                            1 => payload.metadata.push(field),
                            _ => payload.body.push(field),
                        }
                    }
                    // The fast path reads a body with fields (DSS sends no empty ones).
                    let fast = metadata_fast
                        && body_fast
                        && !payload.body.is_empty()
                        && body_key_fast
                        && unknown.is_none();
                    (table, payload, fast)
                },
            )
    })
}

/// More cases than the other property: half are canonical, and the other half spread one odd
/// field over some twenty fields of five tables.
fn fast_path_config() -> ProptestConfig {
    ProptestConfig {
        cases: 5000,
        ..config()
    }
}

proptest! {
    #![proptest_config(fast_path_config())]

    /// The fast path reads the frames DSS sends (else it is no fast path), and reads each as
    /// the general path does: the same event, which restores to the JSON that was sent. The
    /// general path gets the same event with `seq` moved last, which the fast path leaves.
    #[test]
    fn the_fast_path_reads_dss_frames_as_the_general_path_does(
        (table, payload, canonical) in dss_event()
    ) {
        let dss_order = framed(&payload.render(Order::SeqFirst));
        let seq_last = framed(&payload.render(Order::SeqLast));
        let original: Value = serde_json::from_str(&payload.render(Order::SeqFirst)).unwrap();
        let (mut fast, mut general) = (FrameDecoder::new(), FrameDecoder::new());
        let batch = match (fast.decode_message(&dss_order), general.decode_message(&seq_last)) {
            (Ok(Frame::Event(read_fast)), Ok(Frame::Event(read_general))) => {
                prop_assert_eq!(&read_fast, &read_general, "frame: {}", dss_order);
                prop_assert_eq!(read_fast.table(), table);
                let mut builder = TableBuilder::new(table, 1);
                builder.append(&read_fast, "s", 0).unwrap();
                builder.finish()
            }
            other => panic!("{other:?} for {dss_order}"),
        };
        prop_assert_eq!(restore_row(table, &batch, 0).unwrap(), original, "frame: {}", dss_order);
        prop_assert_eq!(general.fast_path_frames(), 0, "the fast path read {}", seq_last);
        if canonical {
            prop_assert_eq!(fast.fast_path_frames(), 1, "the fast path left {}", dss_order);
        }
    }
}
