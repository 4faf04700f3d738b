//! Arrow builders per table: the "row" step. One concrete builder per column, chosen once when
//! the table builder is made, so appending an event is a straight run of typed pushes.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, Field};
use dss_lake_schema::{Table, timestamp_type};

use crate::columns::{TextColumn, ValueColumn};
use crate::event::{Body, Event, Micros};

/// The event belongs to another table than the builder's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {event} event cannot be appended to the {builder} table")]
pub struct WrongTable {
    pub event: Table,
    pub builder: Table,
}

/// Accumulates events of one table into Arrow columns.
#[derive(Debug)]
pub struct TableBuilder {
    table: Table,
    envelope: EnvelopeColumns,
    body: BodyColumns,
    extra_json: TextColumn,
    rows: usize,
}

#[derive(Debug)]
struct EnvelopeColumns {
    stream: TextColumn,
    seq: ValueColumn<Int64Type>,
    received_at: TimeColumn,
    oem_id: TextColumn,
    oem_model: TextColumn,
    dsn: TextColumn,
    resource_tags: ListBuilder<StringBuilder>,
}

#[derive(Debug)]
enum BodyColumns {
    Connectivity {
        event_time: TimeColumn,
        user_uuid: TextColumn,
        status: TextColumn,
    },
    Datapoint(Box<DatapointColumns>),
    Location {
        body_dsn: TextColumn,
        ip: TextColumn,
        lat: ValueColumn<Float64Type>,
        long: ValueColumn<Float64Type>,
        provider: TextColumn,
        user_uuid: TextColumn,
        created_at: TimeColumn,
    },
    Registration {
        body_dsn: TextColumn,
        user_uuid: TextColumn,
        registered: BooleanBuilder,
        registration_type: TextColumn,
        registered_at: TimeColumn,
        unregistered_at: TimeColumn,
    },
}

#[derive(Debug)]
struct DatapointColumns {
    property_name: TextColumn,
    display_name: TextColumn,
    base_type: TextColumn,
    id: TextColumn,
    created_at_from_device: TimeColumn,
    created_at: TimeColumn,
    updated_at: TimeColumn,
    user_uuid: TextColumn,
    echo: BooleanBuilder,
    closed: BooleanBuilder,
    value_json: TextColumn,
    value_num: ValueColumn<Float64Type>,
    metadata_json: TextColumn,
    /// Present for datapointack only.
    ack: Option<AckColumns>,
}

#[derive(Debug)]
struct AckColumns {
    ack_message: ValueColumn<Int64Type>,
    ack_status: ValueColumn<Int64Type>,
    ack_id: TextColumn,
    acked_at: TimeColumn,
}

/// First guesses of a text column's bytes per row, so the first batch seldom regrows and rarely
/// reserves much more than it uses; later batches are sized from the previous one (`finish`).
const UUID: usize = 36;
/// DSNs, names, short values.
const WORD: usize = 16;
/// Usually empty or `{}`.
const TINY: usize = 2;

fn text(capacity: usize, bytes_per_row: usize) -> TextColumn {
    TextColumn::with_capacity(capacity, capacity * bytes_per_row)
}

type TimeColumn = ValueColumn<TimestampMicrosecondType>;

fn time(capacity: usize) -> TimeColumn {
    ValueColumn::with_capacity(capacity, timestamp_type())
}

impl TableBuilder {
    /// A builder for `table` (an event table) with room for `capacity` rows before it grows.
    ///
    /// # Panics
    /// For `Table::Quarantine` and `Table::Gaps`, which have builders of their own.
    pub fn new(table: Table, capacity: usize) -> Self {
        let c = capacity;
        let body = match table {
            Table::Connectivity => BodyColumns::Connectivity {
                event_time: time(c),
                user_uuid: text(c, UUID),
                status: text(c, WORD),
            },
            Table::Datapoint | Table::Datapointack => {
                BodyColumns::Datapoint(Box::new(DatapointColumns {
                    property_name: text(c, WORD),
                    display_name: text(c, WORD),
                    base_type: text(c, WORD),
                    id: text(c, UUID),
                    created_at_from_device: time(c),
                    created_at: time(c),
                    updated_at: time(c),
                    user_uuid: text(c, UUID),
                    echo: BooleanBuilder::with_capacity(c),
                    closed: BooleanBuilder::with_capacity(c),
                    value_json: text(c, WORD),
                    value_num: ValueColumn::with_capacity(c, DataType::Float64),
                    metadata_json: text(c, TINY),
                    ack: (table == Table::Datapointack).then(|| AckColumns {
                        ack_message: ValueColumn::with_capacity(c, DataType::Int64),
                        ack_status: ValueColumn::with_capacity(c, DataType::Int64),
                        ack_id: text(c, UUID),
                        acked_at: time(c),
                    }),
                }))
            }
            Table::Location => BodyColumns::Location {
                body_dsn: text(c, WORD),
                ip: text(c, WORD),
                lat: ValueColumn::with_capacity(c, DataType::Float64),
                long: ValueColumn::with_capacity(c, DataType::Float64),
                provider: text(c, WORD),
                user_uuid: text(c, UUID),
                created_at: time(c),
            },
            Table::Registration => BodyColumns::Registration {
                body_dsn: text(c, WORD),
                user_uuid: text(c, UUID),
                registered: BooleanBuilder::with_capacity(c),
                registration_type: text(c, WORD),
                registered_at: time(c),
                unregistered_at: time(c),
            },
            Table::Quarantine | Table::Gaps => panic!("{table} is not an event table"),
        };
        let tags_values = StringBuilder::with_capacity(c, c * TINY);
        let tags = ListBuilder::with_capacity(tags_values, c)
            .with_field(Field::new_list_field(DataType::Utf8, false));
        TableBuilder {
            table,
            envelope: EnvelopeColumns {
                stream: text(c, WORD),
                seq: ValueColumn::with_capacity(c, DataType::Int64),
                received_at: time(c),
                oem_id: text(c, WORD),
                oem_model: text(c, WORD),
                dsn: text(c, WORD),
                resource_tags: tags,
            },
            body,
            extra_json: text(c, TINY),
            rows: 0,
        }
    }

    pub fn table(&self) -> Table {
        self.table
    }

    /// Rows appended since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one event received from `stream` at `received_at`.
    pub fn append(
        &mut self,
        event: &Event<'_>,
        stream: &str,
        received_at: Micros,
    ) -> Result<(), WrongTable> {
        if event.table() != self.table {
            return Err(WrongTable {
                event: event.table(),
                builder: self.table,
            });
        }
        let e = &mut self.envelope;
        e.stream.append_value(stream);
        // `seq` fits i64: the decoder refuses longer numbers.
        e.seq.append_value(event.seq as i64);
        e.received_at.append_value(received_at);
        e.oem_id.append_option(event.oem_id);
        e.oem_model.append_option(event.oem_model);
        e.dsn.append_value(event.dsn);
        match &event.resource_tags {
            Some(tags) => {
                for tag in tags {
                    e.resource_tags.values().append_value(tag);
                }
                e.resource_tags.append(true);
            }
            None => e.resource_tags.append_null(),
        }
        self.append_body(&event.body);
        self.extra_json.append_option(event.extra_json);
        self.rows += 1;
        Ok(())
    }

    fn append_body(&mut self, body: &Body<'_>) {
        match (&mut self.body, body) {
            (
                BodyColumns::Connectivity {
                    event_time,
                    user_uuid,
                    status,
                },
                Body::Connectivity(c),
            ) => {
                event_time.append_option(c.event_time);
                user_uuid.append_option(c.user_uuid);
                status.append_option(c.status);
            }
            (BodyColumns::Datapoint(cols), Body::Datapoint(d) | Body::Datapointack(d, _)) => {
                cols.property_name.append_value(d.property_name);
                cols.display_name.append_option(d.display_name);
                cols.base_type.append_option(d.base_type);
                cols.id.append_option(d.id);
                cols.created_at_from_device
                    .append_option(d.created_at_from_device);
                cols.created_at.append_option(d.created_at);
                cols.updated_at.append_option(d.updated_at);
                cols.user_uuid.append_option(d.user_uuid);
                cols.echo.append_option(d.echo);
                cols.closed.append_option(d.closed);
                cols.value_json.append_option(d.value_json);
                cols.value_num.append_option(d.value_num);
                cols.metadata_json.append_option(d.metadata_json);
                if let (Some(ack_cols), Body::Datapointack(_, a)) = (&mut cols.ack, body) {
                    ack_cols.ack_message.append_option(a.ack_message);
                    ack_cols.ack_status.append_option(a.ack_status);
                    ack_cols.ack_id.append_option(a.ack_id);
                    ack_cols.acked_at.append_option(a.acked_at);
                }
            }
            (
                BodyColumns::Location {
                    body_dsn,
                    ip,
                    lat,
                    long,
                    provider,
                    user_uuid,
                    created_at,
                },
                Body::Location(l),
            ) => {
                body_dsn.append_option(l.body_dsn);
                ip.append_option(l.ip);
                lat.append_option(l.lat);
                long.append_option(l.long);
                provider.append_option(l.provider);
                user_uuid.append_option(l.user_uuid);
                created_at.append_option(l.created_at);
            }
            (
                BodyColumns::Registration {
                    body_dsn,
                    user_uuid,
                    registered,
                    registration_type,
                    registered_at,
                    unregistered_at,
                },
                Body::Registration(r),
            ) => {
                body_dsn.append_option(r.body_dsn);
                user_uuid.append_option(r.user_uuid);
                registered.append_option(r.registered);
                registration_type.append_option(r.registration_type);
                registered_at.append_option(r.registered_at);
                unregistered_at.append_option(r.unregistered_at);
            }
            // `append` checked that the event's table is the builder's.
            _ => unreachable!("body does not match the builder's table"),
        }
    }

    /// Takes the rows appended so far as a batch in the table's schema; the builder is reset.
    pub fn finish(&mut self) -> RecordBatch {
        let e = &mut self.envelope;
        let mut columns: Vec<ArrayRef> = vec![
            e.stream.take(),
            e.seq.take(),
            e.received_at.take(),
            e.oem_id.take(),
            e.oem_model.take(),
            e.dsn.take(),
            Arc::new(e.resource_tags.finish()),
        ];
        match &mut self.body {
            BodyColumns::Connectivity {
                event_time,
                user_uuid,
                status,
            } => columns.extend([event_time.take(), user_uuid.take(), status.take()]),
            BodyColumns::Datapoint(c) => {
                columns.extend([
                    c.property_name.take(),
                    c.display_name.take(),
                    c.base_type.take(),
                    c.id.take(),
                    c.created_at_from_device.take(),
                    c.created_at.take(),
                    c.updated_at.take(),
                    c.user_uuid.take(),
                    c.echo.take(),
                    c.closed.take(),
                    c.value_json.take(),
                    c.value_num.take(),
                    c.metadata_json.take(),
                ]);
                if let Some(a) = &mut c.ack {
                    columns.extend([
                        a.ack_message.take(),
                        a.ack_status.take(),
                        a.ack_id.take(),
                        a.acked_at.take(),
                    ]);
                }
            }
            BodyColumns::Location {
                body_dsn,
                ip,
                lat,
                long,
                provider,
                user_uuid,
                created_at,
            } => columns.extend([
                body_dsn.take(),
                ip.take(),
                lat.take(),
                long.take(),
                provider.take(),
                user_uuid.take(),
                created_at.take(),
            ]),
            BodyColumns::Registration {
                body_dsn,
                user_uuid,
                registered,
                registration_type,
                registered_at,
                unregistered_at,
            } => columns.extend([
                body_dsn.take(),
                user_uuid.take(),
                registered.take(),
                registration_type.take(),
                registered_at.take(),
                unregistered_at.take(),
            ]),
        }
        columns.push(self.extra_json.take());
        self.rows = 0;
        RecordBatch::try_new(self.table.schema(), columns)
            .expect("builders are laid out in the schema's column order")
    }
}

/// Finishing a column leaves its builder with as much room as its buffers had (arrow's `finish`
/// hands its buffers to the array), so a steady stream's next batch does not regrow, and copy,
/// every buffer from nothing. The room never shrinks: sizing from the batch just taken made a
/// short batch (a flush by age, the end of a run) leave the next full one to regrow from there
/// (perf: `realloc` in the builders, ~1.5% of decoding).
trait TakeColumn {
    fn take(&mut self) -> ArrayRef;
}

impl<T: ArrowPrimitiveType> TakeColumn for ValueColumn<T> {
    fn take(&mut self) -> ArrayRef {
        ValueColumn::take(self)
    }
}

impl TakeColumn for TextColumn {
    fn take(&mut self) -> ArrayRef {
        TextColumn::take(self)
    }
}

impl TakeColumn for BooleanBuilder {
    fn take(&mut self) -> ArrayRef {
        let rows = self.capacity();
        let array = self.finish();
        *self = BooleanBuilder::with_capacity(rows);
        Arc::new(array)
    }
}

/// Accumulates quarantine rows: what could not be decoded, exactly as received, and why.
#[derive(Debug)]
pub struct QuarantineBuilder {
    stream: StringBuilder,
    received_at: TimestampMicrosecondBuilder,
    source: StringBuilder,
    raw: StringBuilder,
    error_kind: StringBuilder,
    error_message: StringBuilder,
}

impl Default for QuarantineBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl QuarantineBuilder {
    pub fn new() -> Self {
        QuarantineBuilder {
            stream: StringBuilder::new(),
            received_at: TimestampMicrosecondBuilder::new().with_data_type(timestamp_type()),
            source: StringBuilder::new(),
            raw: StringBuilder::new(),
            error_kind: StringBuilder::new(),
            error_message: StringBuilder::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.stream.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one rejected frame or line. `source` says where it came from when that is more
    /// than the stream (e.g. `archive.ndjson:1234`).
    pub fn append(
        &mut self,
        stream: &str,
        received_at: Micros,
        source: Option<&str>,
        raw: &str,
        error_kind: &str,
        error_message: &str,
    ) {
        self.stream.append_value(stream);
        self.received_at.append_value(received_at);
        self.source.append_option(source);
        self.raw.append_value(raw);
        self.error_kind.append_value(error_kind);
        self.error_message.append_value(error_message);
    }

    pub fn finish(&mut self) -> RecordBatch {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.stream.finish()),
            Arc::new(self.received_at.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.raw.finish()),
            Arc::new(self.error_kind.finish()),
            Arc::new(self.error_message.finish()),
        ];
        RecordBatch::try_new(Table::Quarantine.schema(), columns)
            .expect("builders are laid out in the schema's column order")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Frame, FrameDecoder};

    /// `len` counts the rows since the last `finish`, which the lake's sink reads to decide
    /// when a chunk is full; a builder refuses another table's event without counting it.
    #[test]
    fn len_counts_the_rows_appended_since_the_last_finish() {
        let mut builder = TableBuilder::new(Table::Datapoint, 4);
        assert_eq!((builder.len(), builder.is_empty()), (0, true));
        let mut decoder = FrameDecoder::new();
        let mut appended = 0;
        for frame in dss_lake_fleet::corpus(1, 50) {
            let Ok(Frame::Event(event)) = decoder.decode_message(&frame) else {
                panic!("{frame}");
            };
            if builder.append(&event, "s", 0).is_ok() {
                appended += 1;
            }
            assert_eq!(builder.len(), appended);
            assert_eq!(builder.is_empty(), appended == 0);
        }
        assert!(
            appended > 1 && appended < 50,
            "{appended} datapoints of 50 events"
        );
        assert_eq!(builder.finish().num_rows(), appended);
        assert_eq!((builder.len(), builder.is_empty()), (0, true));
    }

    #[test]
    fn quarantine_rows_keep_what_they_were_given_and_len_counts_them() {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use dss_lake_schema::columns as col;
        let mut builder = QuarantineBuilder::new();
        assert_eq!((builder.len(), builder.is_empty()), (0, true));
        builder.append(
            "s",
            7,
            None,
            "1|{",
            "invalid_json",
            "unexpected end of input",
        );
        assert_eq!((builder.len(), builder.is_empty()), (1, false));
        builder.append("s", 8, Some("a.ndjson:2"), "x", "bad_prefix", "no `|`");
        assert_eq!(builder.len(), 2);
        let batch = builder.finish();
        assert_eq!((builder.len(), builder.is_empty()), (0, true));
        let text = |name: &str, row: usize| {
            let column = batch.column_by_name(name).unwrap().as_string::<i32>();
            column.is_valid(row).then(|| column.value(row).to_owned())
        };
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(text(col::RAW, 0).as_deref(), Some("1|{"));
        assert_eq!(text(col::SOURCE, 0), None);
        assert_eq!(text(col::SOURCE, 1).as_deref(), Some("a.ndjson:2"));
        assert_eq!(text(col::ERROR_KIND, 1).as_deref(), Some("bad_prefix"));
        assert_eq!(
            text(col::ERROR_MESSAGE, 0).as_deref(),
            Some("unexpected end of input")
        );
        let received = batch.column_by_name(col::RECEIVED_AT).unwrap();
        let received = received.as_primitive::<arrow_array::types::TimestampMicrosecondType>();
        assert_eq!((received.value(0), received.value(1)), (7, 8));
    }
}
