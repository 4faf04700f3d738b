//! The commit point never moves before the data is durable, and a failure or a power cut at any
//! step of a commit loses and doubles nothing once the stream is reopened and resumed.
//!
//! Every call the lake makes to change the disk goes through `PowerCutFs`, which records them,
//! fails the one a test picks, or cuts the power there (undoing whatever was not yet synced).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dss_lake_lake::fs::{LakeFile, LakeFs, LocalFs};
use dss_lake_lake::{Checkpoint, CommitRetry, Lake, SeqRanges};
use dss_lake_schema::{StreamName, Table, layout};

use dss_lake_test_support::delta::{delta_files, delta_seq_counts};
use dss_lake_test_support::lake::table_files;

use super::{frames_of, push_frames, seq_counts};
use crate::power_cut::{Call, Fault, PowerCutFs, Step};

/// Events of the two commits every scenario makes, of two tables; they span midnight, so a
/// commit writes more than one file per table and creates date folders. (Two tables, not five:
/// each scenario runs once per step, and more files add steps of the same kinds.)
const FIRST_COMMIT: u64 = 150;
const EVENTS: u64 = 400;
const TABLES: [Table; 2] = [Table::Datapoint, Table::Connectivity];

fn stream() -> StreamName {
    StreamName::parse("plant").unwrap()
}

/// Opens the stream through `fs`, commits events `1..=FIRST_COMMIT`, then the rest, and
/// closes. Returns the first error, as the daemon would meet it.
fn two_commits(lake: &Path, fs: &PowerCutFs, retry: Option<CommitRetry>) -> Result<(), String> {
    let frames = frames_of(EVENTS as usize, &TABLES);
    let mut lake = Lake::new(lake).with_fs(Arc::new(fs.clone()));
    if let Some(retry) = retry {
        lake = lake.with_commit_retry(retry);
    }
    let mut writer = lake.open_stream(&stream()).map_err(|e| e.to_string())?;
    let (first, rest) = frames.split_at(FIRST_COMMIT as usize);
    let sink = writer.sink();
    let pushed = push_frames(sink, first)
        .and_then(|()| sink.flush())
        .and_then(|_| push_frames(sink, rest))
        .and_then(|()| sink.flush());
    // Closing joins the writer thread, so its lock is released before anyone reopens.
    let closed = writer.close();
    pushed.map_err(|e| e.to_string())?;
    closed.map(drop).map_err(|e| e.to_string())
}

/// The steps opening a stream takes on an empty lake: failing those fails the open, which no
/// retry covers (the daemon's restart does).
fn opening_steps() -> usize {
    let dir = tempfile::tempdir().unwrap();
    let fs = PowerCutFs::new(Fault::None);
    let writer = Lake::new(dir.path()).with_fs(Arc::new(fs.clone()));
    writer.open_stream(&stream()).unwrap().close().unwrap();
    fs.steps().len()
}

/// What a restarted daemon does: reopen with the real file system, resume after the
/// checkpoint's highest seq as DSS would (`seq_start = seq + 1`), close.
fn restart_and_resume(lake: &Path) -> Checkpoint {
    let mut writer = Lake::new(lake).open_stream(&stream()).unwrap();
    let resume_after = writer.opened_at().seq.unwrap_or(0);
    let frames = frames_of(EVENTS as usize, &TABLES);
    push_frames(writer.sink(), &frames[resume_after as usize..]).unwrap();
    writer.close().unwrap()
}

fn assert_every_event_once(lake: &Path, checkpoint: &Checkpoint, context: &str) {
    let expected: BTreeMap<u64, usize> = (1..=EVENTS).map(|seq| (seq, 1)).collect();
    assert_eq!(seq_counts(lake), expected, "{context}");
    // What a Delta reader sees: the same events, and no file beyond the committed ones.
    assert_eq!(
        delta_seq_counts(lake),
        expected,
        "{context}: in the Delta logs"
    );
    for table in TABLES {
        let committed: Vec<PathBuf> = table_files(lake, table)
            .into_iter()
            .map(|f| std::path::absolute(f.path).unwrap())
            .collect();
        assert_eq!(delta_files(lake, table), committed, "{context}: {table}");
    }
    assert_eq!(
        checkpoint.committed,
        SeqRanges::from_range(1, EVENTS),
        "{context}"
    );
    assert_eq!(checkpoint.seq, Some(EVENTS), "{context}");
    let gaps = super::table_batches(lake, Table::Gaps);
    assert!(gaps.is_empty(), "{context}: a resume reported gaps");
}

/// Whether step `i` publishes a commit to a Delta log: the steps right after a checkpoint's
/// folder sync that write under a `_delta_log/` folder or sync a table folder (for a new log
/// folder). A failure there is not a failed commit: the files are published with the next
/// commit, or when the stream reopens.
///
/// So is making every table's log when the writer starts, before its first data file: a table
/// whose log is not made then gets it with its first publish.
fn publishing(steps: &[Step], i: usize) -> bool {
    let under_a_log = |s: &Step| {
        s.path
            .components()
            .any(|c| c.as_os_str() == layout::DELTA_LOG_DIR)
    };
    // A table folder's sync right after its new log folder is made.
    let in_log = |j: usize| {
        under_a_log(&steps[j])
            || (steps[j].call == Call::SyncDir
                && j > 0
                && steps[j - 1].call == Call::CreateDir
                && steps[j - 1].path == steps[j].path.join(layout::DELTA_LOG_DIR))
    };
    let checkpoints = layout::CHECKPOINT_DIR;
    let after_a_checkpoint = (0..=i)
        .rev()
        .find(|&j| !in_log(j))
        .is_some_and(|j| steps[j].call == Call::SyncDir && steps[j].path.ends_with(checkpoints));
    let in_a_partition = |s: &Step| {
        s.path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|p| layout::is_date_partition(&p.to_string_lossy()))
    };
    let makes_table_folder = |s: &Step| {
        s.call == Call::CreateDir && Table::ALL.iter().any(|t| s.path.ends_with(t.dir_name()))
    };
    // The lake folder's sync that makes a new table folder durable, not the one before it
    // for the checkpoints folder.
    let syncs_new_table_folder = i > 0
        && steps[i].call == Call::SyncDir
        && makes_table_folder(&steps[i - 1])
        && steps[i - 1].path.parent() == Some(&steps[i].path);
    let at_start = !steps[..i].iter().any(in_a_partition);
    (after_a_checkpoint && in_log(i))
        || (at_start && (in_log(i) || makes_table_folder(&steps[i]) || syncs_new_table_folder))
}

/// The steps of a clean run, to pick fault points from.
fn clean_run_steps() -> Vec<Step> {
    let dir = tempfile::tempdir().unwrap();
    let fs = PowerCutFs::new(Fault::None);
    two_commits(dir.path(), &fs, None).unwrap();
    fs.steps()
}

#[test]
fn the_commit_point_moves_only_after_every_file_of_the_commit_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let fs = PowerCutFs::new(Fault::None);
    two_commits(dir.path(), &fs, None).unwrap();
    let steps = fs.steps();
    let checkpoint = layout::checkpoint_path(dir.path(), &stream());
    let commit_points: Vec<usize> = positions(&steps, |s| {
        s.call == Call::Rename && s.to.as_deref() == Some(checkpoint.as_path())
    });
    assert_eq!(
        commit_points.len(),
        2,
        "one checkpoint per commit: {steps:#?}"
    );

    let mut data_files = 0;
    let mut commit_start = 0;
    for &point in &commit_points {
        let commit = &steps[commit_start..point];
        for (i, rename) in commit.iter().enumerate() {
            let Some(target) = rename.to.as_deref().filter(|_| rename.call == Call::Rename) else {
                continue;
            };
            data_files += 1;
            let temp = rename.path.as_path();
            let before = &commit[..i];
            let last_write = last(before, Call::Write, temp).expect("written before its rename");
            let synced = last(before, Call::SyncFile, temp).expect("synced before its rename");
            assert!(last_write < synced, "{temp:?} synced before its last write");
            assert!(last(before, Call::CreateFile, temp).is_some_and(|c| c < last_write));
            let folder = target.parent().unwrap();
            assert!(
                commit[i..]
                    .iter()
                    .any(|s| s.call == Call::SyncDir && s.path == folder),
                "the folder of {target:?} is not synced before the commit point"
            );
        }
        for (i, created) in commit.iter().enumerate() {
            if created.call == Call::CreateDir {
                let parent = created.path.parent().unwrap();
                assert!(
                    commit[i..]
                        .iter()
                        .any(|s| s.call == Call::SyncDir && s.path == parent),
                    "new folder {:?} not made durable before the commit point",
                    created.path
                );
            }
        }
        // The checkpoint itself: written, synced, renamed, its folder synced.
        let temp = steps[point].path.as_path();
        assert!(
            last(commit, Call::SyncFile, temp).is_some(),
            "checkpoint not synced"
        );
        let folder = checkpoint.parent().unwrap();
        assert!(
            steps[point + 1..]
                .iter()
                .take_while(|s| s.call != Call::CreateFile)
                .any(|s| s.call == Call::SyncDir && s.path == folder),
            "the checkpoint's folder is not synced after its rename"
        );
        commit_start = point + 1;
    }
    // Each Delta log entry: published after the commit point of the files it names, from a
    // staging file synced before it is linked under its name, its folder synced after.
    let links = positions(&steps, |s| s.call == Call::Link);
    assert_eq!(
        links.len(),
        Table::ALL.len() + TABLES.len() * 2,
        "per table, its creation at start, and an append per commit of those written: {steps:#?}"
    );
    let first_data_file = steps
        .iter()
        .position(|s| {
            s.call == Call::CreateFile
                && !s
                    .path
                    .components()
                    .any(|c| c.as_os_str() == layout::DELTA_LOG_DIR)
        })
        .unwrap();
    for &link in &links {
        let (staging, entry) = (&steps[link].path, steps[link].to.as_deref().unwrap());
        let creates_the_table = entry.ends_with("00000000000000000000.json");
        assert!(
            if creates_the_table {
                link < first_data_file
            } else {
                commit_points.iter().any(|&point| point < link)
            },
            "{entry:?}: a table made after a data file, or an append before any commit point"
        );
        assert!(
            last(&steps[..link], Call::SyncFile, staging).is_some(),
            "{staging:?} linked unsynced"
        );
        let folder = entry.parent().unwrap();
        assert!(
            steps[link..]
                .iter()
                .any(|s| s.call == Call::SyncDir && s.path == folder),
            "the folder of {entry:?} is not synced after the link"
        );
    }
    // Each commit writes a file per table, and the first one per date as well.
    assert!(
        data_files > 2 * TABLES.len(),
        "{data_files} data files: too few to show the order"
    );
}

#[test]
fn a_power_cut_at_any_step_loses_and_doubles_nothing_after_a_restart() {
    let steps = clean_run_steps();
    for (crash_at, step) in steps.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let fs = PowerCutFs::new(Fault::CrashAt(crash_at));
        let outcome = two_commits(dir.path(), &fs, None);
        let context = format!("power cut at step {crash_at} ({step:?})");
        // Cut in the last commit's publishing, nothing is left for the dead process to report.
        assert!(
            outcome.is_err() || publishing(&steps, crash_at),
            "{context}: not reported"
        );
        fs.power_cut();
        let checkpoint = restart_and_resume(dir.path());
        assert_every_event_once(dir.path(), &checkpoint, &context);
    }
}

#[test]
fn a_failed_step_stops_the_writer_and_a_restart_loses_and_doubles_nothing() {
    let steps = clean_run_steps();
    for (fail_at, step) in steps.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let fs = PowerCutFs::new(Fault::FailOnce(fail_at));
        let outcome = two_commits(dir.path(), &fs, None);
        let context = format!("failure at step {fail_at} ({step:?})");
        if publishing(&steps, fail_at) {
            assert_eq!(outcome, Ok(()), "{context}: publishing stopped the writer");
        } else {
            assert!(outcome.is_err(), "{context}: not reported");
        }
        let checkpoint = restart_and_resume(dir.path());
        assert_every_event_once(dir.path(), &checkpoint, &context);
    }
}

#[test]
fn a_writer_that_retries_survives_a_failure_at_any_step_of_a_commit() {
    let steps = clean_run_steps();
    let retry = CommitRetry {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(1),
    };
    for fail_at in opening_steps()..steps.len() {
        let dir = tempfile::tempdir().unwrap();
        let fs = PowerCutFs::new(Fault::FailOnce(fail_at));
        let context = format!("failure at step {fail_at} ({:?})", steps[fail_at]);
        two_commits(dir.path(), &fs, Some(retry)).unwrap_or_else(|e| panic!("{context}: {e}"));
        let run = fs.steps();
        if publishing(&steps, fail_at) {
            // Published again with the next commit or at the reopen below, not retried now.
            let checkpoint = Lake::new(dir.path())
                .open_stream(&stream())
                .unwrap()
                .close();
            assert_every_event_once(dir.path(), &checkpoint.unwrap(), &context);
            continue;
        }
        let failed = &run[fail_at];
        let retried = run[fail_at + 1..]
            .iter()
            .any(|s| s.call == failed.call && s.path == failed.path);
        assert!(retried, "{context}: the failed step was not tried again");
        assert_eq!(
            removed_before_retry(&run, fail_at),
            left_by_failed_attempt(dir.path(), &run, fail_at),
            "{context}: the failed attempt's files were not removed before the retry"
        );
        let mut reopened = Lake::new(dir.path()).open_stream(&stream()).unwrap();
        let recovery = reopened.recovery().clone();
        assert!(
            recovery.removed_in_flight.is_empty() && recovery.rolled_back.is_empty(),
            "{context}: the retry left {recovery:?}"
        );
        reopened.sink().send_pending().unwrap();
        let checkpoint = reopened.close().unwrap();
        assert_every_event_once(dir.path(), &checkpoint, &context);
    }
}

/// The table files the attempt that failed at step `fail_at` had made (at their last name, in
/// flight or renamed into view): none once its checkpoint landed, as only a later sync failed.
fn left_by_failed_attempt(lake: &Path, run: &[Step], fail_at: usize) -> BTreeSet<PathBuf> {
    let checkpoint = layout::checkpoint_path(lake, &stream());
    let attempt_start = run[..fail_at]
        .iter()
        .rposition(|s| s.call == Call::Rename && s.to.as_ref() == Some(&checkpoint))
        .map_or(0, |i| i + 1);
    // Data files only: a Delta log entry is published after its commit, not part of it.
    let in_tables = |path: &Path| {
        Table::ALL
            .iter()
            .any(|&t| path.starts_with(layout::table_dir(lake, t)))
            && !path
                .components()
                .any(|c| c.as_os_str() == layout::DELTA_LOG_DIR)
    };
    let mut left = BTreeSet::new();
    for step in &run[attempt_start..fail_at] {
        match step.call {
            Call::CreateFile if in_tables(&step.path) => {
                left.insert(step.path.clone());
            }
            Call::Rename if left.remove(&step.path) => {
                left.insert(step.to.clone().unwrap());
            }
            _ => {}
        }
    }
    left
}

/// What was removed after the failed step `fail_at` and before the retry's first new file.
fn removed_before_retry(run: &[Step], fail_at: usize) -> BTreeSet<PathBuf> {
    run[fail_at + 1..]
        .iter()
        .take_while(|s| s.call != Call::CreateFile)
        .filter(|s| s.call == Call::Remove)
        .map(|s| s.path.clone())
        .collect()
}

/// The local file system with one of the things a real one does to a writer now and then.
#[derive(Debug)]
enum LocalFsBut {
    /// Another writer (a second stream committing into the same date folders) creates every
    /// folder a moment before this one does.
    LosesEveryFolderRace,
    /// Every new file is refused, as on a full disk.
    RefusesNewFiles,
}

impl LakeFs for LocalFsBut {
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        LocalFs.create_dir(dir)?;
        match self {
            LocalFsBut::LosesEveryFolderRace => Err(io::ErrorKind::AlreadyExists.into()),
            LocalFsBut::RefusesNewFiles => Ok(()),
        }
    }

    fn create_file(&self, path: &Path) -> io::Result<Box<dyn LakeFile>> {
        match self {
            LocalFsBut::RefusesNewFiles => Err(io::ErrorKind::StorageFull.into()),
            LocalFsBut::LosesEveryFolderRace => LocalFs.create_file(path),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        LocalFs.rename(from, to)
    }

    fn link_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        match self {
            LocalFsBut::RefusesNewFiles => Err(io::ErrorKind::StorageFull.into()),
            LocalFsBut::LosesEveryFolderRace => LocalFs.link_new(from, to),
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        LocalFs.sync_dir(dir)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        LocalFs.remove_file(path)
    }
}

#[test]
fn a_folder_another_writer_creates_first_is_used_and_a_file_in_its_place_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path()).with_fs(Arc::new(LocalFsBut::LosesEveryFolderRace));
    let mut writer = lake.open_stream(&stream()).unwrap();
    let frames = frames_of(EVENTS as usize, &TABLES);
    push_frames(writer.sink(), &frames).unwrap();
    let checkpoint = writer.close().unwrap();
    assert_every_event_once(dir.path(), &checkpoint, "folders made by another writer");

    let blocked = tempfile::tempdir().unwrap();
    std::fs::write(
        layout::table_dir(blocked.path(), Table::Datapoint),
        "not a folder",
    )
    .unwrap();
    let table_dir = layout::table_dir(blocked.path(), Table::Datapoint);
    let Err(error) = Lake::new(blocked.path()).open_stream(&stream()) else {
        panic!("a file where a table folder belongs is not an error at open");
    };
    let error = error.to_string();
    assert!(
        error.contains(&table_dir.display().to_string()),
        "the error names the folder: {error}"
    );
}

#[test]
fn while_a_commit_is_retried_the_chunks_behind_it_wait_in_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path())
        .with_fs(Arc::new(LocalFsBut::RefusesNewFiles))
        .with_policy(dss_lake_lake::FlushPolicy {
            max_rows: dss_lake_lake::CHUNK_ROWS,
            ..Default::default()
        })
        .with_commit_retry(CommitRetry {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
        });
    let mut writer = lake.open_stream(&stream()).unwrap();
    let chunk = dss_lake_lake::CHUNK_ROWS;
    let frames = frames_of(chunk * 3, &TABLES);
    assert_eq!(writer.sink().queue_depth(), 0);
    push_frames(writer.sink(), &frames[..chunk]).unwrap();
    let stats = Arc::clone(writer.stats());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while stats
        .commit_failures
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first commit never failed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The writer holds the first chunk and retries it; it takes nothing more off the queue.
    push_frames(writer.sink(), &frames[chunk..]).unwrap();
    assert_eq!(writer.sink().queue_depth(), 2);
    stats.stop_retrying();
    let error = writer.close().unwrap_err().to_string();
    assert!(error.contains("creating"), "{error}");
}

fn positions(steps: &[Step], matches: impl Fn(&Step) -> bool) -> Vec<usize> {
    (0..steps.len()).filter(|&i| matches(&steps[i])).collect()
}

fn last(steps: &[Step], call: Call, path: &Path) -> Option<usize> {
    steps.iter().rposition(|s| s.call == call && s.path == path)
}
