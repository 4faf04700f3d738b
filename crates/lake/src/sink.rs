//! The producer's end of a stream: decoded events go into per-table Arrow builders owned by the
//! producer (no sharing, no locks), and full chunks are handed to the writer through the queue.
//!
//! The sink also drops duplicates and records missing seqs as gaps. Live ingest's rule: a `seq`
//! at or below the last one seen (which starts at the checkpoint's highest) is a replay, and a
//! jump above it is a gap. An import's rule ([`crate::dedupe`]): a duplicate is a seq already in
//! the lake or earlier in the import, and the holes are reported when the import has pushed
//! everything ([`StreamSink::record_import_gaps`]). Either way the seqs of the rows and of the
//! gaps travel to the writer with the rows, which adds them to the checkpoint's sets.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use crossbeam_channel::Sender;
use dss_lake_frame::{Event, Micros, QuarantineBuilder, Rejected, TableBuilder};
use dss_lake_schema::{StreamName, Table, timestamp_type};

use crate::checkpoint::Checkpoint;
use crate::dedupe::{DedupeReport, ExactDedupe};
use crate::error::{LakeError, Result};
use crate::seq_ranges::SeqRanges;
use crate::writer::{Commit, ToWriter, WriterStats};

/// Rows per chunk handed to the writer: big enough to amortise the queue hand-off and Arrow
/// array overhead, small enough (~2-3 MB) that a full queue bounds memory tightly.
pub const CHUNK_ROWS: usize = 4096;

/// What became of a pushed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Stored,
    /// Live: at or below the last seen `seq`. Import: already in the lake, or earlier in the
    /// import.
    Duplicate,
}

/// Counters of one sink, for summaries and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkCounts {
    pub events: [u64; 5],
    pub duplicates: u64,
    pub quarantined: u64,
    pub gaps: u64,
    pub length_mismatches: u64,
}

impl SinkCounts {
    pub fn events_in(&self, table: Table) -> u64 {
        Table::EVENTS
            .iter()
            .position(|&t| t == table)
            .map_or(0, |i| self.events[i])
    }

    pub fn total_events(&self) -> u64 {
        self.events.iter().sum()
    }
}

/// The producer's handle on one stream. Not `Clone`: one producer per stream keeps `seq` order.
#[derive(Debug)]
pub struct StreamSink {
    stream: StreamName,
    queue: Sender<ToWriter>,
    /// Where the writer leaves the cause when it stops.
    writer: Arc<WriterStats>,
    tables: Vec<TableBuilder>,
    quarantine: QuarantineBuilder,
    gaps: GapBuilder,
    last_seq: Option<u64>,
    /// `Some` for an import: the exact rule replaces the replay rule.
    exact: Option<Box<ExactDedupe>>,
    /// Seqs of the event rows held here (an import's), and seqs reported missing by the gap
    /// rows held here. A live chunk's seqs are `live_first..=last_seq` less its gaps instead,
    /// which costs the hot path nothing per event.
    pending_seqs: SeqRanges,
    pending_gaps: SeqRanges,
    live_first: Option<u64>,
    pending_rows: usize,
    counts: SinkCounts,
}

impl StreamSink {
    pub(crate) fn new(
        stream: StreamName,
        queue: Sender<ToWriter>,
        last_seq: Option<u64>,
        writer: Arc<WriterStats>,
    ) -> Self {
        StreamSink {
            stream,
            queue,
            writer,
            tables: Table::EVENTS
                .iter()
                .map(|&t| TableBuilder::new(t, CHUNK_ROWS))
                .collect(),
            quarantine: QuarantineBuilder::new(),
            gaps: GapBuilder::default(),
            last_seq,
            exact: None,
            pending_seqs: SeqRanges::new(),
            pending_gaps: SeqRanges::new(),
            live_first: None,
            pending_rows: 0,
            counts: SinkCounts::default(),
        }
    }

    pub fn stream(&self) -> &StreamName {
        &self.stream
    }

    /// Switches to the importer's duplicate rule, against what `checkpoint` has committed.
    /// Once switched, it stays: what the import has taken lives in that state.
    pub(crate) fn dedupe_exactly(&mut self, checkpoint: &Checkpoint) {
        self.exact
            .get_or_insert_with(|| Box::new(ExactDedupe::new(checkpoint)));
    }

    /// The highest `seq` accepted so far (the checkpoint's when nothing was pushed yet).
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// An import's account of what it skipped and filled; `None` on a live stream.
    pub fn dedupe_report(&self) -> Option<&DedupeReport> {
        self.exact.as_deref().map(ExactDedupe::report)
    }

    pub fn counts(&self) -> &SinkCounts {
        &self.counts
    }

    /// Chunks waiting in the queue for the writer.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// Adds a decoded event; blocks when the writer is behind (backpressure).
    pub fn push_event(&mut self, event: &Event<'_>, received_at: Micros) -> Result<Pushed> {
        if let Some(exact) = self.exact.as_deref_mut() {
            if !exact.admit(event.seq) {
                self.counts.duplicates += 1;
                return Ok(Pushed::Duplicate);
            }
            self.last_seq = exact.last_seq();
            self.pending_seqs.insert(event.seq);
        } else {
            if let Some(last) = self.last_seq {
                if event.seq <= last {
                    self.counts.duplicates += 1;
                    return Ok(Pushed::Duplicate);
                }
                if event.seq > last + 1 {
                    self.gaps
                        .append(self.stream.as_str(), last + 1, event.seq, received_at);
                    self.pending_gaps.insert_range(last + 1, event.seq - 1);
                    self.counts.gaps += 1;
                }
            }
            self.last_seq = Some(event.seq);
            self.live_first.get_or_insert(event.seq);
        }
        let index = event.table() as usize;
        self.tables[index]
            .append(event, self.stream.as_str(), received_at)
            .expect("builders are indexed by table");
        self.counts.events[index] += 1;
        self.counts.length_mismatches += u64::from(!event.length_matches);
        self.after_row()?;
        Ok(Pushed::Stored)
    }

    /// Quarantines a frame the decoder rejected, with its raw text and reason.
    pub fn push_rejected(
        &mut self,
        rejected: &Rejected<'_>,
        received_at: Micros,
        source: Option<&str>,
    ) -> Result<()> {
        let message = rejected.error.to_string();
        self.push_quarantine(
            rejected.raw,
            rejected.error.kind(),
            &message,
            received_at,
            source,
        )
    }

    /// Quarantines anything else that could not be decoded (e.g. an archive line that is not
    /// UTF-8), with a kind and message of the caller's.
    pub fn push_quarantine(
        &mut self,
        raw: &str,
        kind: &str,
        message: &str,
        received_at: Micros,
        source: Option<&str>,
    ) -> Result<()> {
        self.quarantine.append(
            self.stream.as_str(),
            received_at,
            source,
            raw,
            kind,
            message,
        );
        self.counts.quarantined += 1;
        self.after_row()
    }

    /// An import's last step: writes a `gaps` row for each hole the import leaves between the
    /// stream's lowest and highest seq that no earlier row reported (the rule and why:
    /// `ExactDedupe::take_missing`). Returns how many rows; nothing on a live stream, whose
    /// gaps are recorded as they happen.
    pub fn record_import_gaps(&mut self, detected_at: Micros) -> Result<u64> {
        let Some(exact) = self.exact.as_deref_mut() else {
            return Ok(0);
        };
        let missing = exact.take_missing();
        for (first, last) in missing.iter() {
            // `last` is below the stream's highest seq, so `last + 1` cannot overflow.
            self.gaps
                .append(self.stream.as_str(), first, last + 1, detected_at);
            self.pending_gaps.insert_range(first, last);
            self.counts.gaps += 1;
            self.after_row()?;
        }
        Ok(missing.range_count() as u64)
    }

    fn after_row(&mut self) -> Result<()> {
        self.pending_rows += 1;
        if self.pending_rows >= CHUNK_ROWS {
            self.send_pending()?;
        }
        Ok(())
    }

    /// Hands every row held here to the writer. Call it when input goes quiet, so that rows do
    /// not wait in the producer while the writer's age policy cannot see them.
    pub fn send_pending(&mut self) -> Result<()> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let mut batches: Vec<(Table, RecordBatch)> = Vec::new();
        for builder in self.tables.iter_mut().filter(|b| !b.is_empty()) {
            batches.push((builder.table(), builder.finish()));
        }
        if !self.quarantine.is_empty() {
            batches.push((Table::Quarantine, self.quarantine.finish()));
        }
        if self.gaps.len() > 0 {
            batches.push((Table::Gaps, self.gaps.finish()));
        }
        let gaps = std::mem::take(&mut self.pending_gaps);
        let seqs = match (self.live_first.take(), self.last_seq) {
            (Some(first), Some(last)) => live_chunk_seqs(first, last, &gaps),
            _ => std::mem::take(&mut self.pending_seqs),
        };
        let message = ToWriter::Rows {
            batches,
            seqs,
            gaps,
        };
        self.send(message)?;
        self.pending_rows = 0;
        Ok(())
    }

    /// Records that everything of archive `source` before `offset` has been pushed.
    pub fn progress(&mut self, source: &str, offset: u64) -> Result<()> {
        self.send_pending()?;
        self.send(ToWriter::Progress {
            source: source.to_owned(),
            offset,
        })
    }

    /// Commits everything pushed so far and waits for the commit.
    pub fn flush(&mut self) -> Result<Commit> {
        self.send_pending()?;
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.send(ToWriter::Flush(reply))?;
        match answer.recv() {
            Ok(Ok(commit)) => Ok(commit),
            Ok(Err(message)) => Err(LakeError::CommitFailed {
                stream: self.stream.to_string(),
                message,
            }),
            Err(_) => Err(self.writer.stopped(&self.stream)),
        }
    }

    fn send(&self, message: ToWriter) -> Result<()> {
        self.queue
            .send(message)
            .map_err(|_| self.writer.stopped(&self.stream))
    }
}

impl Drop for StreamSink {
    fn drop(&mut self) {
        // Hand over what is left; the writer commits it when the queue closes.
        if let Err(e) = self.send_pending() {
            tracing::warn!(stream = %self.stream, "rows lost with the writer: {e}");
        }
    }
}

/// The seqs a live chunk stored: they only climb, from `first` to `last`, and every seq skipped
/// on the way is in `gaps` (whose first range may end just below `first`).
fn live_chunk_seqs(first: u64, last: u64, gaps: &SeqRanges) -> SeqRanges {
    let mut seqs = SeqRanges::new();
    let mut next = first;
    for (gap_first, gap_last) in gaps.iter() {
        if gap_first > next {
            seqs.insert_range(next, gap_first - 1);
        }
        next = next.max(gap_last.saturating_add(1));
    }
    seqs.insert_range(next, last);
    seqs
}

/// Builds rows of the `gaps` table.
#[derive(Debug, Default)]
struct GapBuilder {
    stream: StringBuilder,
    expected: Int64Builder,
    received: Int64Builder,
    detected_at: TimestampMicrosecondBuilder,
}

impl GapBuilder {
    fn append(&mut self, stream: &str, expected: u64, received: u64, at: Micros) {
        self.stream.append_value(stream);
        self.expected.append_value(expected as i64);
        self.received.append_value(received as i64);
        self.detected_at.append_value(at);
    }

    fn len(&self) -> usize {
        self.expected.values_slice().len()
    }

    fn finish(&mut self) -> RecordBatch {
        let detected_at = self.detected_at.finish().with_data_type(timestamp_type());
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.stream.finish()),
            Arc::new(self.expected.finish()),
            Arc::new(self.received.finish()),
            Arc::new(detected_at),
        ];
        RecordBatch::try_new(Table::Gaps.schema(), columns).expect("columns in schema order")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_chunk_holds_its_seq_span_less_its_gaps() {
        let mut gaps = SeqRanges::from_range(3, 4);
        gaps.insert_range(8, 8);
        let seqs = live_chunk_seqs(5, 10, &gaps);
        assert_eq!(seqs.iter().collect::<Vec<_>>(), [(5, 7), (9, 10)]);
        let seqs = live_chunk_seqs(1, 9, &SeqRanges::from_range(2, 8));
        assert_eq!(seqs.iter().collect::<Vec<_>>(), [(1, 1), (9, 9)]);
        assert_eq!(live_chunk_seqs(7, 7, &SeqRanges::new()).len(), 1);
    }

    #[test]
    fn live_pushes_reach_the_checkpoint_as_ranges_with_their_gaps_accounted() {
        let lake = tempfile::tempdir().unwrap();
        let stream = StreamName::parse("live").unwrap();
        let mut writer = crate::Lake::new(lake.path()).open_stream(&stream).unwrap();
        let mut decoder = dss_lake_frame::FrameDecoder::new();
        let frames = dss_lake_fleet::corpus(2, 30);
        for (i, frame) in frames.iter().enumerate() {
            if matches!(i + 1, 5 | 6 | 20) {
                continue; // never arrived
            }
            let Ok(dss_lake_frame::Frame::Event(event)) = decoder.decode_message(frame) else {
                panic!("the corpus decodes");
            };
            writer.sink().push_event(&event, 0).unwrap();
            if i == 10 {
                writer.sink().flush().unwrap();
            }
        }
        let checkpoint = writer.close().unwrap();
        assert_eq!(checkpoint.seq, Some(30));
        let committed: Vec<_> = checkpoint.committed.iter().collect();
        assert_eq!(committed, [(1, 4), (7, 19), (21, 30)]);
        assert_eq!(checkpoint.accounted, SeqRanges::from_range(1, 30));
    }
}
