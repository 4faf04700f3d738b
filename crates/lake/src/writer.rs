//! A stream's writer thread: it takes chunks of rows off a bounded queue, holds them until the
//! flush policy says commit, then writes the files and advances the checkpoint.
//!
//! All file I/O happens here, never on the producers' (socket or import) threads. The queue is a
//! bounded `crossbeam_channel`: lock-free on the hand-off, blocking the producer when full, which
//! is exactly the backpressure we want (the socket read slows down instead of memory growing).
//! Capacity is counted in chunks of `CHUNK_ROWS` rows, so writer memory is bounded by the queue
//! plus the flush policy's `max_bytes`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use dss_lake_frame::Micros;
use dss_lake_schema::{StreamName, Table};

use crate::checkpoint::{Checkpoint, StreamLock};
use crate::clock::Clock;
use crate::commit::{CommittedFile, write_table};
use crate::delta::{DeltaLog, Publication, PublishedFile};
use crate::error::{LakeError, Result};
use crate::fs::{DurableDirs, LakeFs};
use crate::policy::FlushPolicy;
use crate::recover::KeptFiles;
use crate::retry::CommitRetry;
use crate::seq_ranges::SeqRanges;

/// A message from a stream's producer to its writer.
#[derive(Debug)]
pub(crate) enum ToWriter {
    /// Rows of every table with the seqs they hold (`seqs`) and report missing (`gaps`), in ONE
    /// message: a commit may only happen between messages, so it can never take some of the
    /// rows without the others, nor rows without their seqs.
    Rows {
        batches: Vec<(Table, RecordBatch)>,
        seqs: SeqRanges,
        gaps: SeqRanges,
    },
    /// Everything before `offset` of the archive `source` has been sent.
    Progress { source: String, offset: u64 },
    /// Commit now and report back.
    Flush(Sender<Result<Commit, String>>),
}

/// What one commit wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    pub files: Vec<CommittedFile>,
    pub checkpoint: Checkpoint,
}

/// What a stream's writer shares while it runs: counters for a metrics endpoint, and its state
/// (retrying, and why; stopped, and why) for health checks and for its producer.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub files: AtomicU64,
    pub file_bytes: AtomicU64,
    pub rows: AtomicU64,
    pub flush_micros_total: AtomicU64,
    pub last_commit_micros: AtomicU64,
    /// Commit attempts that failed, retried or not.
    pub commit_failures: AtomicU64,
    /// Committed files published to their table's Delta log.
    pub published_files: AtomicU64,
    /// Attempts to publish committed files to a table's Delta log that failed; each is tried
    /// again with the next commit.
    pub publish_failures: AtomicU64,
    /// Committed files not yet in their table's Delta log.
    pub unpublished_files: AtomicU64,
    /// Set while a failed commit waits for its retry. A mutex, not an atomic: written once per
    /// failed attempt, read once per health check.
    pub(crate) retry_reason: Mutex<Option<String>>,
    pub(crate) failure: OnceLock<Arc<LakeError>>,
    pub(crate) stop_retrying: AtomicBool,
}

/// Rows waiting for the next commit, and the policy's view of them.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    tables: BTreeMap<Table, Vec<RecordBatch>>,
    rows: usize,
    bytes: usize,
    oldest: Option<Micros>,
    seqs: SeqRanges,
    gaps: SeqRanges,
    sources: BTreeMap<String, u64>,
}

/// Why a commit happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlushReason {
    Rows,
    Bytes,
    Age,
}

impl Pending {
    pub(crate) fn add_rows(&mut self, table: Table, batch: RecordBatch, now: Micros) {
        self.rows += batch.num_rows();
        self.bytes += batch.get_array_memory_size();
        self.oldest.get_or_insert(now);
        self.tables.entry(table).or_default().push(batch);
    }

    /// The seqs of rows added: stored events (`seqs`) and seqs reported missing (`gaps`).
    pub(crate) fn add_seqs(&mut self, seqs: &SeqRanges, gaps: &SeqRanges) {
        self.seqs.extend(seqs);
        self.gaps.extend(gaps);
    }

    pub(crate) fn add_progress(&mut self, source: String, offset: u64, now: Micros) {
        self.oldest.get_or_insert(now);
        self.sources.insert(source, offset);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.oldest.is_none()
    }

    pub(crate) fn due(&self, policy: &FlushPolicy, now: Micros) -> Option<FlushReason> {
        let age = self
            .oldest
            .map(|t| Duration::from_micros(now.saturating_sub(t).max(0) as u64));
        if self.rows >= policy.max_rows {
            Some(FlushReason::Rows)
        } else if self.bytes >= policy.max_bytes {
            Some(FlushReason::Bytes)
        } else if age.is_some_and(|a| a >= policy.max_age) {
            Some(FlushReason::Age)
        } else {
            None
        }
    }
}

pub(crate) struct Writer {
    pub(crate) lake: PathBuf,
    pub(crate) fs: Arc<dyn LakeFs>,
    pub(crate) dirs: DurableDirs,
    pub(crate) stream: StreamName,
    pub(crate) policy: FlushPolicy,
    /// `None`: a failed commit stops the writer.
    pub(crate) retry: Option<CommitRetry>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) checkpoint: Checkpoint,
    pub(crate) stats: Arc<WriterStats>,
    /// The stream's committed files that recovery found at open; those missing from their
    /// table's Delta log are published before the first commit.
    pub(crate) kept: KeptFiles,
    /// Committed files waiting for their table's Delta log, by table.
    pub(crate) unpublished: BTreeMap<Table, Vec<PublishedFile>>,
    pub(crate) _lock: StreamLock,
}

impl Writer {
    /// Runs until every producer is gone, then commits what is left. On failure the cause is
    /// recorded before the queue closes, so a producer's failed send can report it.
    pub(crate) fn run(self, queue: Receiver<ToWriter>) -> Result<Checkpoint> {
        let stats = Arc::clone(&self.stats);
        let stream = self.stream.clone();
        let result = self.serve(&queue).map_err(|e| stats.fail(&stream, e));
        drop(queue);
        result
    }

    fn serve(mut self, queue: &Receiver<ToWriter>) -> Result<Checkpoint> {
        // Made here, in the writer's own thread: a tokio runtime must not be dropped inside
        // another one, and producers may run in one.
        let mut delta = DeltaLog::new(&self.lake, Arc::clone(&self.fs))?;
        if let Err(error) = delta.open_all() {
            // Not fatal: a table whose log cannot be made now (its folder blocked, a failing
            // disk) gets it with its first publish, which retries. Until then a crash could
            // leave that table looking like one from before the Delta lake, and `lake convert`
            // (which the refusal names) publishes its files.
            self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(stream = %self.stream, %error, "could not open every table's Delta log at start; retrying with the first commit");
        }
        self.find_unpublished(&mut delta);
        self.publish(&mut delta);
        let tick =
            (self.policy.max_age / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let mut pending = Pending::default();
        loop {
            match queue.recv_timeout(tick) {
                Ok(ToWriter::Rows {
                    batches,
                    seqs,
                    gaps,
                }) => {
                    for (table, batch) in batches {
                        pending.add_rows(table, batch, self.clock.now());
                    }
                    pending.add_seqs(&seqs, &gaps);
                }
                Ok(ToWriter::Progress { source, offset }) => {
                    pending.add_progress(source, offset, self.clock.now())
                }
                Ok(ToWriter::Flush(reply)) => {
                    let result = self.commit(std::mem::take(&mut pending));
                    self.publish(&mut delta);
                    let report = result.as_ref().map(Clone::clone).map_err(|e| e.to_string());
                    let _ = reply.send(report);
                    result?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.commit(pending)?;
                    self.publish(&mut delta);
                    return Ok(self.checkpoint);
                }
            }
            if let Some(reason) = pending.due(&self.policy, self.clock.now()) {
                tracing::debug!(stream = %self.stream, ?reason, rows = pending.rows, "flushing");
                self.commit(std::mem::take(&mut pending))?;
                self.publish(&mut delta);
            }
        }
    }

    /// Queues for publishing every file recovery kept that its table's log does not name: a
    /// commit whose publishing a crash or a failing store cut short.
    fn find_unpublished(&mut self, delta: &mut DeltaLog) {
        let mut by_table: BTreeMap<Table, Vec<PathBuf>> = BTreeMap::new();
        for (table, path) in std::mem::take(&mut self.kept) {
            by_table.entry(table).or_default().push(path);
        }
        for (table, paths) in by_table {
            let missing = delta.file_paths(table).and_then(|logged| {
                paths
                    .iter()
                    .filter(|path| {
                        PublishedFile::relative_path(&self.lake, table, path)
                            .is_some_and(|(relative, _)| !logged.contains(&relative))
                    })
                    .map(|path| PublishedFile::read(&self.lake, table, path))
                    .collect::<Result<Vec<_>>>()
            });
            match missing {
                Ok(files) if files.is_empty() => {}
                Ok(files) => {
                    tracing::info!(stream = %self.stream, %table, files = files.len(), "publishing committed files the Delta log does not name yet");
                    self.unpublished.entry(table).or_default().extend(files);
                }
                Err(error) => {
                    self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(stream = %self.stream, %table, %error, "could not compare the stream's files with the Delta log; trying again when the stream next opens");
                }
            }
        }
        self.count_unpublished();
    }

    /// Commits every unpublished file to its table's Delta log, with the stream's latest
    /// commit number as its `txn`. A table whose commit fails keeps its files for the next try.
    fn publish(&mut self, delta: &mut DeltaLog) {
        if self.unpublished.is_empty() {
            return;
        }
        let now_millis = self.clock.now().div_euclid(1_000);
        let publications: Vec<(Table, Publication<'_>)> = self
            .unpublished
            .iter()
            .map(|(&table, files)| {
                let publication = Publication {
                    files,
                    stream: &self.stream,
                    commit: self.checkpoint.commits,
                    seq: self.checkpoint.seq,
                    now_millis,
                };
                (table, publication)
            })
            .collect();
        let results = delta.append_all(&publications);
        let mut published = Vec::new();
        for ((table, publication), result) in publications.iter().zip(results) {
            match result {
                Ok(version) => {
                    tracing::debug!(stream = %self.stream, %table, version, files = publication.files.len(), "published to the Delta log");
                    self.stats
                        .published_files
                        .fetch_add(publication.files.len() as u64, Ordering::Relaxed);
                    published.push(*table);
                }
                Err(error) => {
                    self.stats.publish_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(stream = %self.stream, %table, %error, "the Delta log missed a commit; it is published with the next one, or when the stream next opens");
                }
            }
        }
        for table in published {
            self.unpublished.remove(&table);
        }
        self.count_unpublished();
    }

    fn count_unpublished(&self) {
        let files = self.unpublished.values().map(Vec::len).sum::<usize>();
        self.stats
            .unpublished_files
            .store(files as u64, Ordering::Relaxed);
    }

    /// Writes every pending table, then (and only then) advances the checkpoint. Takes
    /// `pending` by reference so that a failed attempt can be retried with the same rows.
    pub(crate) fn try_commit(&mut self, pending: &Pending) -> Result<Commit> {
        if pending.is_empty() {
            return Ok(Commit {
                files: Vec::new(),
                checkpoint: self.checkpoint.clone(),
            });
        }
        let started = self.clock.now();
        let commit_number = self.checkpoint.commits + 1;
        let mut files = Vec::new();
        for (table, batches) in &pending.tables {
            let batch = arrow_select::concat::concat_batches(&table.schema(), batches).map_err(
                |source| LakeError::Arrow {
                    table: *table,
                    source,
                },
            )?;
            if batch.num_rows() > 0 {
                files.extend(write_table(
                    &*self.fs,
                    &mut self.dirs,
                    &self.lake,
                    &self.stream,
                    *table,
                    &batch,
                    commit_number,
                )?);
            }
        }
        let mut next = self.checkpoint.clone();
        next.committed.extend(&pending.seqs);
        next.accounted.extend(&pending.seqs);
        next.accounted.extend(&pending.gaps);
        // Never below the old value: an old-format checkpoint's `seq` may be above every seq
        // still found in the lake, and live ingest must not resume below where it stopped.
        next.seq = next.seq.max(next.committed.last());
        next.commits = commit_number;
        next.sources
            .extend(pending.sources.iter().map(|(s, &o)| (s.clone(), o)));
        next.store(&*self.fs, &self.lake, &self.stream)?;
        self.checkpoint = next;
        for file in &files {
            match PublishedFile::of(&self.lake, file) {
                Some(published) => self
                    .unpublished
                    .entry(file.table)
                    .or_default()
                    .push(published),
                None => {
                    tracing::error!(path = %file.path.display(), "a committed file outside its table's date partitions cannot be published")
                }
            }
        }

        let s = &self.stats;
        s.commits.fetch_add(1, Ordering::Relaxed);
        s.files.fetch_add(files.len() as u64, Ordering::Relaxed);
        s.file_bytes
            .fetch_add(files.iter().map(|f| f.bytes).sum(), Ordering::Relaxed);
        s.rows.fetch_add(pending.rows as u64, Ordering::Relaxed);
        let took = self.clock.now().saturating_sub(started).max(0) as u64;
        s.flush_micros_total.fetch_add(took, Ordering::Relaxed);
        s.last_commit_micros
            .store(self.clock.now().max(0) as u64, Ordering::Relaxed);
        tracing::info!(
            stream = %self.stream, commit = commit_number, files = files.len(), rows = pending.rows,
            seq = ?self.checkpoint.seq, "committed"
        );
        Ok(Commit {
            files,
            checkpoint: self.checkpoint.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use dss_lake_frame::QuarantineBuilder;

    fn one_row() -> RecordBatch {
        let mut q = QuarantineBuilder::new();
        q.append("s", 0, None, "raw", "kind", "message");
        q.finish()
    }

    #[test]
    fn age_triggers_a_flush_once_the_injected_clock_passes_max_age() {
        let clock = ManualClock::new(1_000_000);
        let policy = FlushPolicy {
            max_rows: 100,
            max_bytes: usize::MAX,
            max_age: Duration::from_secs(10),
        };
        let mut pending = Pending::default();
        assert_eq!(pending.due(&policy, clock.now()), None);
        pending.add_rows(Table::Quarantine, one_row(), clock.now());
        clock.advance(Duration::from_secs(9));
        assert_eq!(pending.due(&policy, clock.now()), None);
        clock.advance(Duration::from_secs(1));
        assert_eq!(pending.due(&policy, clock.now()), Some(FlushReason::Age));
    }

    #[test]
    fn rows_and_bytes_trigger_a_flush() {
        let policy = FlushPolicy {
            max_rows: 2,
            max_bytes: usize::MAX,
            max_age: Duration::from_secs(3600),
        };
        let mut pending = Pending::default();
        pending.add_rows(Table::Quarantine, one_row(), 0);
        assert_eq!(pending.due(&policy, 0), None);
        pending.add_rows(Table::Quarantine, one_row(), 0);
        assert_eq!(pending.due(&policy, 0), Some(FlushReason::Rows));
        let bytes = FlushPolicy {
            max_rows: usize::MAX,
            max_bytes: 1,
            ..policy
        };
        assert_eq!(pending.due(&bytes, 0), Some(FlushReason::Bytes));
    }
}
