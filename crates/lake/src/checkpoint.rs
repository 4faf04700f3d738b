//! A stream's checkpoint: the commit point of the lake. Files beyond it do not count.
//!
//! `<lake>/_checkpoints/<stream>.json` is replaced atomically (write a hidden temp file, fsync,
//! rename, fsync the folder) only after every file of a commit is durable. It names every
//! committed `seq` as ranges ([`SeqRanges`]): the ingest daemon resumes from the highest plus one,
//! an import skips exactly the seqs in the set, and recovery deletes files of commits that never
//! reached it.
//!
//! ```json
//! {"seq": 25, "commits": 3, "sources": {"9f3c…-65536": 4096},
//!  "committed": [[1, 7], [9, 25]], "accounted": [[1, 25]]}
//! ```

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use dss_lake_schema::{StreamName, layout};
use serde::{Deserialize, Serialize};

use crate::error::{LakeError, Result};
use crate::fs::{DurableDirs, LakeFs, replace_durably};
use crate::seq_ranges::SeqRanges;

/// What a stream has committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The highest committed `seq`, where live ingest resumes (`seq_start = seq + 1`); `None`
    /// before the first event. Also the last seq of `committed`, but kept as its own field so
    /// that an older dss-lake (which reads only this) still resumes at the right place.
    pub seq: Option<u64>,
    /// How many commits the stream has made; names the quarantine files, which have no `seq`.
    pub commits: u64,
    /// Archive imports: bytes of each source (by fingerprint) already committed, so a second
    /// import of the same file neither re-reads nor re-quarantines what is in the lake.
    #[serde(default)]
    pub sources: BTreeMap<String, u64>,
    /// Every committed `seq`: exactly the event seqs of this stream in the lake.
    #[serde(default)]
    pub committed: SeqRanges,
    /// Every `seq` whose fate the `gaps` table has settled: committed, or written to `gaps` as
    /// missing. A superset of `committed`; a seq becomes a gap row only on entering this set, so
    /// no seq is ever reported missing twice (see `sink::StreamSink::record_import_gaps`).
    #[serde(default)]
    pub accounted: SeqRanges,
}

impl Checkpoint {
    /// Reads the checkpoint of `stream`; a missing file is an empty checkpoint.
    pub fn load(lake: &Path, stream: &StreamName) -> Result<Checkpoint> {
        Checkpoint::load_stored(lake, stream).map(|(checkpoint, _)| checkpoint)
    }

    /// Like [`Checkpoint::load`], and says whether the file is of the old format (a `seq` but
    /// no ranges).
    ///
    /// The old format is read as `committed = accounted = 0..=seq` (0 is a valid seq). What it
    /// guaranteed: live ingest committed every seq from its first up to `seq`, but the old
    /// importer let in only seqs above its high-water mark, so the events in the lake are SOME
    /// subset of `0..=seq`, and none is above it. The whole range is the one reading that never stores an event
    /// twice; recovery then keeps exactly the files the old rule (`first seq <= seq`) kept, and
    /// since the old sink wrote every jump below `seq` to `gaps`, none is reported again.
    /// Opening the stream then narrows `committed` to the seqs really in those files
    /// (`legacy::upgrade`), so that an import can bring in what the old importer skipped.
    pub(crate) fn load_stored(lake: &Path, stream: &StreamName) -> Result<(Checkpoint, bool)> {
        let path = layout::checkpoint_path(lake, stream);
        let mut checkpoint: Checkpoint = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| LakeError::Checkpoint {
                path,
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
            Err(e) => return Err(LakeError::io("reading", path)(e)),
        };
        let legacy = checkpoint.committed.is_empty() && checkpoint.seq.is_some();
        if let Some(seq) = checkpoint.seq.filter(|_| legacy) {
            checkpoint.committed = SeqRanges::from_range(0, seq);
            checkpoint.accounted = SeqRanges::from_range(0, seq);
        }
        Ok((checkpoint, legacy))
    }

    /// Replaces the checkpoint of `stream` atomically and durably: this is the commit point.
    pub fn store(&self, fs: &dyn LakeFs, lake: &Path, stream: &StreamName) -> Result<()> {
        let path = layout::checkpoint_path(lake, stream);
        let dir = path.parent().expect("checkpoint paths have a folder");
        let temp = dir.join(format!(".{stream}.json.tmp"));
        // Compact: part-way through a Collector archive the committed set can hold a range per
        // event of the files read so far, and pretty JSON spends four lines on each.
        let json = serde_json::to_vec(self).expect("a checkpoint always serialises");
        replace_durably(fs, &temp, &path, &json)
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
    pub fn acquire(fs: &dyn LakeFs, lake: &Path, stream: &StreamName) -> Result<StreamLock> {
        let dir = lake.join(layout::CHECKPOINT_DIR);
        DurableDirs::default().create(fs, &dir)?;
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
    use crate::fs::LocalFs;

    #[test]
    fn a_stored_checkpoint_loads_back_and_a_missing_one_is_empty() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("s").unwrap();
        assert_eq!(
            Checkpoint::load(lake.path(), &stream).unwrap(),
            Checkpoint::default()
        );
        let _lock = StreamLock::acquire(&LocalFs, lake.path(), &stream).unwrap();
        let mut committed = SeqRanges::from_range(1, 7);
        committed.insert_range(9, 42);
        let checkpoint = Checkpoint {
            seq: Some(42),
            commits: 3,
            sources: [("abc".to_owned(), 100)].into(),
            committed,
            accounted: SeqRanges::from_range(1, 42),
        };
        checkpoint.store(&LocalFs, lake.path(), &stream).unwrap();
        assert_eq!(
            Checkpoint::load_stored(lake.path(), &stream).unwrap(),
            (checkpoint, false)
        );
    }

    #[test]
    fn a_checkpoint_of_the_old_format_loads_as_every_seq_up_to_its_high_water_mark() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("old").unwrap();
        let path = layout::checkpoint_path(lake.path(), &stream);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, r#"{"seq": 25, "commits": 2, "sources": {"f": 9}}"#).unwrap();
        let (checkpoint, legacy) = Checkpoint::load_stored(lake.path(), &stream).unwrap();
        assert!(legacy);
        assert_eq!(checkpoint.seq, Some(25));
        assert_eq!(checkpoint.commits, 2);
        assert_eq!(checkpoint.committed, SeqRanges::from_range(0, 25));
        assert_eq!(checkpoint.accounted, SeqRanges::from_range(0, 25));
        // Even older: no `sources` either. And a checkpoint that never saw an event.
        fs::write(&path, r#"{"seq": 3, "commits": 1}"#).unwrap();
        let (checkpoint, legacy) = Checkpoint::load_stored(lake.path(), &stream).unwrap();
        assert!(legacy && checkpoint.committed == SeqRanges::from_range(0, 3));
        fs::write(&path, r#"{"seq": null, "commits": 1}"#).unwrap();
        let (checkpoint, legacy) = Checkpoint::load_stored(lake.path(), &stream).unwrap();
        assert!(!legacy && checkpoint.committed.is_empty());
        // An older dss-lake reads the new format's resume point, ignoring the ranges.
        #[derive(Deserialize)]
        struct OldCheckpoint {
            seq: Option<u64>,
        }
        let new = Checkpoint {
            seq: Some(9),
            committed: SeqRanges::from_range(5, 9),
            ..Checkpoint::default()
        };
        let json = serde_json::to_string(&new).unwrap();
        assert_eq!(
            serde_json::from_str::<OldCheckpoint>(&json).unwrap().seq,
            Some(9)
        );
    }

    #[test]
    fn a_checkpoint_with_a_backwards_range_is_reported_corrupt() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("bad").unwrap();
        let path = layout::checkpoint_path(lake.path(), &stream);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, r#"{"seq": 9, "commits": 1, "committed": [[9, 1]]}"#).unwrap();
        let error = Checkpoint::load(lake.path(), &stream).unwrap_err();
        assert!(
            error.to_string().contains("ends before it starts"),
            "{error}"
        );
    }

    #[test]
    fn a_stream_cannot_be_locked_twice() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("s").unwrap();
        let _held = StreamLock::acquire(&LocalFs, lake.path(), &stream).unwrap();
        assert!(matches!(
            StreamLock::acquire(&LocalFs, lake.path(), &stream),
            Err(LakeError::Locked(_))
        ));
    }
}
