//! A stream's checkpoint: the commit point of the lake. Files beyond it do not count.
//!
//! `<lake>/_checkpoints/<stream>.json` is replaced atomically (write a hidden temp file, fsync,
//! rename, fsync the folder) only after every file of a commit is durable. The ingest daemon
//! resumes from `seq + 1`; recovery deletes files of commits that never reached it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use dss_lake_schema::{StreamName, layout};
use serde::{Deserialize, Serialize};

use crate::error::{LakeError, Result};
use crate::fsync::sync_dir;

/// What a stream has committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The highest committed `seq`; `None` before the first event.
    pub seq: Option<u64>,
    /// How many commits the stream has made; names the quarantine files, which have no `seq`.
    pub commits: u64,
    /// Archive imports: bytes of each source (by fingerprint) already committed, so a second
    /// import of the same file neither re-reads nor re-quarantines what is in the lake.
    #[serde(default)]
    pub sources: BTreeMap<String, u64>,
}

impl Checkpoint {
    /// Reads the checkpoint of `stream`; a missing file is an empty checkpoint.
    pub fn load(lake: &Path, stream: &StreamName) -> Result<Checkpoint> {
        let path = layout::checkpoint_path(lake, stream);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LakeError::Checkpoint {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(LakeError::io("reading", path)(e)),
        }
    }

    /// Replaces the checkpoint of `stream` atomically and durably.
    pub fn store(&self, lake: &Path, stream: &StreamName) -> Result<()> {
        let path = layout::checkpoint_path(lake, stream);
        let dir = path.parent().expect("checkpoint paths have a folder");
        let temp = dir.join(format!(".{stream}.json.tmp"));
        let json = serde_json::to_vec_pretty(self).expect("a checkpoint always serialises");
        let mut file = File::create(&temp).map_err(LakeError::io("creating", &temp))?;
        file.write_all(&json)
            .map_err(LakeError::io("writing", &temp))?;
        file.sync_all().map_err(LakeError::io("syncing", &temp))?;
        fs::rename(&temp, &path).map_err(LakeError::io("renaming", &temp))?;
        sync_dir(dir)
    }
}

/// An exclusive lock on a stream, held while its writer runs, so that two processes never
/// commit (or recover) the same stream at once.
#[derive(Debug)]
pub struct StreamLock {
    _file: File,
    pub path: PathBuf,
}

impl StreamLock {
    pub fn acquire(lake: &Path, stream: &StreamName) -> Result<StreamLock> {
        let dir = lake.join(layout::CHECKPOINT_DIR);
        crate::fsync::create_dir_all_synced(&dir)?;
        let path = dir.join(format!("{stream}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(LakeError::io("opening", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(StreamLock { _file: file, path }),
            Err(fs::TryLockError::WouldBlock) => Err(LakeError::Locked(stream.to_string())),
            Err(fs::TryLockError::Error(e)) => Err(LakeError::io("locking", path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_checkpoint_loads_back_and_a_missing_one_is_empty() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("s").unwrap();
        assert_eq!(
            Checkpoint::load(lake.path(), &stream).unwrap(),
            Checkpoint::default()
        );
        let _lock = StreamLock::acquire(lake.path(), &stream).unwrap();
        let checkpoint = Checkpoint {
            seq: Some(42),
            commits: 3,
            sources: [("abc".to_owned(), 100)].into(),
        };
        checkpoint.store(lake.path(), &stream).unwrap();
        assert_eq!(Checkpoint::load(lake.path(), &stream).unwrap(), checkpoint);
    }

    #[test]
    fn a_stream_cannot_be_locked_twice() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("s").unwrap();
        let _held = StreamLock::acquire(lake.path(), &stream).unwrap();
        assert!(matches!(
            StreamLock::acquire(lake.path(), &stream),
            Err(LakeError::Locked(_))
        ));
    }
}
