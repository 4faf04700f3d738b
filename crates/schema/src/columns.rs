//! Column names, one constant each, so a rename is a compile error everywhere at once.
//!
//! Body fields keep the names the DSS documentation gives them. Where a body field would collide
//! with an envelope column (`location_event.dsn`), it gets a `body_` prefix.

// Envelope columns, present in every event table.
pub const STREAM: &str = "stream";
pub const SEQ: &str = "seq";
pub const RECEIVED_AT: &str = "received_at";
pub const OEM_ID: &str = "oem_id";
pub const OEM_MODEL: &str = "oem_model";
pub const DSN: &str = "dsn";
pub const RESOURCE_TAGS: &str = "resource_tags";
/// JSON object of whatever the typed columns cannot reproduce: unknown fields at any level, and
/// the original text of known fields whose typed form would change their spelling. See
/// `dss_lake_frame::restore` for the exact rules.
pub const EXTRA_JSON: &str = "extra_json";

// datapoint and datapointack: envelope metadata.
pub const PROPERTY_NAME: &str = "property_name";
pub const DISPLAY_NAME: &str = "display_name";
pub const BASE_TYPE: &str = "base_type";

// datapoint and datapointack: body.
pub const ID: &str = "id";
pub const CREATED_AT_FROM_DEVICE: &str = "created_at_from_device";
pub const CREATED_AT: &str = "created_at";
pub const UPDATED_AT: &str = "updated_at";
pub const USER_UUID: &str = "user_uuid";
pub const ECHO: &str = "echo";
pub const CLOSED: &str = "closed";
/// The JSON text of `value`, e.g. `21.5`, `"on"`, `null`.
pub const VALUE_JSON: &str = "value_json";
/// `value` as a float whenever it is numeric: numbers, booleans as 0/1, numeric strings.
pub const VALUE_NUM: &str = "value_num";
/// The JSON text of the body's own `metadata` object (often `{}`).
pub const METADATA_JSON: &str = "metadata_json";
pub const ACK_MESSAGE: &str = "ack_message";
pub const ACK_STATUS: &str = "ack_status";
pub const ACK_ID: &str = "ack_id";
pub const ACKED_AT: &str = "acked_at";

// connectivity.
pub const EVENT_TIME: &str = "event_time";
pub const STATUS: &str = "status";

// location.
pub const BODY_DSN: &str = "body_dsn";
pub const IP: &str = "ip";
pub const LAT: &str = "lat";
pub const LONG: &str = "long";
pub const PROVIDER: &str = "provider";

// registration.
pub const REGISTERED: &str = "registered";
pub const REGISTRATION_TYPE: &str = "registration_type";
pub const REGISTERED_AT: &str = "registered_at";
pub const UNREGISTERED_AT: &str = "unregistered_at";

// quarantine.
pub const SOURCE: &str = "source";
pub const RAW: &str = "raw";
pub const ERROR_KIND: &str = "error_kind";
pub const ERROR_MESSAGE: &str = "error_message";

// gaps.
pub const EXPECTED_SEQ: &str = "expected_seq";
pub const RECEIVED_SEQ: &str = "received_seq";
pub const DETECTED_AT: &str = "detected_at";

/// The Hive partition column every table is split by; not stored inside the files.
pub const DATE: &str = "date";
