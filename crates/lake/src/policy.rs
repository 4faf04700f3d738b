//! When a stream's pending rows become a file.

use std::time::Duration;

/// Flush thresholds, per stream: whichever is reached first commits the pending rows.
///
/// The defaults are chosen for a lake that notebooks read and a daemon that runs for months:
/// files of up to a million rows or 64 MiB of Arrow buffers (about 200k datapoint rows, several
/// MB of Parquet in one row group), and never more than 10 seconds between an event's arrival
/// and its visibility to queries. The commit sorts a copy of what is pending, so a stream's
/// writer peaks at about three times `max_bytes` (at 256 MiB the ingest benchmark peaked at
/// 616 MiB RSS for one stream; at 64 MiB, 217 MiB). A quiet stream makes at most 8,640 files a
/// day; a busy one makes fewer, larger files.
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
            max_bytes: 64 * 1024 * 1024,
            max_age: Duration::from_secs(10),
        }
    }
}
