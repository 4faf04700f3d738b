//! Read-only SQL over the dss-lake Parquet files: a DataFusion engine and its HTTP endpoint.
//!
//! It registers one `ListingTable` per lake table with the schema from `dss-lake-schema` (never
//! inferred) and a `date` partition column, adds the twin views (`twin_latest`,
//! `device_status`, `device_location`), installs our DataFusion rewrites
//! (`dss-lake-datafusion-ext`), and answers SQL over HTTP in JSON, NDJSON, CSV, Arrow IPC or
//! Parquet, streaming batch by batch. It deliberately does not write anything, decode DSS frames
//! or know about ingest: it reads committed files only, through an object store that reaches the
//! lake and nothing else, and refuses every statement that is not a read.
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

mod config;
mod engine;
mod error;
mod exec;
pub mod format;
mod guard;
pub mod http;
mod limits;
mod metrics;
mod runtime;
mod store;
mod time_slice;
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
