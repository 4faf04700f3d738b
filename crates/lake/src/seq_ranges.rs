//! [`SeqRanges`]: a set of `seq` numbers kept as sorted, disjoint inclusive ranges.
//!
//! The checkpoint holds every committed `seq` of a stream this way. A live stream's seqs are
//! contiguous, so its set is one range however long it runs; a DSS Collector archive splits a
//! stream's seqs over one file per event type, so importing one file leaves many small holes that
//! the next file fills, and the set shrinks back as it does.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sorted, disjoint, non-adjacent inclusive ranges of `seq`s.
///
/// A `BTreeMap` from first to last seq of each range: an archive imported in arbitrary order
/// inserts in the middle, which a sorted `Vec` would pay for by shifting every later range. The
/// live path always appends one above the last, which [`SeqRanges::insert`] handles first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqRanges {
    ranges: BTreeMap<u64, u64>,
}

impl SeqRanges {
    pub fn new() -> Self {
        SeqRanges::default()
    }

    /// The set `first..=last` (empty if `first > last`).
    pub fn from_range(first: u64, last: u64) -> Self {
        let mut set = SeqRanges::new();
        set.insert_range(first, last);
        set
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The lowest `seq` in the set.
    pub fn first(&self) -> Option<u64> {
        self.ranges.first_key_value().map(|(&first, _)| first)
    }

    /// The highest `seq` in the set.
    pub fn last(&self) -> Option<u64> {
        self.ranges.last_key_value().map(|(_, &last)| last)
    }

    /// How many seqs the set holds (saturating: `0..=u64::MAX` has one more than a u64 holds).
    pub fn len(&self) -> u64 {
        self.iter()
            .map(|(first, last)| (last - first).saturating_add(1))
            .fold(0, u64::saturating_add)
    }

    /// How many ranges the set holds (what it costs to store).
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.ranges
            .range(..=seq)
            .next_back()
            .is_some_and(|(_, &last)| seq <= last)
    }

    /// Adds `seq`; false if it was already there.
    pub fn insert(&mut self, seq: u64) -> bool {
        // Fast path: a live stream appends at (or just past) the top every time.
        if let Some(mut top) = self.ranges.last_entry() {
            let last = *top.get();
            if last.checked_add(1) == Some(seq) {
                *top.get_mut() = seq;
                return true;
            }
            if seq > last {
                self.ranges.insert(seq, seq);
                return true;
            }
        }
        if self.contains(seq) {
            return false;
        }
        self.insert_range(seq, seq);
        true
    }

    /// Adds `first..=last`, merging with every range it overlaps or touches.
    pub fn insert_range(&mut self, first: u64, last: u64) {
        if first > last {
            return;
        }
        let mut start = first;
        let mut end = last;
        if let Some((&s, &e)) = self.ranges.range(..=first).next_back()
            && e.saturating_add(1) >= first
        {
            start = s;
            end = end.max(e);
        }
        while let Some((&s, &e)) = self.ranges.range(start..=end.saturating_add(1)).next() {
            self.ranges.remove(&s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
    }

    /// Adds every seq of `other`.
    pub fn extend(&mut self, other: &SeqRanges) {
        for (first, last) in other.iter() {
            self.insert_range(first, last);
        }
    }

    /// The ranges, lowest first, as `(first, last)` inclusive.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges.iter().map(|(&first, &last)| (first, last))
    }

    /// The seqs between the set's ranges that it does not hold, lowest first.
    pub fn holes(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges
            .iter()
            .zip(self.ranges.iter().skip(1))
            .map(|((_, &last), (&next, _))| (last + 1, next - 1))
    }

    /// At most `limit` ranges as text (`2-5, 7, 9-10 and 3 more ranges`), for summaries.
    pub fn describe(&self, limit: usize) -> String {
        let mut text = String::new();
        for (i, (first, last)) in self.iter().enumerate() {
            if i == limit {
                text.push_str(&format!(" and {} more ranges", self.range_count() - limit));
                break;
            }
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&Range(first, last).to_string());
        }
        text
    }
}

struct Range(u64, u64);

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range(first, last) if first == last => write!(f, "{first}"),
            Range(first, last) => write!(f, "{first}-{last}"),
        }
    }
}

/// Stored as `[[first, last], ...]`, lowest first: readable, and a contiguous stream is `[[1, n]]`.
impl Serialize for SeqRanges {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|(first, last)| [first, last]))
    }
}

/// Accepts ranges in any order, overlapping or not (the set is the same); a range whose first
/// is above its last is an error, since no writer of ours produces one.
impl<'de> Deserialize<'de> for SeqRanges {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs = Vec::<[u64; 2]>::deserialize(deserializer)?;
        let mut set = SeqRanges::new();
        for [first, last] in pairs {
            if first > last {
                return Err(D::Error::custom(format!(
                    "seq range [{first}, {last}] ends before it starts"
                )));
            }
            set.insert_range(first, last);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(set: &SeqRanges) -> Vec<(u64, u64)> {
        set.iter().collect()
    }

    #[test]
    fn inserts_merge_neighbours_in_any_order() {
        let mut set = SeqRanges::new();
        for seq in [5, 1, 3, 2, 10, 4, 9] {
            assert!(set.insert(seq), "{seq} is new");
        }
        assert_eq!(ranges(&set), [(1, 5), (9, 10)]);
        assert!(!set.insert(3), "3 is already there");
        assert!(!set.insert(10));
        assert_eq!(set.len(), 7);
        assert_eq!((set.first(), set.last()), (Some(1), Some(10)));
        // An import's range of interest starts at its lowest seq, which is rarely 1.
        let late = SeqRanges::from_range(1_000, 1_010);
        assert_eq!((late.first(), late.last()), (Some(1_000), Some(1_010)));
        assert_eq!(
            (SeqRanges::new().first(), SeqRanges::new().last()),
            (None, None)
        );
        assert_eq!(set.holes().collect::<Vec<_>>(), [(6, 8)]);
        set.insert_range(6, 8);
        assert_eq!(ranges(&set), [(1, 10)]);
        assert_eq!(set.holes().count(), 0);
    }

    #[test]
    fn a_range_swallows_every_range_it_overlaps_or_touches() {
        let mut set = SeqRanges::new();
        for seq in [1, 3, 5, 7, 20] {
            set.insert(seq);
        }
        set.insert_range(2, 8);
        assert_eq!(ranges(&set), [(1, 8), (20, 20)]);
        set.insert_range(9, 19);
        assert_eq!(ranges(&set), [(1, 20)]);
        set.insert_range(0, u64::MAX);
        assert_eq!(ranges(&set), [(0, u64::MAX)]);
        assert_eq!(set.len(), u64::MAX);
        assert!(!set.insert(u64::MAX));
        set.insert_range(5, 4);
        assert_eq!(set.range_count(), 1, "an empty range adds nothing");
    }

    #[test]
    fn contains_sees_only_members() {
        let set = {
            let mut set = SeqRanges::from_range(10, 20);
            set.insert_range(30, 30);
            set
        };
        for seq in [10, 15, 20, 30] {
            assert!(set.contains(seq), "{seq}");
        }
        for seq in [0, 9, 21, 29, 31, u64::MAX] {
            assert!(!set.contains(seq), "{seq}");
        }
        assert!(!SeqRanges::new().contains(0));
    }

    #[test]
    fn extend_is_a_union() {
        let mut a = SeqRanges::from_range(1, 3);
        a.insert_range(10, 12);
        let mut b = SeqRanges::from_range(4, 9);
        b.insert_range(20, 21);
        a.extend(&b);
        assert_eq!(ranges(&a), [(1, 12), (20, 21)]);
    }

    #[test]
    fn serialises_as_pairs_and_loads_unsorted_or_overlapping_pairs() {
        let mut set = SeqRanges::from_range(1, 7);
        set.insert_range(9, 25);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, "[[1,7],[9,25]]");
        assert_eq!(serde_json::from_str::<SeqRanges>(&json).unwrap(), set);
        let messy: SeqRanges = serde_json::from_str("[[9,20],[1,7],[15,25],[8,8]]").unwrap();
        assert_eq!(ranges(&messy), [(1, 25)]);
        assert_eq!(serde_json::to_string(&SeqRanges::new()).unwrap(), "[]");
        assert!(serde_json::from_str::<SeqRanges>("[[5,4]]").is_err());
        assert!(serde_json::from_str::<SeqRanges>("[[1]]").is_err());
        assert!(serde_json::from_str::<SeqRanges>("[[-1,2]]").is_err());
    }

    #[test]
    fn describe_lists_a_few_ranges_and_counts_the_rest() {
        let mut set = SeqRanges::new();
        for seq in [2, 3, 4, 5, 7, 9, 10, 20, 30] {
            set.insert(seq);
        }
        assert_eq!(set.describe(3), "2-5, 7, 9-10 and 2 more ranges");
        assert_eq!(set.describe(10), "2-5, 7, 9-10, 20, 30");
    }

    #[test]
    fn interleaved_inserts_match_a_plain_set() {
        // The shape of a Collector archive: one seq sequence dealt round-robin to five files,
        // the files inserted one after another, against a BTreeSet as the oracle.
        let mut set = SeqRanges::new();
        let mut oracle = std::collections::BTreeSet::new();
        for file in [3u64, 0, 4, 1, 2] {
            for seq in (1..=500).filter(|s| s % 5 == file) {
                assert_eq!(set.insert(seq), oracle.insert(seq));
            }
            let members: Vec<u64> = set.iter().flat_map(|(a, b)| a..=b).collect();
            assert!(members.iter().eq(oracle.iter()));
        }
        assert_eq!(ranges(&set), [(1, 500)]);
    }
}
