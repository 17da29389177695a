//! Counters of part PUTs, so that tests can check the widget's parallelism
//! (`GET /api/dev/stats`).

use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Live counters; shared by the storage routes and the dev routes.
#[derive(Debug, Default)]
pub struct PutStats {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    total: AtomicUsize,
}

/// A snapshot, as `GET /api/dev/stats` answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PutStatsSnapshot {
    /// Part PUTs being received now.
    pub part_puts_in_flight: usize,
    /// The most that were received at once since the last reset.
    pub part_puts_max_in_flight: usize,
    /// Part PUTs started since the last reset.
    pub part_puts_total: usize,
}

impl PutStats {
    /// Counts a PUT that starts; it ends when the guard is dropped, whatever the outcome.
    pub fn start(&self) -> PutGuard<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.total.fetch_add(1, Ordering::SeqCst);
        PutGuard(self)
    }

    /// The counters now.
    pub fn snapshot(&self) -> PutStatsSnapshot {
        PutStatsSnapshot {
            part_puts_in_flight: self.in_flight.load(Ordering::SeqCst),
            part_puts_max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            part_puts_total: self.total.load(Ordering::SeqCst),
        }
    }

    /// Zeroes the maximum and the total. The in-flight count stays true to what is
    /// running, and the maximum restarts from it.
    pub fn reset(&self) {
        self.total.store(0, Ordering::SeqCst);
        self.max_in_flight
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

/// Ends one counted PUT when dropped.
#[derive(Debug)]
pub struct PutGuard<'a>(&'a PutStats);

impl Drop for PutGuard<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_overlap() {
        let stats = PutStats::default();
        {
            let _a = stats.start();
            let _b = stats.start();
            assert_eq!(stats.snapshot().part_puts_in_flight, 2);
        }
        let s = stats.snapshot();
        assert_eq!(
            (
                s.part_puts_in_flight,
                s.part_puts_max_in_flight,
                s.part_puts_total
            ),
            (0, 2, 2)
        );
        stats.reset();
        assert_eq!(stats.snapshot().part_puts_max_in_flight, 0);
    }
}
