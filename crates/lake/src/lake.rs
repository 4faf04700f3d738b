//! [`Lake`]: opens streams for writing. Opening a stream locks it, recovers what a crash left,
//! reads its checkpoint and starts its writer thread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use dss_lake_schema::{StreamName, layout};

use crate::checkpoint::{Checkpoint, StreamLock};
use crate::clock::{Clock, SystemClock};
use crate::error::{LakeError, Result};
use crate::fs::{DurableDirs, LakeFs, LocalFs};
use crate::policy::FlushPolicy;
use crate::recover::{Recovery, recover_stream};
use crate::retry::CommitRetry;
use crate::sink::StreamSink;
use crate::writer::{Writer, WriterStats};

/// Chunks the queue between a stream's producer and its writer holds: 8 x 4096 rows, a few
/// seconds of a busy stream and ~20 MB at most. More would only hide a slow disk for longer.
pub const QUEUE_CHUNKS: usize = 8;

/// The lake's root folder and how its writers behave.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
    fs: Arc<dyn LakeFs>,
    policy: FlushPolicy,
    retry: Option<CommitRetry>,
    clock: Arc<dyn Clock>,
    /// Set by `convert` alone: open a lake from before the Delta lake, publishing its files.
    converting: bool,
}

/// A stream opened for writing: the producer's sink and the writer thread behind it.
#[derive(Debug)]
pub struct StreamWriter {
    stream: StreamName,
    sink: Option<StreamSink>,
    writer: JoinHandle<Result<Checkpoint>>,
    stats: Arc<WriterStats>,
    recovery: Recovery,
    checkpoint: Checkpoint,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Lake {
            root: root.into(),
            fs: Arc::new(LocalFs),
            policy: FlushPolicy::default(),
            retry: None,
            clock: Arc::new(SystemClock),
            converting: false,
        }
    }

    /// Lets `open_stream` open a lake written before the Delta lake: its writer then publishes
    /// every committed file to the logs it creates. Only `convert` does this.
    pub(crate) fn converting(mut self) -> Self {
        self.converting = true;
        self
    }

    pub fn with_policy(mut self, policy: FlushPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Retry commits that fail for a transient reason (see [`CommitRetry`]) instead of
    /// stopping the stream's writer; without it the first failure stops the writer.
    pub fn with_commit_retry(mut self, retry: CommitRetry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Makes every change to the lake through `fs` instead of the local file system calls;
    /// tests use it to record the order of those calls and to fail or crash at any one.
    pub fn with_fs(mut self, fs: Arc<dyn LakeFs>) -> Self {
        self.fs = fs;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Locks `stream`, cleans up after any crash, and starts its writer. Refuses a lake
    /// written before the Delta lake, naming the command that converts it.
    pub fn open_stream(&self, stream: &StreamName) -> Result<StreamWriter> {
        if !self.converting
            && let Some(refusal) = layout::unconverted_refusal(&self.root)
        {
            return Err(LakeError::Unconverted(refusal));
        }
        let lock = StreamLock::acquire(&*self.fs, &self.root, stream)?;
        let (mut checkpoint, legacy) = Checkpoint::load_stored(&self.root, stream)?;
        let (recovery, kept) = recover_stream(&*self.fs, &self.root, stream, &checkpoint)?;
        if legacy {
            checkpoint = crate::legacy::upgrade(&*self.fs, &self.root, stream, checkpoint)?;
        }
        if !recovery.removed_in_flight.is_empty() || !recovery.rolled_back.is_empty() {
            tracing::warn!(
                %stream,
                in_flight = recovery.removed_in_flight.len(),
                rolled_back = recovery.rolled_back.len(),
                "removed the leftovers of an interrupted commit"
            );
        }
        let (queue, receiver) = crossbeam_channel::bounded(QUEUE_CHUNKS);
        let stats = Arc::new(WriterStats::default());
        let writer = Writer {
            lake: self.root.clone(),
            fs: Arc::clone(&self.fs),
            dirs: DurableDirs::default(),
            stream: stream.clone(),
            policy: self.policy,
            retry: self.retry,
            clock: Arc::clone(&self.clock),
            checkpoint: checkpoint.clone(),
            stats: Arc::clone(&stats),
            kept,
            unpublished: Default::default(),
            _lock: lock,
        };
        let writer = std::thread::Builder::new()
            .name(format!("lake-writer-{stream}"))
            .spawn(move || writer.run(receiver))
            .map_err(LakeError::io("spawning the writer of", stream.as_str()))?;
        Ok(StreamWriter {
            stream: stream.clone(),
            sink: Some(StreamSink::new(
                stream.clone(),
                queue,
                checkpoint.seq,
                Arc::clone(&stats),
            )),
            writer,
            stats,
            recovery,
            checkpoint,
        })
    }
}

impl StreamWriter {
    /// The producer's end. Use it from one thread or task.
    pub fn sink(&mut self) -> &mut StreamSink {
        self.sink.as_mut().expect("the sink lives until close")
    }

    /// The checkpoint found when the stream was opened: resume from `seq + 1`.
    pub fn opened_at(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The sink, switched to the importer's duplicate rule (a seq is a duplicate only if it is
    /// in the lake or earlier in the import) for input in no particular order.
    pub fn import_sink(&mut self) -> &mut StreamSink {
        let checkpoint = &self.checkpoint;
        let sink = self.sink.as_mut().expect("the sink lives until close");
        sink.dedupe_exactly(checkpoint);
        sink
    }

    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Hands over what is left, waits for the final commit and returns the last checkpoint,
    /// or the error the writer stopped on.
    pub fn close(mut self) -> Result<Checkpoint> {
        drop(self.sink.take());
        match self.writer.join() {
            Ok(result) => result,
            Err(_) => Err(LakeError::WriterGone(self.stream.to_string())),
        }
    }
}
