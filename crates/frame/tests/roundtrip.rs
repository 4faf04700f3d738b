//! Property test of losslessness: for generated events of all five types, frame -> event -> Arrow
//! row -> JSON gives back a value equal to the original. The generator leans on the protocol's
//! pitfalls: unicode, `|` and `|Z` inside strings, nulls, numeric strings, odd timestamp
//! spellings, lat/long with spaces, and unknown fields at every level.

use dss_lake_frame::{Frame, FrameDecoder, TableBuilder, restore::restore_row};
use dss_lake_schema::Table;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

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
    #![proptest_config(ProptestConfig::with_cases(2000))]

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
