//! Which seqs of a subscription its connections have sent, over all connections: what a client
//! (or a test of one) can be held to, since a client that connects live never sees the seqs
//! numbered before it came.

use std::ops::RangeInclusive;

/// A set of seqs as sorted, disjoint, non-adjacent ranges. Connections send runs of consecutive
/// seqs and replays repeat them, so a subscription's whole history is a handful of ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SentSeqs(Vec<RangeInclusive<u64>>);

impl SentSeqs {
    /// Adds `seqs`, merging it with the ranges it overlaps or touches.
    pub(crate) fn insert(&mut self, seqs: RangeInclusive<u64>) {
        let (start, end) = seqs.into_inner();
        if start > end {
            return;
        }
        // The common case, a live connection going on from where it stopped: one comparison.
        if let Some(last) = self.0.last_mut()
            && *last.start() <= start
            && start <= last.end().saturating_add(1)
        {
            *last = *last.start()..=end.max(*last.end());
            return;
        }
        // Ranges strictly before `start - 1` stay, and so do those strictly after `end + 1`.
        let first = self
            .0
            .partition_point(|r| r.end().saturating_add(1) < start);
        let after = self
            .0
            .partition_point(|r| *r.start() <= end.saturating_add(1));
        let merged = match self.0[first..after] {
            [] => start..=end,
            ref touched => {
                let lo = start.min(*touched[0].start());
                let hi = end.max(*touched[touched.len() - 1].end());
                lo..=hi
            }
        };
        self.0.splice(first..after, [merged]);
    }

    pub(crate) fn ranges(&self) -> &[RangeInclusive<u64>] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ranges: &[RangeInclusive<u64>]) -> SentSeqs {
        let mut sent = SentSeqs::default();
        for r in ranges {
            sent.insert(r.clone());
        }
        sent
    }

    #[test]
    fn runs_that_touch_or_overlap_merge_and_the_rest_stay_apart() {
        assert_eq!(set(&[1..=5, 6..=9]).ranges(), [1..=9]);
        assert_eq!(
            set(&[1..=5, 3..=4]).ranges(),
            [1..=5],
            "a replay adds nothing"
        );
        assert_eq!(set(&[10..=12, 1..=3]).ranges(), [1..=3, 10..=12]);
        assert_eq!(
            set(&[1..=3, 10..=12, 5..=6]).ranges(),
            [1..=3, 5..=6, 10..=12]
        );
        assert_eq!(set(&[1..=3, 10..=12, 4..=9]).ranges(), [1..=12]);
        assert_eq!(set(&[5..=6, 10..=12, 1..=20]).ranges(), [1..=20]);
        assert_eq!(
            set(&[0..=0, u64::MAX..=u64::MAX]).ranges(),
            [0..=0, u64::MAX..=u64::MAX]
        );
        #[allow(clippy::reversed_empty_ranges)]
        let empty = set(&[3..=2]);
        assert!(empty.ranges().is_empty());
    }
}
