//! How much of a long run of like work (files handed over from a pick) one task of the
//! page takes on: the next batch is sized from how long the last took, so that no task
//! runs long on a slow or busy machine and a fast one is not held to small batches.

use std::time::Duration;

/// Sizes batches of like work to a time budget per task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    size: usize,
    min: usize,
    max: usize,
    budget: Duration,
}

impl Pace {
    /// Batches of `first` items to begin with, then what fits in `budget`, always within
    /// `min..=max` (`min` at least 1, `max` at least `min`).
    pub fn new(first: usize, min: usize, max: usize, budget: Duration) -> Self {
        let min = min.max(1);
        let max = max.max(min);
        Pace {
            size: first.clamp(min, max),
            min,
            max,
            budget,
        }
    }

    /// How many items the next batch takes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Learns from a batch of `done` items that took `took`. The next batch is what fits
    /// in the budget at that rate, but at most twice this one: a batch too quick to time
    /// says little about the next, and a stall should shrink batches at once.
    pub fn took(&mut self, done: usize, took: Duration) {
        if done == 0 {
            return;
        }
        let grown = done.saturating_mul(2);
        let fits = match took.as_micros() {
            0 => grown,
            us => {
                let fits = self.budget.as_micros().saturating_mul(done as u128) / us;
                usize::try_from(fits).unwrap_or(usize::MAX).min(grown)
            }
        };
        self.size = fits.clamp(self.min, self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn batches_shrink_to_the_budget_after_a_slow_one() {
        let mut pace = Pace::new(50, 1, 200, 10 * MS);
        // 50 items in 25 ms: 0.5 ms each, so 20 fit in 10 ms.
        pace.took(50, 25 * MS);
        assert_eq!(pace.size(), 20);
    }

    #[test]
    fn batches_at_most_double_after_a_quick_one() {
        let mut pace = Pace::new(16, 1, 200, 10 * MS);
        pace.took(16, Duration::ZERO);
        assert_eq!(pace.size(), 32);
        pace.took(32, MS);
        assert_eq!(pace.size(), 64);
        for _ in 0..10 {
            let n = pace.size();
            pace.took(n, Duration::ZERO);
        }
        assert_eq!(pace.size(), 200);
    }

    #[test]
    fn a_stall_takes_batches_down_to_the_minimum() {
        let mut pace = Pace::new(16, 4, 200, 10 * MS);
        pace.took(16, Duration::from_secs(1));
        assert_eq!(pace.size(), 4);
    }

    #[test]
    fn an_empty_batch_teaches_nothing() {
        let mut pace = Pace::new(16, 1, 200, 10 * MS);
        pace.took(0, Duration::from_secs(1));
        assert_eq!(pace.size(), 16);
    }

    proptest! {
        #[test]
        fn the_size_stays_within_bounds_and_never_grows_after_an_overrun(
            first in 0usize..1000,
            min in 0usize..50,
            max in 0usize..1000,
            budget_ms in 0u64..100,
            batches in proptest::collection::vec((0usize..1000, 0u64..1_000_000), 1..20),
        ) {
            let mut pace = Pace::new(first, min, max, Duration::from_millis(budget_ms));
            let (lo, hi) = (min.max(1), max.max(min.max(1)));
            prop_assert!((lo..=hi).contains(&pace.size()));
            for (done, took_us) in batches {
                let before = pace.size();
                let took = Duration::from_micros(took_us);
                pace.took(done, took);
                prop_assert!((lo..=hi).contains(&pace.size()));
                if done > 0 && took > Duration::from_millis(budget_ms) {
                    prop_assert!(pace.size() <= done.max(lo));
                }
                if done == 0 {
                    prop_assert_eq!(pace.size(), before);
                }
            }
        }
    }
}
