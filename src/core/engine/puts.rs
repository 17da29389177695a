//! Part PUTs: their progress, their ETags, and what a failed PUT costs (a retry, a
//! fresh URL, fewer parts in flight, or the file).

use super::{Command, FailCode, PartState, ResumeUpdate, Session, CLOCK_SLACK, MAX_RESIGNS};
use crate::core::fail::FailReason;
use crate::core::ids::{ETag, PartNumber};
use crate::core::retry::{classify, Decision, Failure};
use crate::core::time::Instant;

impl Session {
    pub(super) fn put_progress(&mut self, part: PartNumber, sent: u64, now: Instant) {
        let Some(p) = self.parts.get_mut(part.index()) else {
            return;
        };
        if let PartState::InFlight { sent: old } = &mut p.state {
            let sent = sent.min(p.range.len());
            if sent > *old {
                let delta = sent - *old;
                *old = sent;
                p.moved_at = now;
                // Progress earns the budget back (as tus does): an attempt that got
                // most of the way was no sign of a broken link.
                if sent >= p.range.len() / 4 * 3 {
                    p.failures = 0;
                }
                self.progress.on_sent(delta, now);
            }
        }
    }

    pub(super) fn put_succeeded(&mut self, part: PartNumber, etag: ETag, now: Instant) {
        let Some(p) = self.parts.get_mut(part.index()) else {
            return;
        };
        if let PartState::InFlight { sent } = p.state {
            self.progress.on_confirmed(p.range.len(), sent, now);
            let stored = p.checksum.map(|sum| ResumeUpdate::PartStored {
                part,
                etag: etag.clone(),
                sum,
            });
            p.state = PartState::Done(etag);
            p.failures = 0;
            p.resigns = 0;
            p.url = None;
            if let Some(update) = stored {
                self.persist(update);
            }
            self.window_successes += 1;
            if self.window_successes >= self.window && self.window < self.config.max_in_flight {
                self.window += 1;
                self.window_successes = 0;
            }
        }
    }

    pub(super) fn put_failed(&mut self, part: PartNumber, failure: Failure, now: Instant) {
        let Some(p) = self.parts.get_mut(part.index()) else {
            return;
        };
        let PartState::InFlight { sent } = p.state else {
            return;
        };
        // No longer in flight, whatever comes next: a fatal failure must not cancel it.
        p.state = PartState::Ready;
        self.progress.on_lost(sent);
        if congested(&failure) {
            // A slow or crowded link: fewer, longer-lived parts.
            self.window = (self.window / 2).max(1);
            self.window_successes = 0;
        }
        // SigV4 dates have whole seconds and clocks drift: a URL this close to its
        // expiry may already be expired in storage's eyes.
        let expired = p
            .url
            .as_ref()
            .is_some_and(|u| now + CLOCK_SLACK >= u.expires_at);
        if self.offline {
            // Failures while the browser says it is offline cost no attempt: the part
            // waits for the network instead of running out of budget.
            return;
        }
        match classify(&failure, expired) {
            Decision::Resign if p.resigns < MAX_RESIGNS => {
                p.resigns += 1;
                p.url = None;
                p.state = PartState::Hashed;
            }
            Decision::Resign => self.fail(FailCode::UrlExpired, expired_too_often(part)),
            Decision::Retry { after } => {
                p.failures += 1;
                p.attempts += 1;
                let hard_cap = self.config.part_retry.max_attempts.saturating_mul(4);
                if self.config.part_retry.allows(p.failures) && p.attempts < hard_cap {
                    let unit = self.rng.f64();
                    let wait = self.config.part_retry.delay(p.failures, unit, after);
                    p.state = PartState::Waiting { until: now + wait };
                } else {
                    let reason = FailReason::PartGaveUp {
                        part,
                        attempts: p.attempts,
                        last: Box::new(FailReason::of(&failure)),
                    };
                    self.fail(FailCode::of(&failure), reason);
                }
            }
            Decision::Fatal => self.fail_with(&failure),
        }
    }

    pub(super) fn stop_puts(&mut self) {
        for (i, p) in self.parts.iter_mut().enumerate() {
            if let PartState::InFlight { sent } = p.state {
                self.progress.on_lost(sent);
                p.state = PartState::Ready;
                self.commands.push_back(Command::CancelPut {
                    part: PartNumber::from_index(i),
                });
            }
        }
    }
}

/// The reason of a file whose part URLs kept expiring.
pub(super) fn expired_too_often(part: PartNumber) -> FailReason {
    FailReason::UrlsKeptExpiring {
        part,
        times: MAX_RESIGNS,
    }
}

/// Failures that say the link or storage is overloaded rather than broken.
fn congested(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Timeout
            | Failure::Status {
                status: 429 | 503,
                ..
            }
    )
}
