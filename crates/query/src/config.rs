//! What the engine can be told, with defaults chosen for this lake and why.

use std::path::PathBuf;
use std::time::Duration;

use dss_lake_units::ByteSize;

use crate::QueryLimits;

/// How the SQL engine reads the lake.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The lake root: `<lake>/<table>/, each a Delta table`.
    pub lake: PathBuf,
    /// Worker threads of the query runtime; 0 means one per core. Queries run there and never on
    /// the caller's runtime, so a heavy query cannot delay a WebSocket heartbeat in the same
    /// process.
    pub threads: usize,
    /// DataFusion's `target_partitions`: how many streams a scan is split into; 0 means the number
    /// of query threads. More than the threads only adds repartitioning cost.
    pub target_partitions: usize,
    /// Rows per Arrow batch. 8192 (DataFusion's default) keeps a batch of the narrow columns fleet
    /// queries touch in the CPU cache; larger batches bought nothing on the benchmark and delay
    /// the first streamed bytes.
    pub batch_size: usize,
    /// The memory one query may hold in hash tables, sorts and joins. Spilling to disk is off, so
    /// a query that needs more fails cleanly with "Resources exhausted". The whole server stays
    /// under `memory_limit * max_concurrent_queries`.
    pub memory_limit: ByteSize,
    /// How long a query may run, streaming included.
    pub query_timeout: Duration,
    /// How long a table's Delta snapshot is used before a query checks the log for newer
    /// commits: how stale a result can be, traded against a read of the log's folder per table
    /// per query. A refresh reads only the new log entries.
    pub snapshot_ttl: Duration,
    /// How large and deep a statement may be before it is refused unparsed (see
    /// [`QueryLimits`]).
    pub limits: QueryLimits,
    /// Queries executing at once, over every front-end; further ones wait in line (see
    /// `queue_timeout`). Each query already uses every query thread, so more parallel queries
    /// only share the same cores while multiplying memory: this cap is what makes
    /// `memory_limit` a bound for the whole process.
    pub max_concurrent_queries: usize,
    /// How long a query may wait for a free slot before it is refused as busy.
    pub queue_timeout: Duration,
}

/// The defaults, for the lake at `./lake`.
impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig::new("lake")
    }
}

impl EngineConfig {
    /// Defaults for the lake at `lake`.
    pub fn new(lake: impl Into<PathBuf>) -> Self {
        EngineConfig {
            lake: lake.into(),
            threads: 0,
            target_partitions: 0,
            batch_size: 8192,
            memory_limit: ByteSize(1 << 30),
            query_timeout: Duration::from_secs(60),
            snapshot_ttl: Duration::from_secs(1),
            limits: QueryLimits::default(),
            max_concurrent_queries: 4,
            queue_timeout: Duration::from_secs(30),
        }
    }

    /// The number of query threads this config asks for, with 0 resolved to the core count.
    pub fn resolved_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }
}
