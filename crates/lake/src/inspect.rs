//! What `dss-lake lake info` shows: per table, what its Delta log holds (version, files, rows,
//! bytes, date partitions) and each stream's last commit to it.

use std::path::Path;
use std::sync::Arc;

use dss_lake_schema::{StreamName, Table, layout};
use serde::Serialize;

use crate::delta::DeltaLog;
use crate::error::{LakeError, Result};
use crate::fs::LocalFs;

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

/// The streams that have a checkpoint: where the history scan of a table may stop.
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
