//! Arrow builders per table: the "row" step. One concrete builder per column, chosen once when
//! the table builder is made, so appending an event is a straight run of typed pushes.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder,
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field};
use dss_lake_schema::{Table, timestamp_type};

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
    extra_json: StringBuilder,
    rows: usize,
}

#[derive(Debug)]
struct EnvelopeColumns {
    stream: StringBuilder,
    seq: Int64Builder,
    received_at: TimestampMicrosecondBuilder,
    oem_id: StringBuilder,
    oem_model: StringBuilder,
    dsn: StringBuilder,
    resource_tags: ListBuilder<StringBuilder>,
}

#[derive(Debug)]
enum BodyColumns {
    Connectivity {
        event_time: TimestampMicrosecondBuilder,
        user_uuid: StringBuilder,
        status: StringBuilder,
    },
    Datapoint(Box<DatapointColumns>),
    Location {
        body_dsn: StringBuilder,
        ip: StringBuilder,
        lat: Float64Builder,
        long: Float64Builder,
        provider: StringBuilder,
        user_uuid: StringBuilder,
        created_at: TimestampMicrosecondBuilder,
    },
    Registration {
        body_dsn: StringBuilder,
        user_uuid: StringBuilder,
        registered: BooleanBuilder,
        registration_type: StringBuilder,
        registered_at: TimestampMicrosecondBuilder,
        unregistered_at: TimestampMicrosecondBuilder,
    },
}

#[derive(Debug)]
struct DatapointColumns {
    property_name: StringBuilder,
    display_name: StringBuilder,
    base_type: StringBuilder,
    id: StringBuilder,
    created_at_from_device: TimestampMicrosecondBuilder,
    created_at: TimestampMicrosecondBuilder,
    updated_at: TimestampMicrosecondBuilder,
    user_uuid: StringBuilder,
    echo: BooleanBuilder,
    closed: BooleanBuilder,
    value_json: StringBuilder,
    value_num: Float64Builder,
    metadata_json: StringBuilder,
    /// Present for datapointack only.
    ack: Option<AckColumns>,
}

#[derive(Debug)]
struct AckColumns {
    ack_message: Int64Builder,
    ack_status: Int64Builder,
    ack_id: StringBuilder,
    acked_at: TimestampMicrosecondBuilder,
}

fn text(capacity: usize) -> StringBuilder {
    // Most text columns are uuids, DSNs and short names: 32 bytes a row is a fair first guess.
    StringBuilder::with_capacity(capacity, capacity * 32)
}

fn time(capacity: usize) -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::with_capacity(capacity).with_data_type(timestamp_type())
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
                user_uuid: text(c),
                status: text(c),
            },
            Table::Datapoint | Table::Datapointack => {
                BodyColumns::Datapoint(Box::new(DatapointColumns {
                    property_name: text(c),
                    display_name: text(c),
                    base_type: text(c),
                    id: text(c),
                    created_at_from_device: time(c),
                    created_at: time(c),
                    updated_at: time(c),
                    user_uuid: text(c),
                    echo: BooleanBuilder::with_capacity(c),
                    closed: BooleanBuilder::with_capacity(c),
                    value_json: text(c),
                    value_num: Float64Builder::with_capacity(c),
                    metadata_json: text(c),
                    ack: (table == Table::Datapointack).then(|| AckColumns {
                        ack_message: Int64Builder::with_capacity(c),
                        ack_status: Int64Builder::with_capacity(c),
                        ack_id: text(c),
                        acked_at: time(c),
                    }),
                }))
            }
            Table::Location => BodyColumns::Location {
                body_dsn: text(c),
                ip: text(c),
                lat: Float64Builder::with_capacity(c),
                long: Float64Builder::with_capacity(c),
                provider: text(c),
                user_uuid: text(c),
                created_at: time(c),
            },
            Table::Registration => BodyColumns::Registration {
                body_dsn: text(c),
                user_uuid: text(c),
                registered: BooleanBuilder::with_capacity(c),
                registration_type: text(c),
                registered_at: time(c),
                unregistered_at: time(c),
            },
            Table::Quarantine | Table::Gaps => panic!("{table} is not an event table"),
        };
        let tags = ListBuilder::with_capacity(text(c), c)
            .with_field(Field::new_list_field(DataType::Utf8, false));
        TableBuilder {
            table,
            envelope: EnvelopeColumns {
                stream: text(c),
                seq: Int64Builder::with_capacity(c),
                received_at: time(c),
                oem_id: text(c),
                oem_model: text(c),
                dsn: text(c),
                resource_tags: tags,
            },
            body,
            extra_json: text(c),
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
    pub fn append(&mut self, event: &Event<'_>, stream: &str, received_at: Micros) -> Result<(), WrongTable> {
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
            (BodyColumns::Connectivity { event_time, user_uuid, status }, Body::Connectivity(c)) => {
                event_time.append_option(c.event_time);
                user_uuid.append_option(c.user_uuid);
                status.append_option(c.status);
            }
            (BodyColumns::Datapoint(cols), Body::Datapoint(d) | Body::Datapointack(d, _)) => {
                cols.property_name.append_value(d.property_name);
                cols.display_name.append_option(d.display_name);
                cols.base_type.append_option(d.base_type);
                cols.id.append_option(d.id);
                cols.created_at_from_device.append_option(d.created_at_from_device);
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
                BodyColumns::Location { body_dsn, ip, lat, long, provider, user_uuid, created_at },
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
            Arc::new(e.stream.finish()),
            Arc::new(e.seq.finish()),
            Arc::new(e.received_at.finish()),
            Arc::new(e.oem_id.finish()),
            Arc::new(e.oem_model.finish()),
            Arc::new(e.dsn.finish()),
            Arc::new(e.resource_tags.finish()),
        ];
        match &mut self.body {
            BodyColumns::Connectivity { event_time, user_uuid, status } => columns.extend([
                Arc::new(event_time.finish()) as ArrayRef,
                Arc::new(user_uuid.finish()),
                Arc::new(status.finish()),
            ]),
            BodyColumns::Datapoint(c) => {
                columns.extend([
                    Arc::new(c.property_name.finish()) as ArrayRef,
                    Arc::new(c.display_name.finish()),
                    Arc::new(c.base_type.finish()),
                    Arc::new(c.id.finish()),
                    Arc::new(c.created_at_from_device.finish()),
                    Arc::new(c.created_at.finish()),
                    Arc::new(c.updated_at.finish()),
                    Arc::new(c.user_uuid.finish()),
                    Arc::new(c.echo.finish()),
                    Arc::new(c.closed.finish()),
                    Arc::new(c.value_json.finish()),
                    Arc::new(c.value_num.finish()),
                    Arc::new(c.metadata_json.finish()),
                ]);
                if let Some(a) = &mut c.ack {
                    columns.extend([
                        Arc::new(a.ack_message.finish()) as ArrayRef,
                        Arc::new(a.ack_status.finish()),
                        Arc::new(a.ack_id.finish()),
                        Arc::new(a.acked_at.finish()),
                    ]);
                }
            }
            BodyColumns::Location { body_dsn, ip, lat, long, provider, user_uuid, created_at } => {
                columns.extend([
                    Arc::new(body_dsn.finish()) as ArrayRef,
                    Arc::new(ip.finish()),
                    Arc::new(lat.finish()),
                    Arc::new(long.finish()),
                    Arc::new(provider.finish()),
                    Arc::new(user_uuid.finish()),
                    Arc::new(created_at.finish()),
                ])
            }
            BodyColumns::Registration {
                body_dsn,
                user_uuid,
                registered,
                registration_type,
                registered_at,
                unregistered_at,
            } => columns.extend([
                Arc::new(body_dsn.finish()) as ArrayRef,
                Arc::new(user_uuid.finish()),
                Arc::new(registered.finish()),
                Arc::new(registration_type.finish()),
                Arc::new(registered_at.finish()),
                Arc::new(unregistered_at.finish()),
            ]),
        }
        columns.push(Arc::new(self.extra_json.finish()));
        self.rows = 0;
        RecordBatch::try_new(self.table.schema(), columns)
            .expect("builders are laid out in the schema's column order")
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
            received_at: time(0),
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
