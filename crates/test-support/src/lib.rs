//! What the integration tests of several crates share, so each helper exists once: a plain
//! HTTP GET ([`http`]), every committed `seq` of a lake read straight from its Parquet files and
//! an exactly-once assertion ([`lake`]), what a table's Delta log names, read by delta-rs ([`delta`]), a tmpfs a test mounts to fill a disk for real
//! ([`tmpfs`]), the project's Python environments ([`python`]), and a child process killed on drop that waits for its banner line ([`process`]).
//!
//! It is a dev-dependency only and never part of a shipped binary; it panics instead of returning
//! errors, since its callers are tests. It mocks nothing: the lake is read with the `parquet`
//! crate from the files the writer committed, HTTP goes over a real socket. It does not link
//! DataFusion, and asks only for features of `parquet`, `arrow`, `tokio`, `ureq` and
//! `deltalake-core` that the workspace's test build already enables, so depending on it
//! rebuilds nothing.
//!
//! ```
//! use dss_lake_test_support::lake::{assert_exactly_once, seqs_by_stream};
//!
//! let lake = tempfile::tempdir().unwrap();
//! // An empty lake has no streams; a stream expected to hold nothing holds nothing.
//! assert!(seqs_by_stream(lake.path()).is_empty());
//! assert_exactly_once("datapoint", &[], 0..0);
//! ```

pub mod delta;
pub mod http;
pub mod lake;
pub mod process;
pub mod python;
pub mod tmpfs;
