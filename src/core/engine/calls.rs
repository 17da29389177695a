//! The API calls of a session (create, sign, complete): which one is in flight, and
//! what its answer or failure changes.

use super::{ApiCall, CallId, PartState, Phase, Session, Url};
use crate::core::retry::{classify, Decision, Failure};
use crate::core::time::Instant;
use crate::core::wire::SignedPart;
use std::time::Duration;

impl Session {
    pub(super) fn api_succeeded(&mut self) {
        self.end_call();
        self.api_failures = 0;
    }

    /// Whether an answer is to the call in flight (not to one given up on).
    pub(super) fn answers(&self, call: CallId) -> bool {
        self.api.is_some() && call == self.api_call
    }

    /// Starts an API call: from now on only its answer counts.
    pub(super) fn begin_call(&mut self, kind: ApiCall) -> CallId {
        self.api_call = CallId(self.api_call.0 + 1);
        self.api = Some(kind);
        self.api_call
    }

    /// The API call in flight is over, one way or another.
    pub(super) fn end_call(&mut self) -> Option<ApiCall> {
        self.api_deadline = None;
        self.api.take()
    }

    pub(super) fn apply_signed(&mut self, signed: Vec<SignedPart>, now: Instant) {
        let max_margin = self.config.expiry_margin;
        for s in signed {
            if let Some(p) = self.part_in(s.part_number, |st| *st == PartState::Signing) {
                let lifetime = Duration::from_secs(s.expires_in);
                let margin = max_margin.min(lifetime / 4);
                let use_before = now + (lifetime - margin);
                p.url = Some(Url {
                    url: s.url,
                    headers: s.headers,
                    expires_at: now + lifetime,
                    use_before,
                });
                p.state = PartState::Ready;
            }
        }
        // A part the server left out is signed again with the next batch.
        self.revert_signing();
    }

    pub(super) fn revert_signing(&mut self) {
        for p in &mut self.parts {
            if p.state == PartState::Signing {
                p.state = PartState::Hashed;
            }
        }
    }

    pub(super) fn api_failed(&mut self, failure: Failure, now: Instant) {
        let Some(call) = self.end_call() else { return };
        self.revert_signing();
        if call == ApiCall::Create {
            self.phase = Phase::Preparing;
        }
        if self.offline {
            // Expected while offline, and no sign of a broken server: the call is made
            // again when the network returns, at no cost to the budget.
            return;
        }
        match classify(&failure, false) {
            Decision::Retry { after } => {
                self.api_failures += 1;
                if self.config.api_retry.allows(self.api_failures) {
                    let unit = self.rng.f64();
                    self.api_retry_at =
                        Some(now + self.config.api_retry.delay(self.api_failures, unit, after));
                } else {
                    self.fail_with(&failure);
                }
            }
            Decision::Resign | Decision::Fatal => self.fail_with(&failure),
        }
    }
}
