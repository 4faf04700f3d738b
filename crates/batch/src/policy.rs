//! When a stream's pending rows become a file.

use std::time::Duration;

/// Flush thresholds, per stream: whichever is reached first commits the pending rows.
///
/// The defaults are chosen for a lake that notebooks read: files of up to a million rows
/// (10-40 MB of Parquet, one row group, the size DuckDB and DataFusion scan best), and never more
/// than 10 seconds between an event's arrival and its visibility to queries. A quiet stream thus
/// makes at most 8,640 files a day; a busy one makes few, large files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Commit once this many rows (all tables of the stream together) are pending.
    pub max_rows: usize,
    /// Commit once the pending Arrow buffers hold this many bytes (bounds writer memory).
    pub max_bytes: usize,
    /// Commit once the oldest pending row has waited this long.
    pub max_age: Duration,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            max_rows: 1_000_000,
            max_bytes: 256 * 1024 * 1024,
            max_age: Duration::from_secs(10),
        }
    }
}
