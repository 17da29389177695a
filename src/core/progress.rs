//! Progress accounting: bytes confirmed and in flight, speed, time left.
//!
//! The fraction shown to the person never moves backwards: when a failed attempt's bytes
//! are taken back, the bar holds still until the retry catches up with it.

use crate::core::time::Instant;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;

/// Speed is averaged over this much recent time: long enough to smooth the bursts of
/// parallel parts, short enough to follow a changing network.
const SPEED_WINDOW: Duration = Duration::from_secs(5);

/// Running totals of one file's upload.
#[derive(Clone, Debug)]
pub struct Progress {
    total: u64,
    confirmed: u64,
    in_flight: u64,
    shown: u64,
    sent: u64,
    resent: u64,
    samples: VecDeque<(Instant, u64)>,
}

/// What the UI shows at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProgressSnapshot {
    /// Size of the file.
    pub total: u64,
    /// Bytes shown as done; never decreases.
    pub shown: u64,
    /// Bytes in parts that storage has confirmed.
    pub confirmed: u64,
    /// Bytes sent again because an earlier attempt failed or was aborted.
    pub bytes_resent: u64,
    /// Bytes per second over the last few seconds.
    pub speed: f64,
    /// Estimated time left, once there is a speed to go by.
    pub eta: Option<Duration>,
}

impl ProgressSnapshot {
    /// The shown fraction as a whole percentage, 0 to 100.
    pub fn percent(&self) -> u8 {
        if self.total == 0 {
            return if self.shown == 0 { 0 } else { 100 };
        }
        ((self.shown as f64 / self.total as f64) * 100.0)
            .floor()
            .min(100.0) as u8
    }
}

impl Progress {
    /// Starts the accounting for a file of `total` bytes.
    pub fn new(total: u64) -> Self {
        Progress {
            total,
            confirmed: 0,
            in_flight: 0,
            shown: 0,
            sent: 0,
            resent: 0,
            samples: VecDeque::new(),
        }
    }

    /// Bytes put on the wire for an attempt in flight, `delta` more than before.
    pub fn on_sent(&mut self, delta: u64, now: Instant) {
        self.in_flight += delta;
        self.sent += delta;
        self.record(now);
    }

    /// A part of `len` bytes was confirmed; `attempt_sent` of them were counted in flight.
    pub fn on_confirmed(&mut self, len: u64, attempt_sent: u64, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(attempt_sent);
        // XHR may report less than the whole body before the answer comes.
        self.sent += len.saturating_sub(attempt_sent);
        self.confirmed += len;
        self.record(now);
    }

    /// An attempt that had sent `attempt_sent` bytes failed or was aborted: those bytes
    /// will be sent again.
    pub fn on_lost(&mut self, attempt_sent: u64) {
        self.in_flight = self.in_flight.saturating_sub(attempt_sent);
        self.resent += attempt_sent;
    }

    /// A part stored before this session began (resumed after a reload): done, but not
    /// sent now, so it counts toward neither speed nor bytes re-sent.
    pub fn on_resumed(&mut self, len: u64) {
        self.confirmed += len;
        self.shown = self.shown.max(self.confirmed.min(self.total));
    }

    /// The whole file is stored (also covers the empty file, which sends no byte).
    pub fn on_finished(&mut self) {
        self.confirmed = self.total;
        self.shown = self.total;
    }

    fn record(&mut self, now: Instant) {
        let actual = (self.confirmed + self.in_flight).min(self.total);
        self.shown = self.shown.max(actual);
        self.samples.push_back((now, self.sent));
        // Keep one sample older than the window so the average spans all of it.
        while self.samples.len() > 2 && now.saturating_since(self.samples[1].0) >= SPEED_WINDOW {
            self.samples.pop_front();
        }
    }

    /// The numbers to show at `now`.
    pub fn snapshot(&self, now: Instant) -> ProgressSnapshot {
        let speed = match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, s0)), Some(&(_, s1))) => {
                // Measured up to `now`, so a stalled upload's speed falls towards zero.
                let dt = now
                    .saturating_since(t0)
                    .min(SPEED_WINDOW + Duration::from_secs(1));
                if dt >= Duration::from_millis(300) {
                    (s1 - s0) as f64 / dt.as_secs_f64()
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        let left = self.total - self.shown.min(self.total);
        let eta = (speed > 1.0).then(|| Duration::from_secs_f64(left as f64 / speed));
        ProgressSnapshot {
            total: self.total,
            shown: self.shown,
            confirmed: self.confirmed,
            bytes_resent: self.resent,
            speed,
            eta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn speed_and_eta_follow_the_bytes() {
        let mut p = Progress::new(10_000_000);
        p.on_sent(0, at(0));
        p.on_sent(1_000_000, at(1000));
        p.on_sent(1_000_000, at(2000));
        let s = p.snapshot(at(2000));
        assert!((s.speed - 1_000_000.0).abs() < 1.0, "{}", s.speed);
        assert_eq!(s.eta, Some(Duration::from_secs(8)));
        assert_eq!(s.percent(), 20);
    }

    #[test]
    fn a_failed_attempt_does_not_move_the_bar_back() {
        let mut p = Progress::new(100);
        p.on_sent(60, at(10));
        p.on_lost(60);
        let s = p.snapshot(at(20));
        assert_eq!((s.shown, s.bytes_resent), (60, 60));
        p.on_sent(30, at(30));
        assert_eq!(p.snapshot(at(30)).shown, 60);
        p.on_sent(40, at(40));
        assert_eq!(p.snapshot(at(40)).shown, 70);
    }

    #[test]
    fn a_stalled_upload_slows_down() {
        let mut p = Progress::new(1 << 30);
        p.on_sent(0, at(0));
        p.on_sent(5_000_000, at(1000));
        let fast = p.snapshot(at(1000)).speed;
        let stalled = p.snapshot(at(6000)).speed;
        assert!(stalled < fast / 4.0);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Sent(u64),
        Lost,
        Confirm,
    }

    proptest! {
        #[test]
        fn shown_never_decreases_and_stays_within_the_file(
            steps in proptest::collection::vec(prop_oneof![
                (1u64..5000).prop_map(Step::Sent), Just(Step::Lost), Just(Step::Confirm)
            ], 1..200)
        ) {
            let total = 50_000;
            let mut p = Progress::new(total);
            let mut attempt = 0;
            let mut last = 0;
            for (i, step) in steps.into_iter().enumerate() {
                let now = at(i as u64 * 10);
                match step {
                    Step::Sent(n) => { p.on_sent(n, now); attempt += n; }
                    Step::Lost => { p.on_lost(attempt); attempt = 0; }
                    Step::Confirm => {
                        let len = attempt.min(total - p.snapshot(now).confirmed);
                        p.on_confirmed(len, attempt, now);
                        attempt = 0;
                    }
                }
                let s = p.snapshot(now);
                prop_assert!(s.shown >= last);
                prop_assert!(s.shown <= total);
                last = s.shown;
            }
        }
    }
}
