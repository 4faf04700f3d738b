//! The importer's duplicate rule: an event is a duplicate only when its `seq` is really in the
//! lake already, or came earlier in the same import. Order does not matter.
//!
//! Live ingest keeps the cheaper replay rule in the sink (at or below the last seq seen on the
//! connection is a replay): DSS sends one stream in `seq` order, and a reconnect replays from
//! `checkpoint + 1`. An archive has no such order: the DSS Collector deals one stream's seqs
//! out to one file per event type, and files come in whatever order the user names them.

use crate::checkpoint::Checkpoint;
use crate::seq_ranges::SeqRanges;

/// Why an import skipped what it skipped, and what it filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DedupeReport {
    /// Seqs skipped because they were committed before this import began.
    pub in_lake: SeqRanges,
    /// Events skipped because the same seq came earlier in this import's own files; the first
    /// of them is stored.
    pub repeated: u64,
    /// Events stored whose seq an earlier row of `gaps` had reported missing.
    pub gaps_filled: u64,
}

/// Exact dedupe against the committed set, plus what this import has taken so far (taken but
/// not yet committed rows are only in memory, so the checkpoint alone cannot see them).
#[derive(Debug)]
pub(crate) struct ExactDedupe {
    committed: SeqRanges,
    accounted: SeqRanges,
    taken: SeqRanges,
    report: DedupeReport,
}

impl ExactDedupe {
    pub(crate) fn new(checkpoint: &Checkpoint) -> Self {
        ExactDedupe {
            committed: checkpoint.committed.clone(),
            accounted: checkpoint.accounted.clone(),
            taken: SeqRanges::new(),
            report: DedupeReport::default(),
        }
    }

    /// True when the event with `seq` is to be stored.
    pub(crate) fn admit(&mut self, seq: u64) -> bool {
        if self.committed.contains(seq) {
            self.report.in_lake.insert(seq);
            return false;
        }
        if !self.taken.insert(seq) {
            self.report.repeated += 1;
            return false;
        }
        self.report.gaps_filled += u64::from(self.accounted.contains(seq));
        true
    }

    /// The highest seq of the stream, committed or taken.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.committed.last().max(self.taken.last())
    }

    pub(crate) fn report(&self) -> &DedupeReport {
        &self.report
    }

    /// Seqs to report missing now, and from now on accounted for: those between the stream's
    /// lowest and highest seq (committed or taken) that are neither there nor reported before.
    ///
    /// Called once an import has pushed everything: only then is a hole a hole. A Collector
    /// archive's first file alone is all holes, and an older archive named after a newer one
    /// fills the holes below it; deciding per event, as live ingest does, would report both.
    /// A hole that an import fills later keeps its row (files are immutable, and the row is
    /// true of the time in its `detected_at`); the import that fills it counts it in
    /// [`DedupeReport::gaps_filled`]. The set only grows, so no seq is reported twice, and a kill
    /// before the end just leaves the holes to the next run, which computes them the same way.
    pub(crate) fn take_missing(&mut self) -> SeqRanges {
        let low = match (self.committed.first(), self.taken.first()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (Some(low), Some(high)) = (low, self.last_seq()) else {
            return SeqRanges::new();
        };
        let mut covered = self.accounted.clone();
        covered.extend(&self.committed);
        covered.extend(&self.taken);
        let mut missing = SeqRanges::new();
        for (first, last) in covered.holes() {
            missing.insert_range(first.max(low), last.min(high));
        }
        self.accounted.extend(&missing);
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(committed: &[(u64, u64)], accounted: &[(u64, u64)]) -> Checkpoint {
        let set = |ranges: &[(u64, u64)]| {
            let mut set = SeqRanges::new();
            for &(a, b) in ranges {
                set.insert_range(a, b);
            }
            set
        };
        Checkpoint {
            seq: committed.last().map(|r| r.1),
            committed: set(committed),
            accounted: set(accounted),
            ..Checkpoint::default()
        }
    }

    #[test]
    fn only_seqs_in_the_lake_or_taken_before_are_duplicates() {
        let mut dedupe = ExactDedupe::new(&checkpoint(&[(10, 20)], &[(10, 20)]));
        let verdicts: Vec<bool> = [5, 15, 25, 5, 20, 9].map(|s| dedupe.admit(s)).into();
        assert_eq!(verdicts, [true, false, true, false, false, true]);
        assert_eq!(
            dedupe.report().in_lake.iter().collect::<Vec<_>>(),
            [(15, 15), (20, 20)]
        );
        assert_eq!(dedupe.report().repeated, 1);
        assert_eq!(dedupe.last_seq(), Some(25));
    }

    #[test]
    fn holes_are_reported_once_at_the_end_and_filled_ones_are_counted() {
        // 1..=10 committed, 11..=14 already reported missing, 15..=20 committed.
        let mut dedupe = ExactDedupe::new(&checkpoint(&[(1, 10), (15, 20)], &[(1, 20)]));
        for seq in [30, 12, 25, 13] {
            assert!(dedupe.admit(seq));
        }
        assert_eq!(dedupe.report().gaps_filled, 2);
        let missing = dedupe.take_missing();
        assert_eq!(missing.iter().collect::<Vec<_>>(), [(21, 24), (26, 29)]);
        assert!(dedupe.take_missing().is_empty(), "reported once");
    }

    #[test]
    fn an_older_archive_after_a_newer_one_leaves_no_hole_below_the_first_seq() {
        let mut dedupe = ExactDedupe::new(&checkpoint(&[(100, 200)], &[(100, 200)]));
        for seq in (1..100).rev() {
            assert!(dedupe.admit(seq));
        }
        assert!(dedupe.take_missing().is_empty());
        let mut fresh = ExactDedupe::new(&Checkpoint::default());
        assert!(fresh.take_missing().is_empty());
        for seq in [7, 3] {
            fresh.admit(seq);
        }
        assert_eq!(fresh.take_missing().iter().collect::<Vec<_>>(), [(4, 6)]);
    }
}
