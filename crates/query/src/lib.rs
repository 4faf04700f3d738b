//! The SQL engine over the dss-lake Delta tables: the one way in for every query front-end.
//!
//! It registers one table per lake table, read from its Delta snapshot (`delta`: files, `date`
//! partitions and statistics from the log, never a folder listing), with the schema from
//! `dss-lake-schema` (never inferred), the `as_of` table function for time travel, the twin views (`twin_latest`,
//! `device_status`, `device_location`), and installs our DataFusion rewrites
//! (`dss-lake-datafusion-ext`). Every query, from whichever front-end, goes through
//! [`Engine::stream`] or [`Engine::collect`]: a slot among `max_concurrent_queries`, the
//! statement limits, the read-only guard, a memory pool of its own, the timeout, and the
//! metrics. Results stream batch by batch, encoded as JSON, NDJSON, CSV, Arrow IPC or Parquet.
//!
//! It deliberately does not speak HTTP (that is `dss-lake-http`, a front-end over it), write
//! anything, decode DSS frames or know about ingest: it reads committed files only (those a
//! Delta commit names), through an
//! object store that reaches the lake and nothing else, and refuses every statement that is not
//! a read.
//!
//! Data flow: SQL → slot → the guard (statement and plan checks) → DataFusion plan on the
//! engine's own runtime (partition, statistics and page-index pruning over the files) → record
//! batches → [`format::Encoder`] → encoded chunks, under a per-query timeout and memory limit.
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
mod delta;
mod engine;
mod error;
mod exec;
pub mod format;
mod guard;
mod limits;
mod metrics;
mod runtime;
mod store;
mod time_slice;
mod views;

pub use config::EngineConfig;
pub use engine::{ColumnInfo, Engine, TableInfo};
pub use error::QueryError;
pub use exec::ResultStream;
pub use format::Format;
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
