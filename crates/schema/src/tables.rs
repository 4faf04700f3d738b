//! The lake's tables and their Arrow schemas.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::columns::*;

/// The type of every timestamp in the lake: microseconds since the epoch, UTC.
///
/// Microseconds because DSS sends at most millisecond fractions and every engine (pandas, DuckDB,
/// Spark, Trino) reads `us` UTC natively, while Spark truncates `ns` anyway.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
}

/// A table of the lake. The five event tables take one DSS event type each; `Quarantine` holds
/// what could not be decoded, `Gaps` the jumps in `seq` the ingest daemon saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Connectivity,
    Datapoint,
    Datapointack,
    Location,
    Registration,
    Quarantine,
    Gaps,
}

impl Table {
    /// Every table, event tables first.
    pub const ALL: [Table; 7] = [
        Table::Connectivity,
        Table::Datapoint,
        Table::Datapointack,
        Table::Location,
        Table::Registration,
        Table::Quarantine,
        Table::Gaps,
    ];

    /// The tables that hold decoded DSS events.
    pub const EVENTS: [Table; 5] = [
        Table::Connectivity,
        Table::Datapoint,
        Table::Datapointack,
        Table::Location,
        Table::Registration,
    ];

    /// The table name in SQL and the folder name under the lake root.
    pub const fn dir_name(self) -> &'static str {
        match self {
            Table::Connectivity => "connectivity",
            Table::Datapoint => "datapoint",
            Table::Datapointack => "datapointack",
            Table::Location => "location",
            Table::Registration => "registration",
            Table::Quarantine => "quarantine",
            Table::Gaps => "gaps",
        }
    }

    /// The table for a DSS `metadata.event_type`, which is also its name.
    pub fn from_event_type(event_type: &str) -> Option<Table> {
        Table::EVENTS
            .into_iter()
            .find(|t| t.dir_name() == event_type)
    }

    /// The table named `name` (as in SQL or on disk).
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.dir_name() == name)
    }

    /// True for the five tables that hold DSS events.
    pub const fn is_event(self) -> bool {
        !matches!(self, Table::Quarantine | Table::Gaps)
    }

    /// The key of the event body object in the DSS envelope (`None` for non-event tables).
    pub const fn body_key(self) -> Option<&'static str> {
        match self {
            Table::Connectivity => Some("connection"),
            Table::Datapoint | Table::Datapointack => Some("datapoint"),
            Table::Location => Some("location_event"),
            Table::Registration => Some("registration_event"),
            Table::Quarantine | Table::Gaps => None,
        }
    }

    /// The event's own time, in order of preference: the first non-null of these columns.
    /// When all are null (or the table has none) the writer falls back to `received_at` for the
    /// `date=` partition. Files are sorted by the first of these columns alone (NULLs first),
    /// not by that fallback.
    pub const fn event_time_columns(self) -> &'static [&'static str] {
        match self {
            Table::Connectivity => &[EVENT_TIME],
            Table::Datapoint => &[CREATED_AT, UPDATED_AT],
            Table::Datapointack => &[ACKED_AT, CREATED_AT],
            Table::Location => &[CREATED_AT],
            Table::Registration => &[REGISTERED_AT, UNREGISTERED_AT],
            Table::Quarantine => &[RECEIVED_AT],
            Table::Gaps => &[DETECTED_AT],
        }
    }

    /// The columns rows are sorted by inside each file, before the event time: `dsn` and, where
    /// the table has one, `property_name`. Queries for one device (and one property) then read a
    /// few pages, thanks to the page index.
    pub const fn sort_prefix(self) -> &'static [&'static str] {
        match self {
            Table::Datapoint | Table::Datapointack => &[DSN, PROPERTY_NAME],
            Table::Connectivity | Table::Location | Table::Registration => &[DSN],
            Table::Quarantine | Table::Gaps => &[STREAM],
        }
    }

    /// Every column rows are sorted by inside each file, ascending with NULLs first:
    /// [`Table::sort_prefix`], the first of the event-time columns, and `seq` as the tie-breaker
    /// that makes the order total. The writer sorts by these, and the engine declares them as
    /// each file's ordering.
    pub fn sort_columns(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.sort_prefix().to_vec();
        names.push(self.event_time_columns()[0]);
        if self.is_event() {
            names.push(SEQ);
        }
        names
    }

    /// The Arrow schema of the table's Parquet files (without the `date` partition column).
    pub fn schema(self) -> SchemaRef {
        static SCHEMAS: LazyLock<[SchemaRef; 7]> =
            LazyLock::new(|| Table::ALL.map(|t| Arc::new(Schema::new(t.fields()))));
        SCHEMAS[self as usize].clone()
    }

    /// The schema of the table as every reader sees it: the columns of its files, then the
    /// [`DATE`] partition column (the UTC day of the row's event time), which the files do not
    /// hold because their folder names it. This is the Delta table's schema; every type in it
    /// is one Delta Lake has (no unsigned integers, timestamps in UTC), so Spark, Trino, DuckDB
    /// and polars read the files as written.
    pub fn table_schema(self) -> SchemaRef {
        static SCHEMAS: LazyLock<[SchemaRef; 7]> = LazyLock::new(|| {
            Table::ALL.map(|t| {
                let mut fields = t.fields();
                fields.push(Field::new(DATE, DataType::Date32, false));
                Arc::new(Schema::new(fields))
            })
        });
        SCHEMAS[self as usize].clone()
    }

    fn fields(self) -> Vec<Field> {
        let ts = |name: &str, nullable: bool| Field::new(name, timestamp_type(), nullable);
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let mut fields = match self {
            Table::Quarantine => {
                return vec![
                    Field::new(STREAM, DataType::Utf8, false),
                    ts(RECEIVED_AT, false),
                    text(SOURCE),
                    Field::new(RAW, DataType::Utf8, false),
                    Field::new(ERROR_KIND, DataType::Utf8, false),
                    Field::new(ERROR_MESSAGE, DataType::Utf8, false),
                ];
            }
            Table::Gaps => {
                return vec![
                    Field::new(STREAM, DataType::Utf8, false),
                    Field::new(EXPECTED_SEQ, DataType::Int64, false),
                    Field::new(RECEIVED_SEQ, DataType::Int64, false),
                    ts(DETECTED_AT, false),
                ];
            }
            _ => envelope_fields(),
        };
        match self {
            Table::Connectivity => {
                fields.extend([ts(EVENT_TIME, true), text(USER_UUID), text(STATUS)]);
            }
            Table::Datapoint | Table::Datapointack => {
                fields.extend([
                    Field::new(PROPERTY_NAME, DataType::Utf8, false),
                    text(DISPLAY_NAME),
                    text(BASE_TYPE),
                    text(ID),
                    ts(CREATED_AT_FROM_DEVICE, true),
                    ts(CREATED_AT, true),
                    ts(UPDATED_AT, true),
                    text(USER_UUID),
                    Field::new(ECHO, DataType::Boolean, true),
                    Field::new(CLOSED, DataType::Boolean, true),
                    text(VALUE_JSON),
                    Field::new(VALUE_NUM, DataType::Float64, true),
                    text(METADATA_JSON),
                ]);
                if self == Table::Datapointack {
                    fields.extend([
                        Field::new(ACK_MESSAGE, DataType::Int64, true),
                        Field::new(ACK_STATUS, DataType::Int64, true),
                        text(ACK_ID),
                        ts(ACKED_AT, true),
                    ]);
                }
            }
            Table::Location => {
                fields.extend([
                    text(BODY_DSN),
                    text(IP),
                    Field::new(LAT, DataType::Float64, true),
                    Field::new(LONG, DataType::Float64, true),
                    text(PROVIDER),
                    text(USER_UUID),
                    ts(CREATED_AT, true),
                ]);
            }
            Table::Registration => {
                fields.extend([
                    text(BODY_DSN),
                    text(USER_UUID),
                    Field::new(REGISTERED, DataType::Boolean, true),
                    text(REGISTRATION_TYPE),
                    ts(REGISTERED_AT, true),
                    ts(UNREGISTERED_AT, true),
                ]);
            }
            Table::Quarantine | Table::Gaps => unreachable!("returned above"),
        }
        fields.push(text(EXTRA_JSON));
        fields
    }
}

fn envelope_fields() -> Vec<Field> {
    vec![
        Field::new(STREAM, DataType::Utf8, false),
        Field::new(SEQ, DataType::Int64, false),
        Field::new(RECEIVED_AT, timestamp_type(), false),
        Field::new(OEM_ID, DataType::Utf8, true),
        Field::new(OEM_MODEL, DataType::Utf8, true),
        Field::new(DSN, DataType::Utf8, false),
        Field::new(
            RESOURCE_TAGS,
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false))),
            true,
        ),
    ]
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.dir_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_round_trips_through_its_name() {
        for table in Table::ALL {
            assert_eq!(Table::from_name(table.dir_name()), Some(table));
        }
        assert_eq!(Table::from_event_type("quarantine"), None);
        assert_eq!(Table::from_event_type("datapoint"), Some(Table::Datapoint));
    }

    #[test]
    fn event_time_and_sort_columns_exist_in_the_schema() {
        for table in Table::ALL {
            let schema = table.schema();
            for column in table.event_time_columns().iter().chain(table.sort_prefix()) {
                assert!(schema.field_with_name(column).is_ok(), "{table}.{column}");
            }
        }
    }

    #[test]
    fn the_table_schema_is_the_file_schema_then_the_date_partition() {
        for table in Table::ALL {
            let files = table.schema();
            let whole = table.table_schema();
            assert_eq!(&whole.fields()[..files.fields().len()], &files.fields()[..]);
            let date = whole.fields().last().unwrap();
            assert_eq!(
                (date.name().as_str(), date.data_type()),
                (DATE, &DataType::Date32)
            );
            assert_eq!(whole.fields().len(), files.fields().len() + 1, "{table}");
        }
    }

    #[test]
    fn event_tables_share_the_envelope_and_end_with_extra_json() {
        let envelope = envelope_fields();
        for table in Table::EVENTS {
            let schema = table.schema();
            assert_eq!(&schema.fields()[..envelope.len()], &envelope.map_arc());
            assert_eq!(schema.fields().last().unwrap().name(), EXTRA_JSON);
        }
    }

    trait MapArc {
        fn map_arc(&self) -> Vec<Arc<Field>>;
    }
    impl MapArc for Vec<Field> {
        fn map_arc(&self) -> Vec<Arc<Field>> {
            self.iter().cloned().map(Arc::new).collect()
        }
    }
}
