//! Where the lake's files live, and which files readers must ignore.
//!
//! ```text
//! <lake>/<table>/date=YYYY-MM-DD/<stream>-<first seq>-<last seq>.parquet   committed data
//! <lake>/<table>/date=YYYY-MM-DD/_<anything>                               in-flight, never read
//! <lake>/<table>/_delta_log/                                              the table's Delta log
//! <lake>/_checkpoints/<stream>.json                                        highest committed seq
//! ```
//!
//! A file's name says what it holds, so replaying the same events after a crash rewrites the same
//! file instead of adding a second one (as Kafka Connect's S3 sink does).

use std::path::{Path, PathBuf};

use crate::text::civil_from_days;
use crate::{StreamName, Table};

/// The extension of committed data files.
pub const PARQUET_EXTENSION: &str = "parquet";
/// The folder of a table's Delta Lake log, under the table's folder.
pub const DELTA_LOG_DIR: &str = "_delta_log";
/// The `tags` key of a Delta `add` action that says the file's rows are sorted by its table's
/// [`Table::sort_columns`]; its value is those columns, comma-separated. The engine declares
/// that order for a file only when the tag names its table's order exactly, so a file another
/// tool committed is never assumed sorted.
pub const SORT_ORDER_TAG: &str = "dssLakeSortOrder";
/// The folder holding per-stream checkpoints, under the lake root.
pub const CHECKPOINT_DIR: &str = "_checkpoints";

/// The folder of one table.
pub fn table_dir(lake: &Path, table: Table) -> PathBuf {
    lake.join(table.dir_name())
}

/// The Delta Lake log of one table.
pub fn delta_log_dir(lake: &Path, table: Table) -> PathBuf {
    table_dir(lake, table).join(DELTA_LOG_DIR)
}

/// The tables of `lake` that hold committed-looking data files but no Delta log: the lake was
/// written by a release before the Delta lake, and `dss-lake lake convert` must turn it into
/// Delta tables before anything else opens it. (Since then, a writer creates every table's log
/// before it writes any file, so a Delta lake never looks like this, even after a crash.)
pub fn unconverted_tables(lake: &Path) -> Vec<Table> {
    Table::ALL
        .iter()
        .copied()
        .filter(|&table| !delta_log_dir(lake, table).is_dir() && has_data_files(lake, table))
        .collect()
}

/// Why `lake` may not be opened until it is converted, naming the command that converts it;
/// `None` for a Delta lake (or an empty one). The engine, the daemon and the importer all
/// refuse with this message.
pub fn unconverted_refusal(lake: &Path) -> Option<String> {
    let tables = unconverted_tables(lake);
    if tables.is_empty() {
        return None;
    }
    let names: Vec<&str> = tables.iter().map(|t| t.dir_name()).collect();
    Some(format!(
        "the lake at {lake} was written by a release before the Delta lake: its tables {names} \
         hold files but no {DELTA_LOG_DIR}. Convert it in place, once, with \
         `dss-lake lake convert --lake {lake}`",
        lake = lake.display(),
        names = names.join(", "),
    ))
}

fn has_data_files(lake: &Path, table: Table) -> bool {
    let Ok(partitions) = std::fs::read_dir(table_dir(lake, table)) else {
        return false;
    };
    partitions.flatten().any(|partition| {
        is_date_partition(&partition.file_name().to_string_lossy())
            && std::fs::read_dir(partition.path()).is_ok_and(|files| {
                files.flatten().any(|file| {
                    let name = file.file_name().to_string_lossy().into_owned();
                    !is_hidden(&name) && name.ends_with(PARQUET_EXTENSION)
                })
            })
    })
}

/// The Hive partition folder name for a UTC day, e.g. `date=2026-11-24`.
pub fn date_partition(days_since_epoch: i32) -> String {
    let (y, m, d) = civil_from_days(days_since_epoch);
    format!("date={y:04}-{m:02}-{d:02}")
}

/// Whether a folder under a table is one of its date partitions, and not, say, its
/// `_delta_log/`.
pub fn is_date_partition(folder_name: &str) -> bool {
    folder_name.starts_with("date=")
}

/// The committed file name of a batch from `stream` holding `first_seq..=last_seq`.
///
/// Sequence numbers are zero-padded so that names sort in `seq` order. Quarantine and gaps files
/// carry the range of the frames they cover, or (without a seq) a caller-chosen counter.
pub fn data_file_name(stream: &StreamName, first_seq: u64, last_seq: u64) -> String {
    format!("{stream}-{first_seq:020}-{last_seq:020}.{PARQUET_EXTENSION}")
}

/// The committed file name of quarantine rows, which have no `seq`: named by the stream's commit
/// number instead.
pub fn commit_file_name(stream: &StreamName, commit: u64) -> String {
    format!("{stream}-commit{commit:020}.{PARQUET_EXTENSION}")
}

/// What a committed file's name says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRange {
    /// Rows with `seq` from the first to the last, inclusive.
    Seq(u64, u64),
    /// Rows of the stream's commit number n.
    Commit(u64),
}

/// Parses a committed file name back into its stream and range; `None` for any other file.
pub fn parse_file_name(file_name: &str) -> Option<(StreamName, FileRange)> {
    let stem = file_name.strip_suffix(&format!(".{PARQUET_EXTENSION}"))?;
    if let Some((stream, commit)) = stem.rsplit_once("-commit") {
        let commit = commit.parse().ok()?;
        return Some((StreamName::parse(stream).ok()?, FileRange::Commit(commit)));
    }
    let (rest, last) = stem.rsplit_once('-')?;
    let (stream, first) = rest.rsplit_once('-')?;
    let range = FileRange::Seq(first.parse().ok()?, last.parse().ok()?);
    Some((StreamName::parse(stream).ok()?, range))
}

/// The name a file is written under before it is committed: hidden from every reader. The
/// leading `_` hides it from Hive-style readers (Spark, DataFusion listings), the suffix from a
/// plain `*.parquet` glob (DuckDB's `read_parquet`).
pub fn in_flight_name(final_name: &str) -> String {
    format!("_inflight.{final_name}.partial")
}

/// The committed name an in-flight file was going to get; `None` for any other file.
pub fn in_flight_target(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix("_inflight.")?
        .strip_suffix(".partial")
}

/// True when readers must skip `file_name`: in-flight, hidden, or not Parquet.
pub fn is_hidden(file_name: &str) -> bool {
    file_name.starts_with(['_', '.']) || !file_name.ends_with(&format!(".{PARQUET_EXTENSION}"))
}

/// The checkpoint file of a stream.
pub fn checkpoint_path(lake: &Path, stream: &StreamName) -> PathBuf {
    lake.join(CHECKPOINT_DIR).join(format!("{stream}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_are_hive_dates() {
        assert_eq!(date_partition(0), "date=1970-01-01");
        assert_eq!(date_partition(20_416), "date=2025-11-24");
        assert_eq!(date_partition(-1), "date=1969-12-31");
        assert!(is_date_partition(&date_partition(20_416)));
        assert!(!is_date_partition(DELTA_LOG_DIR) && !is_date_partition("_inflight.date=x"));
    }

    #[test]
    fn file_names_sort_by_seq_and_in_flight_ones_are_hidden() {
        let s = StreamName::parse("freezers").unwrap();
        let a = data_file_name(&s, 9, 10);
        let b = data_file_name(&s, 11, 200);
        assert!(a < b);
        assert!(!is_hidden(&a));
        assert!(is_hidden(&in_flight_name(&a)));
        assert!(
            !in_flight_name(&a).ends_with(".parquet"),
            "a *.parquet glob skips it"
        );
        assert_eq!(in_flight_target(&in_flight_name(&a)), Some(a.as_str()));
        assert_eq!(in_flight_target(&a), None);
        assert!(is_hidden(".DS_Store"));
    }

    #[test]
    fn file_names_parse_back() {
        let s = StreamName::parse("eu-freezers_2").unwrap();
        let name = data_file_name(&s, 9, 10);
        assert_eq!(
            parse_file_name(&name),
            Some((s.clone(), FileRange::Seq(9, 10)))
        );
        let name = commit_file_name(&s, 7);
        assert_eq!(parse_file_name(&name), Some((s, FileRange::Commit(7))));
        assert_eq!(parse_file_name("notes.txt"), None);
    }
}
