//! Exponential backoff with full jitter and a cap, for retrying LND while it is down,
//! locked or starting.
//!
//! Invariant: every delay lies in `[initial/2, cap]`, and the upper bound doubles per failure
//! until it reaches `cap`. Jitter spreads reconnects of many daemons after an LND restart; the
//! lower bound keeps a single daemon from hammering a node that just refused it.

use std::time::Duration;

use rand::Rng;

/// Backoff state for one kind of retry (snapshot cycle or event subscription).
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// `initial` is the first delay's upper bound, `cap` the longest delay ever returned.
    pub fn new(initial: Duration, cap: Duration) -> Self {
        let initial = initial.max(Duration::from_millis(1));
        Backoff {
            initial,
            cap: cap.max(initial),
            failures: 0,
        }
    }

    /// Upper bound of the next delay, without jitter: `initial · 2^failures`, capped.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.cap)
    }

    /// True once the delay has reached the cap (for "retrying at the capped backoff" logs).
    pub fn is_capped(&self) -> bool {
        self.ceiling() >= self.cap
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let floor = (self.initial / 2).min(ceiling);
        let span = ceiling.saturating_sub(floor);
        let jitter = span.mul_f64(rng.random::<f64>());
        floor + jitter
    }

    /// Jumps straight to the cap: for failures only an operator can fix (a bad macaroon),
    /// which are still retried, but slowly.
    pub fn saturate(&mut self) {
        while !self.is_capped() {
            self.failures += 1;
        }
    }

    /// Forgets past failures after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn delays_grow_and_stay_within_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut ceilings = Vec::new();
        for _ in 0..12 {
            let ceiling = b.ceiling();
            let d = b.next_delay(&mut rng);
            assert!(d <= ceiling, "{d:?} above {ceiling:?}");
            assert!(d >= Duration::from_millis(500), "{d:?} below floor");
            ceilings.push(ceiling.as_secs());
        }
        assert_eq!(&ceilings[..7], &[1, 2, 4, 8, 16, 32, 60]);
        assert!(b.is_capped());
    }

    #[test]
    fn reset_starts_over_and_saturate_jumps_to_cap() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(300));
        b.saturate();
        assert_eq!(b.ceiling(), Duration::from_secs(300));
        b.next_delay(&mut rng);
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_secs(2));
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        for _ in 0..200 {
            assert!(b.next_delay(&mut rng) <= Duration::from_secs(5));
        }
    }
}
