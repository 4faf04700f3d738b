//! A decoded DSS event. Every string borrows from the frame buffer (or the decoder's scratch for
//! re-serialised JSON); nothing here owns a `String`.

use dss_lake_schema::Table;
use smallvec::SmallVec;

/// Microseconds since the epoch, UTC.
pub type Micros = i64;

/// The tags of `metadata.resource_tags`; most events have none, a few have one or two.
pub type Tags<'a> = SmallVec<[&'a str; 4]>;

/// One decoded event, ready to be appended to its table's builder.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    pub seq: u64,
    pub oem_id: Option<&'a str>,
    pub oem_model: Option<&'a str>,
    pub dsn: &'a str,
    pub resource_tags: Option<Tags<'a>>,
    pub body: Body<'a>,
    /// The `extra_json` column: unknown fields and spellings the typed columns cannot reproduce.
    pub extra_json: Option<&'a str>,
    /// False when the frame's `LEN` matched neither its UTF-8 nor its UTF-16 length.
    pub length_matches: bool,
}

/// The event body, one variant per table.
#[derive(Debug, Clone, PartialEq)]
pub enum Body<'a> {
    Connectivity(Connection<'a>),
    Datapoint(Datapoint<'a>),
    Datapointack(Datapoint<'a>, Ack<'a>),
    Location(Location<'a>),
    Registration(Registration<'a>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection<'a> {
    pub event_time: Option<Micros>,
    pub user_uuid: Option<&'a str>,
    pub status: Option<&'a str>,
}

/// A datapoint, with the property fields of the envelope's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Datapoint<'a> {
    pub property_name: &'a str,
    pub display_name: Option<&'a str>,
    pub base_type: Option<&'a str>,
    pub id: Option<&'a str>,
    pub created_at_from_device: Option<Micros>,
    pub created_at: Option<Micros>,
    pub updated_at: Option<Micros>,
    pub user_uuid: Option<&'a str>,
    pub echo: Option<bool>,
    pub closed: Option<bool>,
    /// JSON text of `value`; `None` when the field is absent, `Some("null")` when it is null.
    /// A scalar is kept as the frame spelled it (`12.50`) when the fast scanner read the frame;
    /// otherwise, and for objects and arrays, it is written again as compact JSON (`12.5`).
    pub value_json: Option<&'a str>,
    pub value_num: Option<f64>,
    /// JSON text of the body's own `metadata` field.
    pub metadata_json: Option<&'a str>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ack<'a> {
    pub ack_message: Option<i64>,
    pub ack_status: Option<i64>,
    pub ack_id: Option<&'a str>,
    pub acked_at: Option<Micros>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location<'a> {
    pub body_dsn: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub provider: Option<&'a str>,
    pub user_uuid: Option<&'a str>,
    pub created_at: Option<Micros>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registration<'a> {
    pub body_dsn: Option<&'a str>,
    pub user_uuid: Option<&'a str>,
    pub registered: Option<bool>,
    pub registration_type: Option<&'a str>,
    pub registered_at: Option<Micros>,
    pub unregistered_at: Option<Micros>,
}

impl Event<'_> {
    /// The table this event is stored in.
    pub fn table(&self) -> Table {
        match self.body {
            Body::Connectivity(_) => Table::Connectivity,
            Body::Datapoint(_) => Table::Datapoint,
            Body::Datapointack(..) => Table::Datapointack,
            Body::Location(_) => Table::Location,
            Body::Registration(_) => Table::Registration,
        }
    }

    /// The event's own time, following `Table::event_time_columns`; `None` when it has none.
    pub fn event_time(&self) -> Option<Micros> {
        match &self.body {
            Body::Connectivity(c) => c.event_time,
            Body::Datapoint(d) => d.created_at.or(d.updated_at),
            Body::Datapointack(d, a) => a.acked_at.or(d.created_at),
            Body::Location(l) => l.created_at,
            Body::Registration(r) => r.registered_at.or(r.unregistered_at),
        }
    }
}
