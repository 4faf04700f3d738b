//! What `dss-lake lake info` shows: per table, what its Delta log holds (version, files, rows,
//! bytes, date partitions) and each stream's last commit to it; and `dss-lake lake convert`,
//! which publishes to the Delta logs every committed file they do not name yet (all of them, in
//! a lake written before the lake had logs); and [`publish_files`], which commits Parquet
//! files another tool put into a table's date partitions.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use dss_lake_schema::{StreamName, Table, layout};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::delta::{DeltaLog, Publication, PublishedFile};
use crate::error::{LakeError, Result};
use crate::fs::LocalFs;
use crate::lake::Lake;

/// One table as its Delta log describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    pub table: String,
    /// The log's latest version; `None` before the table's first commit (no log yet).
    pub version: Option<u64>,
    pub files: usize,
    pub rows: u64,
    pub bytes: u64,
    /// Date partitions with at least one file, and the first and last of them.
    pub partitions: usize,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// The newest commit of each stream found in the log's history, by stream name.
    pub streams: Vec<StreamCommit>,
}

/// A stream's newest commit to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamCommit {
    pub stream: String,
    /// The stream's commit number (the version of its `txn` in the table).
    pub commit: u64,
    /// The stream's highest committed seq after that commit (none for a stream of no events).
    pub seq: Option<u64>,
    /// When the Delta commit was made, `2026-11-24T10:25:14.000Z`.
    pub committed_at: Option<String>,
}

/// Every table of the lake at `root`, in [`Table::ALL`] order. Reads only.
pub fn describe(root: &Path) -> Result<Vec<TableInfo>> {
    let streams = known_streams(root)?;
    let mut log = DeltaLog::new(root, Arc::new(LocalFs))?;
    Table::ALL
        .into_iter()
        .map(|table| log.describe(table, &streams))
        .collect()
}

/// Commits `files`, Parquet files of `table`'s schema already in its date partitions but
/// written by another tool (a backfill, a benchmark's generator, a test's fixture), to the
/// table's Delta log in one commit, with statistics read from their rows, and returns the new
/// version. `writer` names that tool in the commit's `txn`; it must not be a stream's name.
/// Files the log already names are committed again, so call it once per file.
pub fn publish_files(
    root: &Path,
    writer: &StreamName,
    table: Table,
    files: &[std::path::PathBuf],
) -> Result<u64> {
    // On a thread of its own: the log drives delta-rs with a runtime, and the caller may be
    // running one (a `#[tokio::test]`, say).
    std::thread::scope(|scope| {
        scope
            .spawn(|| publish_files_here(root, writer, table, files))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn publish_files_here(
    root: &Path,
    writer: &StreamName,
    table: Table,
    files: &[std::path::PathBuf],
) -> Result<u64> {
    let mut log = DeltaLog::new(root, Arc::new(LocalFs))?;
    log.open_all()?;
    let root = std::path::absolute(root).map_err(LakeError::io("resolving", root))?;
    let published = files
        .iter()
        .map(|file| {
            let file = std::path::absolute(file).map_err(LakeError::io("resolving", file))?;
            PublishedFile::read(&root, table, &file)
        })
        .collect::<Result<Vec<_>>>()?;
    let now_millis = SystemClock.now().div_euclid(1_000);
    let publication = Publication {
        files: &published,
        stream: writer,
        commit: 0,
        seq: None,
        now_millis,
    };
    log.append_all(&[(table, publication)])
        .pop()
        .expect("one result per publication")
}

/// What converting one stream did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Converted {
    pub stream: String,
    /// Files published now; the rest of the stream's files were in the logs already.
    pub published: u64,
}

/// Opens and closes every stream of the lake at `root` (each must be free: a running daemon
/// or import holds its lock), which recovers what a crash left and publishes every committed
/// file its table's log does not name. Fails if any file could not be published.
pub fn convert(root: &Path) -> Result<Vec<Converted>> {
    let lake = Lake::new(root).converting();
    let mut converted = Vec::new();
    for stream in known_streams(root)? {
        let writer = lake.open_stream(&stream)?;
        let stats = Arc::clone(writer.stats());
        writer.close()?;
        let left = stats.unpublished_files.load(Ordering::Relaxed);
        if left > 0 {
            return Err(LakeError::CommitFailed {
                stream: stream.to_string(),
                message: format!(
                    "{left} committed files could not be published to their Delta logs (the \
                     warnings above say why); run the conversion again"
                ),
            });
        }
        converted.push(Converted {
            stream: stream.to_string(),
            published: stats.published_files.load(Ordering::Relaxed),
        });
    }
    Ok(converted)
}

/// The streams that have a checkpoint: every stream that ever committed.
fn known_streams(root: &Path) -> Result<Vec<StreamName>> {
    let dir = root.join(layout::CHECKPOINT_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LakeError::io("listing", dir)(e)),
    };
    let mut streams = Vec::new();
    for entry in entries {
        let name = entry.map_err(LakeError::io("listing", &dir))?.file_name();
        let stream = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| StreamName::parse(n).ok());
        streams.extend(stream);
    }
    streams.sort();
    Ok(streams)
}
