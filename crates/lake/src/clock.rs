//! The clock, injected so that flush-by-age is tested by advancing time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dss_lake_frame::Micros;

/// Where the batching stage reads the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Microseconds since the epoch, UTC.
    fn now(&self) -> Micros;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as Micros)
    }
}

/// A clock that moves only when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Micros) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start)))
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(by.as_micros() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Micros {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_wall_clock_in_microseconds() {
        let micros = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_micros() as Micros;
        let before = micros(SystemTime::now());
        let now = SystemClock.now();
        let after = micros(SystemTime::now());
        assert!(
            before <= now && now <= after,
            "{before} <= {now} <= {after}"
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_its_clones_share_the_time() {
        let clock = ManualClock::new(1_000);
        let clone = clock.clone();
        assert_eq!(clock.now(), 1_000);
        clone.advance(std::time::Duration::from_millis(2));
        assert_eq!((clock.now(), clone.now()), (3_000, 3_000));
    }
}
