//! How one session schedules its work, and the normalisation that makes every
//! configuration a working one.

use crate::core::retry::RetryConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Most part PUTs in flight for one file that a configuration may ask for.
pub const MAX_IN_FLIGHT: usize = 64;

/// How one session schedules its work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Most part PUTs in flight at once. Default 4.
    pub max_in_flight: usize,
    /// Most parts hashed or signed ahead of the PUTs: enough to keep the pipe full,
    /// few enough that their URLs do not expire while they wait. Default 8.
    pub hash_ahead: usize,
    /// Most parts hashed at once. Default 2.
    pub max_hashing: usize,
    /// Parts signed per API call once the upload runs. Default 4.
    pub sign_batch: usize,
    /// Budget and backoff for part PUTs.
    pub part_retry: RetryConfig,
    /// Budget and backoff for API calls, kept apart so a flaky API cannot eat the parts'.
    pub api_retry: RetryConfig,
    /// A URL this close to its expiry is signed again rather than used. Default 30 s;
    /// never more than a quarter of the URL's lifetime, so short-lived URLs stay usable.
    pub expiry_margin: Duration,
    /// A part PUT that reports no progress for this long is aborted and retried; one
    /// that keeps moving is never cut, however slow the link. Default 30 s.
    pub idle_timeout: Duration,
    /// An API call unanswered for this long is given up and retried. Default 30 s.
    pub api_timeout: Duration,
    /// Also compute the whole file's SHA-256 (read once more, as a stream) and send it
    /// at complete as the client's claim. Default off: it costs a third read of the file.
    #[serde(default)]
    pub file_sha256: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_in_flight: 4,
            hash_ahead: 8,
            max_hashing: 2,
            sign_batch: 4,
            part_retry: RetryConfig::default(),
            api_retry: RetryConfig::default(),
            expiry_margin: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            api_timeout: Duration::from_secs(30),
            file_sha256: false,
        }
    }
}

impl EngineConfig {
    /// The same settings made consistent, so that no value can stall a session: every
    /// count at least 1, hashing allowed far enough ahead to fill the parts in flight
    /// (creating the upload waits for that many hashed parts), and retry budgets of at
    /// least one attempt.
    pub fn normalised(mut self) -> Self {
        self.max_in_flight = self.max_in_flight.clamp(1, MAX_IN_FLIGHT);
        self.hash_ahead = self.hash_ahead.max(self.max_in_flight);
        self.max_hashing = self.max_hashing.clamp(1, self.hash_ahead);
        self.sign_batch = self.sign_batch.max(1);
        // Below a second, ordinary jitter in progress events would abort healthy PUTs.
        self.idle_timeout = self.idle_timeout.max(Duration::from_secs(1));
        self.api_timeout = self.api_timeout.max(Duration::from_secs(1));
        for retry in [&mut self.part_retry, &mut self.api_retry] {
            retry.max_attempts = retry.max_attempts.max(1);
            retry.cap = retry.cap.max(retry.base);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_default_is_already_normal() {
        assert_eq!(
            EngineConfig::default().normalised(),
            EngineConfig::default()
        );
    }

    proptest! {
        #[test]
        fn normalised_settings_are_consistent(
            max_in_flight in 0usize..200,
            hash_ahead in 0usize..40,
            max_hashing in 0usize..40,
            sign_batch in 0usize..40,
            attempts in 0u32..10,
        ) {
            let mut c = EngineConfig { max_in_flight, hash_ahead, max_hashing, sign_batch, ..EngineConfig::default() };
            c.part_retry.max_attempts = attempts;
            let n = c.normalised();
            prop_assert!((1..=MAX_IN_FLIGHT).contains(&n.max_in_flight));
            prop_assert!(n.hash_ahead >= n.max_in_flight);
            prop_assert!((1..=n.hash_ahead).contains(&n.max_hashing));
            prop_assert!(n.sign_batch >= 1 && n.part_retry.max_attempts >= 1);
            prop_assert_eq!(n.clone().normalised(), n);
        }
    }
}
