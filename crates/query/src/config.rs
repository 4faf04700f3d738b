//! What the engine can be told, with defaults chosen for this lake and why.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::QueryLimits;

/// How the SQL engine reads the lake.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The lake root: `<lake>/<table>/date=YYYY-MM-DD/*.parquet`.
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
    /// How long a directory listing is reused. DataFusion caches listings forever by default,
    /// which would hide files a running ingest daemon commits; this bounds how stale a result
    /// can be while still sparing a listing per query.
    pub list_cache_ttl: Duration,
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
            list_cache_ttl: Duration::from_secs(2),
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

/// A size in bytes, written `512MiB`, `2GB`, `64k` or `1048576`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// Why a size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid size {0:?}: expected a number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB)"
)]
pub struct InvalidByteSize(String);

impl FromStr for ByteSize {
    type Err = InvalidByteSize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidByteSize(s.to_owned());
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            _ => return Err(invalid()),
        };
        n.checked_mul(mult).map(ByteSize).ok_or_else(invalid)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!("1048576".parse(), Ok(ByteSize(1 << 20)));
        assert_eq!("512MiB".parse(), Ok(ByteSize(512 << 20)));
        assert_eq!("2 GiB".parse(), Ok(ByteSize(2 << 30)));
        assert_eq!("64k".parse(), Ok(ByteSize(64 << 10)));
        assert_eq!("3MB".parse(), Ok(ByteSize(3_000_000)));
        for bad in ["", "MiB", "12 parsecs", "-1", "99999999999999999999GiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_display_in_the_largest_exact_unit() {
        assert_eq!(ByteSize(1 << 30).to_string(), "1GiB");
        assert_eq!(ByteSize(3 << 20).to_string(), "3MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
        let back: ByteSize = ByteSize(5 << 20).to_string().parse().unwrap();
        assert_eq!(back, ByteSize(5 << 20));
    }
}
