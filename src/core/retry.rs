//! Retry policy: which failures are worth another attempt, and how long to wait first.
//!
//! Classifying is a pure function kept apart from the waiting, so every case is a table
//! test and the engine only asks "what now?".

use crate::core::wire::ErrorCode;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How one request (a part PUT or an API call) failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The connection failed or was reset before an answer came.
    Network,
    /// No answer within the client's timeout.
    Timeout,
    /// An HTTP answer other than success.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` the answer carried, if any.
        retry_after: Option<Duration>,
        /// A message for the person, when the answer carried one (our JSON errors).
        message: Option<String>,
        /// The API's error code, when the answer carried one.
        code: Option<ErrorCode>,
    },
}

impl Failure {
    /// A plain HTTP failure without `Retry-After` or message.
    pub fn status(status: u16) -> Self {
        Failure::Status {
            status,
            retry_after: None,
            message: None,
            code: None,
        }
    }

    /// A refusal with a message and a code, as the API would answer.
    pub fn refused(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Failure::Status {
            status,
            retry_after: None,
            message: Some(message.into()),
            code: Some(code),
        }
    }
}

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Try again, after at least this long if storage said so.
    Retry {
        /// The server's `Retry-After`, to be honoured.
        after: Option<Duration>,
    },
    /// The URL has expired: sign the part again (costs no retry budget).
    Resign,
    /// Give up: another attempt cannot succeed.
    Fatal,
}

/// Decides what a failure calls for.
///
/// `url_expired` says whether the request's signed URL was past its expiry when it
/// failed. Expiry is judged from the time the server gave, not from the status, because
/// stores disagree: AWS answers 403, Garage 400.
pub fn classify(failure: &Failure, url_expired: bool) -> Decision {
    match failure {
        Failure::Network | Failure::Timeout => Decision::Retry { after: None },
        Failure::Status {
            status,
            retry_after,
            ..
        } => match *status {
            400 | 401 | 403 if url_expired => Decision::Resign,
            408 | 429 | 500..=599 => Decision::Retry {
                after: *retry_after,
            },
            _ => Decision::Fatal,
        },
    }
}

/// Exponential backoff with full jitter, as AWS's architecture blog recommends: it spreads
/// retries of many clients that failed together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryConfig {
    /// Upper bound of the first wait. Default 500 ms.
    pub base: Duration,
    /// Upper bound of any wait, however many attempts came before. Default 20 s.
    pub cap: Duration,
    /// Attempts in all, the first included, before the failure is final. Default 6.
    pub max_attempts: u32,
    /// Longest `Retry-After` honoured; a longer one is cut to this. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(20),
            max_attempts: 6,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryConfig {
    /// How long to wait before attempt `failed_attempts + 1`.
    ///
    /// `unit` is a random number in `[0, 1)` from the caller's RNG; `retry_after` wins
    /// over the jittered backoff when the server gave one.
    pub fn delay(
        &self,
        failed_attempts: u32,
        unit: f64,
        retry_after: Option<Duration>,
    ) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let exp = failed_attempts.saturating_sub(1).min(30);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.cap);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Whether another attempt is allowed after `failed_attempts` failures.
    pub fn allows(&self, failed_attempts: u32) -> bool {
        failed_attempts < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_retry_after(status: u16, secs: u64) -> Failure {
        Failure::Status {
            status,
            retry_after: Some(Duration::from_secs(secs)),
            message: None,
            code: None,
        }
    }

    #[test]
    fn classification_table() {
        let retry = Decision::Retry { after: None };
        let cases = [
            (Failure::Network, false, retry),
            (Failure::Timeout, false, retry),
            (Failure::status(408), false, retry),
            (Failure::status(429), false, retry),
            (Failure::status(500), false, retry),
            (Failure::status(503), false, retry),
            (
                with_retry_after(503, 7),
                false,
                Decision::Retry {
                    after: Some(Duration::from_secs(7)),
                },
            ),
            (Failure::status(400), false, Decision::Fatal),
            (Failure::status(403), false, Decision::Fatal),
            (Failure::status(404), false, Decision::Fatal),
            (Failure::status(413), false, Decision::Fatal),
            (Failure::status(403), true, Decision::Resign),
            (Failure::status(400), true, Decision::Resign),
            (Failure::status(404), true, Decision::Fatal),
            (Failure::status(503), true, retry),
        ];
        for (failure, expired, want) in cases {
            assert_eq!(
                classify(&failure, expired),
                want,
                "{failure:?} expired={expired}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let c = RetryConfig::default();
        assert_eq!(
            c.delay(1, 0.0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            c.delay(1, 0.0, Some(Duration::from_secs(3600))),
            c.max_retry_after
        );
    }

    #[test]
    fn budget_counts_attempts() {
        let c = RetryConfig {
            max_attempts: 3,
            ..RetryConfig::default()
        };
        assert!(c.allows(2));
        assert!(!c.allows(3));
    }

    proptest! {
        #[test]
        fn jittered_delay_stays_under_the_exponential_ceiling(attempt in 1u32..100, unit in 0.0f64..1.0) {
            let c = RetryConfig::default();
            let d = c.delay(attempt, unit, None);
            let ceiling = c.base.saturating_mul(1u32 << (attempt - 1).min(30)).min(c.cap);
            prop_assert!(d <= ceiling);
            prop_assert!(d <= c.cap);
        }
    }
}
