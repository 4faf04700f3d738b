//! The contract every other dss-lake crate agrees on: which tables the lake has, the Arrow schema
//! and column names of each, where their files live on disk, and the two names a stream has: the
//! [`StreamName`] stored in every row and the secret [`StreamKey`] that is never shown whole.
//!
//! It holds no data and does no I/O; it depends on `arrow-schema` alone so that the writer (which
//! never links DataFusion) and the query service (which never links simd-json) share one
//! definition. Data flow: the decoder fills builders in the column order defined here, the batcher
//! writes them to the paths defined here, and the SQL service registers tables with these schemas
//! instead of inferring them. It also spells what every side writes alike ([`text`]: calendar
//! days, ISO-8601 UTC timestamps, JSON string literals).
//!
//! ```
//! use dss_lake_schema::{Table, columns};
//!
//! let schema = Table::Datapoint.schema();
//! assert!(schema.field_with_name(columns::VALUE_NUM).is_ok());
//! assert_eq!(Table::from_event_type("datapointack"), Some(Table::Datapointack));
//! assert_eq!(Table::Datapoint.dir_name(), "datapoint");
//! ```

pub mod columns;
mod key;
pub mod layout;
mod stream;
mod tables;
pub mod text;

pub use key::StreamKey;
pub use stream::{InvalidStreamName, StreamName};
pub use tables::{Table, timestamp_type};
