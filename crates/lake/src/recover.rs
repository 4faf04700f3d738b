//! Start-up recovery of one stream: remove what an interrupted commit left behind.
//!
//! Two kinds of leftovers: in-flight files (`_inflight.*`, never visible to readers) of a write
//! that was cut short, and complete files of a commit whose checkpoint never landed (a crash
//! between rename and checkpoint). Both are deleted; the events they held are not in the
//! checkpoint's committed set, so the ingest daemon's resume (`seq_start = checkpoint + 1`) or a
//! re-run import writes them again, exactly once.
//!
//! A file's name carries the lowest seq it holds, and that decides: an event file is committed
//! when its first seq is in the checkpoint's `committed` set, a gaps file when its first
//! missing seq is in `accounted`. A commit only ever holds seqs outside those sets (the sinks'
//! dedupe sees to it), so the test is exact in both directions, whatever order imports come in;
//! for a checkpoint that only knows its highest seq it is the old `first <= seq`.

use std::path::{Path, PathBuf};

use dss_lake_schema::layout::{self, FileRange};
use dss_lake_schema::{StreamName, Table};

use crate::checkpoint::Checkpoint;
use crate::error::{LakeError, Result};
use crate::fs::{LakeFs, sync_dir};

/// What recovery removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub removed_in_flight: Vec<PathBuf>,
    pub rolled_back: Vec<PathBuf>,
}

/// The stream's committed files that recovery found and kept, by table: what its tables' Delta
/// logs must name.
pub(crate) type KeptFiles = Vec<(Table, PathBuf)>;

/// Removes `stream`'s leftovers under `lake`. The caller holds the stream's lock.
pub(crate) fn recover_stream(
    fs: &dyn LakeFs,
    lake: &Path,
    stream: &StreamName,
    checkpoint: &Checkpoint,
) -> Result<(Recovery, KeptFiles)> {
    let mut recovery = Recovery::default();
    let mut kept = KeptFiles::new();
    for table in Table::ALL {
        let table_dir = layout::table_dir(lake, table);
        for partition in partitions(&table_dir)? {
            let mut removed_any = false;
            for file in list(&partition)? {
                let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let verdict = if let Some(final_name) = layout::in_flight_target(name) {
                    belongs_to(final_name, stream).then_some(&mut recovery.removed_in_flight)
                } else {
                    match layout::parse_file_name(name) {
                        Some((s, range)) if &s == stream => {
                            if uncommitted(table, range, checkpoint) {
                                Some(&mut recovery.rolled_back)
                            } else {
                                kept.push((table, file.clone()));
                                None
                            }
                        }
                        _ => None,
                    }
                };
                if let Some(list) = verdict {
                    fs.remove_file(&file)
                        .map_err(LakeError::io("removing", &file))?;
                    list.push(file);
                    removed_any = true;
                }
            }
            if removed_any {
                sync_dir(fs, &partition)?;
            }
        }
    }
    Ok((recovery, kept))
}

fn belongs_to(final_name: &str, stream: &StreamName) -> bool {
    layout::parse_file_name(final_name).is_some_and(|(s, _)| &s == stream)
}

fn uncommitted(table: Table, range: FileRange, checkpoint: &Checkpoint) -> bool {
    match range {
        FileRange::Seq(first, _) if table == Table::Gaps => !checkpoint.accounted.contains(first),
        FileRange::Seq(first, _) => !checkpoint.committed.contains(first),
        FileRange::Commit(n) => n > checkpoint.commits,
    }
}

/// The date partition folders of a table folder (not its `_delta_log/`).
pub(crate) fn partitions(table_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut folders = list(table_dir)?;
    folders.retain(|path| {
        path.is_dir()
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(layout::is_date_partition)
    });
    Ok(folders)
}

pub(crate) fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()).map_err(LakeError::io("listing", dir)))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(LakeError::io("listing", dir)(e)),
    }
}
