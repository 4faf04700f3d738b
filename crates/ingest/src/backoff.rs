//! Reconnect delays: exponential backoff with full jitter, capped.
//!
//! Full jitter (a uniform delay between zero and the exponential ceiling) keeps many streams
//! that lost their server at the same moment from reconnecting in lockstep.

use std::time::Duration;

/// The delays before successive reconnect attempts of one stream.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff {
            initial,
            max,
            attempt: 0,
            rng: seed | 1,
        }
    }

    /// The ceiling of the next delay: `initial x 2^attempt`, at most `max`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32 << self.attempt.min(20);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay, uniform in `[0, ceiling]`; the ceiling then doubles.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let fraction = (self.next_random() >> 11) as f64 / (1u64 << 53) as f64;
        ceiling.mul_f64(fraction)
    }

    /// After a connection that delivered events: start again from `initial`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// splitmix64: enough randomness for jitter, no dependency.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_a_doubling_ceiling_capped_at_max_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 7);
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            let ceiling = b.ceiling();
            ceilings.push(ceiling.as_millis());
            assert!(b.next_delay() <= ceiling);
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_delays_over_the_whole_range() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(1), 42);
        let delays: Vec<f64> = (0..1000).map(|_| b.next_delay().as_secs_f64()).collect();
        let mean = delays.iter().sum::<f64>() / delays.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
        assert!(delays.iter().any(|&d| d < 0.05) && delays.iter().any(|&d| d > 0.95));
    }
}
