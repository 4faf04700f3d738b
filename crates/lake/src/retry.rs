//! A commit that fails for a reason that can go away (a full disk, a permission, a flaky
//! device) is retried by the stream's writer instead of ending the stream, when the lake is
//! opened with a [`CommitRetry`]. The ingest daemon does; a one-shot import fails fast.
//!
//! While it retries, the writer takes nothing off its queue: the queue fills, the producer
//! blocks in `push_event`, and that is the backpressure that stops the socket from being read.
//! Memory stays what the queue and the pending rows already bound. Before each retry the failed
//! attempt's files are removed (the recovery that runs at open), so a retry never leaves a
//! duplicate or a torn commit, and the checkpoint still moves only after every file of an
//! attempt is durable. The writer publishes its state in [`WriterStats`] for `/health` and
//! metrics.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use dss_lake_schema::StreamName;

use crate::checkpoint::Checkpoint;
use crate::error::{LakeError, Result};
use crate::recover::recover_stream;
use crate::writer::{Commit, Pending, Writer, WriterStats};

/// How a lake's writers retry a failed commit: after `initial`, doubling up to `max`.
///
/// No jitter (unlike reconnects): an attempt costs a folder scan and a few writes on the local
/// disk, and streams that retry in step on one full disk harm nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitRetry {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for CommitRetry {
    /// 100 ms doubling to 30 s: a hiccup costs a fraction of a second, and a disk that stays
    /// full is tried (and a warning logged) about twice a minute.
    fn default() -> Self {
        CommitRetry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

impl CommitRetry {
    /// The wait before retry number `attempt` (from 0).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.initial
            .saturating_mul(1 << attempt.min(20))
            .min(self.max)
    }
}

/// How often a waiting writer looks whether shutdown asked it to stop retrying.
const STOP_POLL: Duration = Duration::from_millis(50);

impl Writer {
    /// Commits `pending`, retrying while the failure is transient, the lake allows retries and
    /// nobody asked the writer to stop. The rows stay in memory until an attempt succeeds.
    pub(crate) fn commit(&mut self, pending: Pending) -> Result<Commit> {
        let mut attempt = 0;
        loop {
            let error = match self.try_commit(&pending) {
                Ok(commit) => {
                    if attempt > 0 {
                        self.stats.set_retrying(None);
                        tracing::info!(stream = %self.stream, failed_attempts = attempt, "commit succeeded after retrying");
                    }
                    return Ok(commit);
                }
                Err(error) => error,
            };
            self.stats.commit_failures.fetch_add(1, Relaxed);
            let retry = match self.retry {
                Some(retry) if error.is_transient() && !self.stats.stopping() => retry,
                _ => {
                    self.stats.set_retrying(None);
                    return Err(error);
                }
            };
            let delay = retry.delay(attempt);
            tracing::warn!(stream = %self.stream, attempt = attempt + 1, "commit failed, retrying in {delay:?}: {error}");
            self.stats.set_retrying(Some(error.to_string()));
            self.discard_failed_attempt();
            self.stats.sleep_unless_stopped(delay);
            attempt += 1;
        }
    }

    /// Removes what the failed attempt left (in-flight files, and files renamed into view
    /// whose checkpoint did not land), freeing the space they hold.
    fn discard_failed_attempt(&self) {
        let discarded = Checkpoint::load(&self.lake, &self.stream).and_then(|on_disk| {
            // The new checkpoint was renamed into place and only a later fsync failed: the
            // files it names must stay. The retry rewrites them, byte for byte, under the same
            // names and stores the same checkpoint again.
            if on_disk != self.checkpoint {
                return Ok(None);
            }
            recover_stream(&*self.fs, &self.lake, &self.stream, &self.checkpoint)
                .map(|(removed, _kept)| Some(removed))
        });
        match discarded {
            Ok(Some(r)) if !r.removed_in_flight.is_empty() || !r.rolled_back.is_empty() => {
                tracing::debug!(
                    stream = %self.stream,
                    in_flight = r.removed_in_flight.len(),
                    rolled_back = r.rolled_back.len(),
                    "removed the failed commit's files"
                );
            }
            Ok(_) => {}
            // Harmless: the retry writes the same names, and the next open cleans up.
            Err(e) => {
                tracing::warn!(stream = %self.stream, "could not remove the failed commit's files yet: {e}")
            }
        }
    }
}

impl WriterStats {
    /// Why the writer is retrying a commit right now; `None` while commits succeed.
    pub fn retrying(&self) -> Option<String> {
        self.retry_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The error the writer stopped on, once it has.
    pub fn failure(&self) -> Option<Arc<LakeError>> {
        self.failure.get().cloned()
    }

    /// Asks the writer to stop retrying (at shutdown): a waiting commit is tried once more at
    /// once, and if that fails too the writer stops with its cause. The checkpoint has not
    /// moved, so nothing is lost: the next start resumes from it.
    pub fn stop_retrying(&self) {
        self.stop_retrying.store(true, Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stop_retrying.load(Relaxed)
    }

    fn set_retrying(&self, reason: Option<String>) {
        *self
            .retry_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = reason;
    }

    /// Polls rather than parks: only the failure path sleeps, and shutdown holds this struct,
    /// not the writer's thread handle.
    fn sleep_unless_stopped(&self, delay: Duration) {
        let until = Instant::now() + delay;
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(STOP_POLL));
        }
    }

    /// Records why the writer stopped (before its queue closes, so that a producer whose send
    /// fails finds the cause) and returns the error every later caller sees.
    pub(crate) fn fail(&self, stream: &StreamName, error: LakeError) -> LakeError {
        let cause = Arc::clone(self.failure.get_or_init(|| Arc::new(error)));
        LakeError::WriterFailed {
            stream: stream.to_string(),
            cause,
        }
    }

    /// What a producer reports when the writer is gone: its cause if it recorded one.
    pub(crate) fn stopped(&self, stream: &StreamName) -> LakeError {
        match self.failure() {
            Some(cause) => LakeError::WriterFailed {
                stream: stream.to_string(),
                cause,
            },
            None => LakeError::WriterGone(stream.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_initial_and_stop_at_max() {
        let retry = CommitRetry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let delays: Vec<u128> = (0..6).map(|a| retry.delay(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(retry.delay(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn io_failures_are_transient_and_arrow_ones_are_not() {
        let io = || LakeError::io("writing", "/lake/x")(std::io::Error::other("full"));
        assert!(io().is_transient());
        let parquet = LakeError::Parquet {
            path: "/lake/x".into(),
            source: std::io::Error::other("full").into(),
        };
        assert!(parquet.is_transient());
        let arrow = LakeError::Arrow {
            table: dss_lake_schema::Table::Datapoint,
            source: arrow_schema::ArrowError::ComputeError("bug".into()),
        };
        assert!(!arrow.is_transient());
    }

    #[test]
    fn a_stopped_writers_error_is_as_transient_as_its_cause() {
        let stats = WriterStats::default();
        let stream = StreamName::parse("s").unwrap();
        let full = LakeError::io("writing", "/lake/x")(std::io::Error::from_raw_os_error(28));
        assert!(stats.fail(&stream, full).is_transient());
        let stats = WriterStats::default();
        let bug = LakeError::Arrow {
            table: dss_lake_schema::Table::Datapoint,
            source: arrow_schema::ArrowError::ComputeError("bug".into()),
        };
        assert!(!stats.fail(&stream, bug).is_transient());
    }

    #[test]
    fn a_stopped_writer_reports_its_cause_to_every_caller() {
        let stats = WriterStats::default();
        let stream = StreamName::parse("s").unwrap();
        assert!(matches!(stats.stopped(&stream), LakeError::WriterGone(_)));
        let error =
            LakeError::io("writing", "/lake/f.parquet")(std::io::Error::from_raw_os_error(28));
        let first = stats.fail(&stream, error).to_string();
        assert!(first.contains("/lake/f.parquet"), "{first}");
        assert!(first.contains("No space left on device"), "{first}");
        assert_eq!(stats.stopped(&stream).to_string(), first);
    }
}
