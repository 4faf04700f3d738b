//! From a stored row back to the event's JSON value: the proof that the lake is lossless.
//!
//! Typed columns are turned back into fields (timestamps in their canonical spelling, `seq` as
//! a string, lat/long as strings), NULL columns are left out (except the documented nullable
//! fields `created_at_from_device` and registration `user_uuid`, whose NULL is JSON `null`),
//! and then `extra_json` is laid over the result: its values replace or add fields, its
//! `"$absent"` lists remove fields, its `"$body"` renames the body key.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use dss_lake_schema::{Table, columns as col};
use serde_json::{Map, Value};

use crate::extras::{ABSENT_KEY, BODY_KEY};
use crate::time::timestamp_string;

/// Why a row could not be restored (the batch is not in the table's schema).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("column `{0}` is missing or has an unexpected type")]
    Column(&'static str),
    #[error("row {row} is out of range ({rows} rows)")]
    Row { row: usize, rows: usize },
    #[error("{0} is not an event table")]
    NotAnEventTable(Table),
    #[error("column `{column}` holds invalid JSON")]
    Json { column: &'static str },
}

struct Row<'b> {
    batch: &'b RecordBatch,
    row: usize,
}

impl Row<'_> {
    fn column(&self, name: &'static str) -> Result<&dyn Array, RestoreError> {
        self.batch
            .column_by_name(name)
            .map(|c| c.as_ref())
            .ok_or(RestoreError::Column(name))
    }

    fn text(&self, name: &'static str) -> Result<Option<String>, RestoreError> {
        let array = self.column(name)?;
        let strings = array
            .as_string_opt::<i32>()
            .ok_or(RestoreError::Column(name))?;
        Ok(strings
            .is_valid(self.row)
            .then(|| strings.value(self.row).to_owned()))
    }

    fn int(&self, name: &'static str) -> Result<Option<i64>, RestoreError> {
        let array = self.column(name)?;
        let ints = array
            .as_primitive_opt::<Int64Type>()
            .ok_or(RestoreError::Column(name))?;
        Ok(ints.is_valid(self.row).then(|| ints.value(self.row)))
    }

    fn float(&self, name: &'static str) -> Result<Option<f64>, RestoreError> {
        let array = self.column(name)?;
        let floats = array
            .as_primitive_opt::<Float64Type>()
            .ok_or(RestoreError::Column(name))?;
        Ok(floats.is_valid(self.row).then(|| floats.value(self.row)))
    }

    fn time(&self, name: &'static str) -> Result<Option<i64>, RestoreError> {
        let array = self.column(name)?;
        let times = array
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or(RestoreError::Column(name))?;
        Ok(times.is_valid(self.row).then(|| times.value(self.row)))
    }

    fn boolean(&self, name: &'static str) -> Result<Option<bool>, RestoreError> {
        let array = self.column(name)?;
        let bools = array.as_boolean_opt().ok_or(RestoreError::Column(name))?;
        Ok(bools.is_valid(self.row).then(|| bools.value(self.row)))
    }

    fn json(&self, name: &'static str) -> Result<Option<Value>, RestoreError> {
        self.text(name)?
            .map(|t| serde_json::from_str(&t).map_err(|_| RestoreError::Json { column: name }))
            .transpose()
    }
}

/// Sets `key` unless the column was NULL (a field that was absent).
fn put(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value);
    }
}

/// The JSON value of the event stored at `row` of `batch`, a batch of `table`.
pub fn restore_row(table: Table, batch: &RecordBatch, row: usize) -> Result<Value, RestoreError> {
    if row >= batch.num_rows() {
        return Err(RestoreError::Row {
            row,
            rows: batch.num_rows(),
        });
    }
    let body_key = table
        .body_key()
        .ok_or(RestoreError::NotAnEventTable(table))?;
    let r = Row { batch, row };
    let string = |v: Option<String>| v.map(Value::String);
    let time = |v: Option<i64>| v.map(|t| Value::String(timestamp_string(t)));
    let boolean = |v: Option<bool>| v.map(Value::Bool);
    let int = |v: Option<i64>| v.map(Value::from);
    let coordinate =
        |v: Option<f64>| v.map(|f| Value::String(ryu::Buffer::new().format(f).to_owned()));

    let mut metadata = Map::new();
    put(&mut metadata, "oem_id", string(r.text(col::OEM_ID)?));
    put(&mut metadata, "oem_model", string(r.text(col::OEM_MODEL)?));
    put(&mut metadata, "dsn", string(r.text(col::DSN)?));
    put(&mut metadata, "resource_tags", resource_tags(&r)?);
    metadata.insert("event_type".into(), Value::String(table.dir_name().into()));

    let mut body = Map::new();
    match table {
        Table::Connectivity => {
            put(&mut body, "event_time", time(r.time(col::EVENT_TIME)?));
            put(&mut body, "user_uuid", string(r.text(col::USER_UUID)?));
            put(&mut body, "status", string(r.text(col::STATUS)?));
        }
        Table::Datapoint | Table::Datapointack => {
            put(
                &mut metadata,
                "property_name",
                string(r.text(col::PROPERTY_NAME)?),
            );
            put(
                &mut metadata,
                "display_name",
                string(r.text(col::DISPLAY_NAME)?),
            );
            put(&mut metadata, "base_type", string(r.text(col::BASE_TYPE)?));
            put(&mut body, "id", string(r.text(col::ID)?));
            let device_time = time(r.time(col::CREATED_AT_FROM_DEVICE)?);
            body.insert(
                "created_at_from_device".into(),
                device_time.unwrap_or(Value::Null),
            );
            put(&mut body, "created_at", time(r.time(col::CREATED_AT)?));
            put(&mut body, "updated_at", time(r.time(col::UPDATED_AT)?));
            put(&mut body, "user_uuid", string(r.text(col::USER_UUID)?));
            put(&mut body, "echo", boolean(r.boolean(col::ECHO)?));
            put(&mut body, "closed", boolean(r.boolean(col::CLOSED)?));
            put(&mut body, "value", r.json(col::VALUE_JSON)?);
            put(&mut body, "metadata", r.json(col::METADATA_JSON)?);
            if table == Table::Datapointack {
                put(&mut body, "ack_message", int(r.int(col::ACK_MESSAGE)?));
                put(&mut body, "ack_status", int(r.int(col::ACK_STATUS)?));
                put(&mut body, "ack_id", string(r.text(col::ACK_ID)?));
                put(&mut body, "acked_at", time(r.time(col::ACKED_AT)?));
            }
        }
        Table::Location => {
            put(&mut body, "dsn", string(r.text(col::BODY_DSN)?));
            put(&mut body, "ip", string(r.text(col::IP)?));
            put(&mut body, "lat", coordinate(r.float(col::LAT)?));
            put(&mut body, "long", coordinate(r.float(col::LONG)?));
            put(&mut body, "provider", string(r.text(col::PROVIDER)?));
            put(&mut body, "user_uuid", string(r.text(col::USER_UUID)?));
            put(&mut body, "created_at", time(r.time(col::CREATED_AT)?));
        }
        Table::Registration => {
            put(&mut body, "dsn", string(r.text(col::BODY_DSN)?));
            let user = string(r.text(col::USER_UUID)?);
            body.insert("user_uuid".into(), user.unwrap_or(Value::Null));
            put(
                &mut body,
                "registered",
                boolean(r.boolean(col::REGISTERED)?),
            );
            put(
                &mut body,
                "registration_type",
                string(r.text(col::REGISTRATION_TYPE)?),
            );
            put(
                &mut body,
                "registered_at",
                time(r.time(col::REGISTERED_AT)?),
            );
            put(
                &mut body,
                "unregistered_at",
                time(r.time(col::UNREGISTERED_AT)?),
            );
        }
        Table::Quarantine | Table::Gaps => return Err(RestoreError::NotAnEventTable(table)),
    }

    let seq = r.int(col::SEQ)?.ok_or(RestoreError::Column(col::SEQ))?;
    let extra = r.json(col::EXTRA_JSON)?;
    let body_key = extra
        .as_ref()
        .and_then(|e| e.get(BODY_KEY))
        .and_then(Value::as_str)
        .unwrap_or(body_key)
        .to_owned();
    let mut event = Map::new();
    event.insert("seq".into(), Value::String(seq.to_string()));
    event.insert("metadata".into(), Value::Object(metadata));
    event.insert(body_key, Value::Object(body));
    if let Some(Value::Object(overlay)) = extra {
        apply_overlay(&mut event, overlay);
    }
    Ok(Value::Object(event))
}

fn resource_tags(r: &Row<'_>) -> Result<Option<Value>, RestoreError> {
    let array = r.column(col::RESOURCE_TAGS)?;
    let lists = array
        .as_list_opt::<i32>()
        .ok_or(RestoreError::Column(col::RESOURCE_TAGS))?;
    if lists.is_null(r.row) {
        return Ok(None);
    }
    let tags = lists.value(r.row);
    let tags = tags
        .as_string_opt::<i32>()
        .ok_or(RestoreError::Column(col::RESOURCE_TAGS))?;
    Ok(Some(Value::Array(
        tags.iter()
            .map(|t| Value::String(t.unwrap_or_default().to_owned()))
            .collect(),
    )))
}

fn apply_overlay(target: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (key, value) in overlay {
        match (key.as_str(), value) {
            (BODY_KEY, _) => {}
            (ABSENT_KEY, Value::Array(keys)) => {
                for absent in keys.iter().filter_map(Value::as_str) {
                    target.remove(absent);
                }
            }
            (_, Value::Object(inner)) if matches!(target.get(&key), Some(Value::Object(_))) => {
                if let Some(Value::Object(nested)) = target.get_mut(&key) {
                    apply_overlay(nested, inner);
                }
            }
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}
