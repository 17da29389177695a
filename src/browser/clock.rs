//! The browser's monotonic clock, as the core's [`Instant`].

use crate::core::Instant;

/// Now, from `performance.now()` (monotonic, unlike `Date`), falling back to `Date.now()`
/// where there is no `performance` object.
pub fn now() -> Instant {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now);
    Instant::from_millis(ms.max(0.0) as u64)
}

/// A seed for the backoff jitter. Jitter needs spread, not secrecy, so `Math.random` is enough.
pub fn seed() -> u64 {
    (js_sys::Math::random() * u64::MAX as f64) as u64
}
