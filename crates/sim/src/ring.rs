//! The replay buffer of one subscription: the last N events with consecutive seq numbers.

use std::collections::{HashMap, VecDeque};
use std::ops::RangeInclusive;
use std::sync::Arc;

use dss_lake_fleet::GeneratedEvent;

use crate::sent::SentSeqs;

/// A bounded window of a subscription's stream. Events are shared (`Arc`) with the other
/// subscriptions they match; their seq is their position here, so the text of a frame is made
/// only when a connection sends it.
#[derive(Debug)]
pub(crate) struct Ring {
    events: VecDeque<Arc<GeneratedEvent>>,
    /// The seq of `events[0]` (of the next event while the buffer is empty).
    first_seq: u64,
    capacity: usize,
    /// The next seq each attached connection will send, by connection id: at `--rate max` the
    /// generator produces only while some reader is close to the head.
    readers: HashMap<u64, u64>,
    /// Every seq a connection has taken from here to send, kept past the buffer's window.
    sent: SentSeqs,
}

/// Where a read started and whether the requested start had already left the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadStart {
    pub(crate) seq: u64,
    pub(crate) skipped: u64,
}

impl Ring {
    pub(crate) fn new(capacity: usize, first_seq: u64) -> Ring {
        assert!(capacity > 0, "a replay buffer holds at least one event");
        Ring {
            events: VecDeque::with_capacity(capacity.min(1 << 16)),
            first_seq,
            capacity,
            readers: HashMap::new(),
            sent: SentSeqs::default(),
        }
    }

    /// The seq the next event will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.first_seq + self.events.len() as u64
    }

    /// The oldest seq still retained (equal to `next_seq` while empty).
    pub(crate) fn oldest_seq(&self) -> u64 {
        self.first_seq
    }

    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Appends an event, forgetting the oldest one when full.
    pub(crate) fn push(&mut self, event: Arc<GeneratedEvent>) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.first_seq += 1;
        }
        self.events.push_back(event);
    }

    /// Copies up to `max` events from seq `from` on into `out`. A `from` older than the buffer
    /// starts at the oldest retained event and reports how many were skipped.
    pub(crate) fn read(
        &self,
        from: u64,
        max: usize,
        out: &mut Vec<Arc<GeneratedEvent>>,
    ) -> ReadStart {
        let start = from.max(self.first_seq);
        let offset = (start - self.first_seq) as usize;
        let end = self.events.len().min(offset.saturating_add(max));
        if offset < end {
            out.extend(self.events.range(offset..end).cloned());
        }
        ReadStart {
            seq: start,
            skipped: start - from,
        }
    }

    /// Records `seqs` as sent. Called under the same lock as the read, before the frames go
    /// out, so no client can hold a seq the record lacks; a connection that fails mid-batch
    /// leaves a few recorded that its client never got (and asks for again on reconnecting).
    pub(crate) fn mark_sent(&mut self, seqs: RangeInclusive<u64>) {
        self.sent.insert(seqs);
    }

    pub(crate) fn sent(&self) -> &[RangeInclusive<u64>] {
        self.sent.ranges()
    }

    pub(crate) fn set_reader(&mut self, connection: u64, next: u64) {
        self.readers.insert(connection, next);
    }

    pub(crate) fn remove_reader(&mut self, connection: u64) {
        self.readers.remove(&connection);
    }

    /// True when some attached reader is fewer than `low_water` events behind the head.
    pub(crate) fn reader_is_hungry(&self, low_water: u64) -> bool {
        let head = self.next_seq();
        self.readers
            .values()
            .any(|&next| head.saturating_sub(next) < low_water)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dss_lake_fleet::{Fleet, FleetConfig};

    fn events(n: usize) -> Vec<Arc<GeneratedEvent>> {
        let mut fleet = Fleet::new(FleetConfig::default());
        (0..n).map(|_| Arc::new(fleet.next_event())).collect()
    }

    #[test]
    fn seqs_are_consecutive_and_the_oldest_fall_out() {
        let mut ring = Ring::new(3, 1);
        assert_eq!((ring.oldest_seq(), ring.next_seq()), (1, 1));
        let evs = events(5);
        for e in &evs {
            ring.push(e.clone());
        }
        assert_eq!((ring.oldest_seq(), ring.next_seq(), ring.len()), (3, 6, 3));
        let mut out = Vec::new();
        assert_eq!(ring.read(4, 10, &mut out), ReadStart { seq: 4, skipped: 0 });
        assert!(Arc::ptr_eq(&out[0], &evs[3]) && out.len() == 2);
        out.clear();
        assert_eq!(ring.read(1, 1, &mut out), ReadStart { seq: 3, skipped: 2 });
        assert!(Arc::ptr_eq(&out[0], &evs[2]) && out.len() == 1);
        out.clear();
        assert_eq!(ring.read(9, 10, &mut out), ReadStart { seq: 9, skipped: 0 });
        assert!(out.is_empty(), "a start in the future reads nothing yet");
    }

    #[test]
    fn a_reader_near_the_head_is_hungry() {
        let mut ring = Ring::new(100, 1);
        assert!(!ring.reader_is_hungry(10), "no reader, no hunger");
        ring.set_reader(7, 1);
        assert!(ring.reader_is_hungry(10));
        for e in events(20) {
            ring.push(e);
        }
        assert!(!ring.reader_is_hungry(10));
        ring.set_reader(7, 15);
        assert!(ring.reader_is_hungry(10));
        ring.remove_reader(7);
        assert!(!ring.reader_is_hungry(10));
    }
}
