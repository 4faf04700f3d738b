//! Read-only SQL over the dss-lake Parquet files: a DataFusion engine and its HTTP endpoint.
//!
//! It registers one `ListingTable` per lake table with the schema from `dss-lake-schema` (never
//! inferred) and a `date` partition column, adds the twin views (`twin_latest`,
//! `device_status`, `device_location`), and answers SQL over HTTP in JSON, NDJSON, CSV, Arrow
//! IPC or Parquet, streaming batch by batch. Seven DataFusion slow paths this data hits are
//! mended here (`date_trunc` and `CAST(... AS DATE)` on UTC timestamps, `count(DISTINCT)` beside
//! plain counts, `lag`/`lead` evaluated row by row, windows sorted by comparing device names,
//! `last_value(x ORDER BY t, seq)` compared through `ScalarValue`s, grouping that hashes every
//! row's strings); see `date_trunc.rs`, `utc_date.rs`, `distinct_count.rs`, `bulk_window.rs`,
//! `keyed_window/`, `last_value.rs` and `interned_groups/`. It deliberately does not write anything, decode DSS
//! frames or know about ingest: it reads committed files only, through an object store that
//! reaches the lake and nothing else, and refuses every statement that is not a read.
//!
//! Data flow: SQL → the guard (statement and plan checks) → DataFusion plan on the engine's own
//! runtime (partition, statistics and page-index pruning over the files) → record batches →
//! [`format::Encoder`] → HTTP chunks, under a per-query timeout, memory limit and a cap on
//! concurrent queries.
//!
//! ```
//! # async fn demo() -> Result<(), dss_lake_query::QueryError> {
//! use dss_lake_query::{Engine, EngineConfig, pretty};
//!
//! let lake = tempfile::tempdir()?; // an empty lake: every table answers zero rows
//! let engine = Engine::open(EngineConfig::new(lake.path())).await?;
//! let batches = engine.collect("SELECT count(*) AS n FROM datapoint").await?;
//! assert!(pretty(&batches)?.contains("| 0 |"));
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```

mod bulk_window;
mod config;
mod date_trunc;
mod distinct_count;
mod engine;
mod error;
mod exec;
pub mod format;
mod guard;
pub mod http;
mod interned_groups;
mod keyed_window;
mod last_value;
mod limits;
mod metrics;
mod replace_nodes;
mod runtime;
mod store;
#[cfg(test)]
mod test_support;
mod time_slice;
mod utc_date;
mod views;

pub use config::{ByteSize, EngineConfig, InvalidByteSize, ServerConfig};
pub use engine::{ColumnInfo, Engine, TableInfo};
pub use error::QueryError;
pub use exec::ResultStream;
pub use format::Format;
pub use http::{ApiError, AppState, router, serve};
pub use limits::{Limit, QueryLimits};
pub use metrics::Metrics;
pub use store::{LAKE_URL, LakeStore};

/// The DataFusion this crate is built on, for embedders and tests that need its types.
pub use datafusion;

use datafusion::arrow::array::RecordBatch;

/// `batches` as a text table, as `dss-lake query` prints them.
pub fn pretty(batches: &[RecordBatch]) -> Result<String, QueryError> {
    datafusion::arrow::util::pretty::pretty_format_batches(batches)
        .map(|table| table.to_string())
        .map_err(|e| QueryError::Internal(e.to_string()))
}
