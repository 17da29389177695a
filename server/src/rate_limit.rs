//! Request rate limits per user and per client address: a token bucket each (GCRA, by
//! `governor`), answering 429 `rate_limited` with the seconds to wait in `Retry-After`,
//! which the widget honours.
//!
//! The buckets live in this process: with several instances behind a balancer, each
//! lets a user through at the configured rate, so the limits hold per instance.

use crate::config::Config;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;

/// Bursts allowed on top of the steady rate: this many seconds' worth of requests, so
/// that a pick of many files (two API calls each) goes through at full speed.
const BURST_SECONDS: u32 = 10;
/// Buckets kept before the idle ones are dropped: a bound on memory, whatever keys come.
const MAX_KEYS: usize = 100_000;

/// The buckets of one server.
pub struct RateLimits {
    users: Option<Limiter<String>>,
    addresses: Option<Limiter<IpAddr>>,
}

struct Limiter<K: Hash + Eq + Clone> {
    buckets: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// Buckets of `per_second` requests a second; `None` when 0 (no limit).
    fn new(per_second: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(per_second.saturating_mul(BURST_SECONDS)).unwrap_or(rate);
        Some(Limiter {
            buckets: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        })
    }

    fn check(&self, key: &K) -> Result<(), ApiError> {
        if self.buckets.len() > MAX_KEYS {
            self.buckets.retain_recent();
        }
        self.buckets.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after: wait.as_secs() + 1,
            }
        })
    }
}

impl RateLimits {
    /// The limits `config` sets (`--rate-limit-user`, `--rate-limit-address`).
    pub fn new(config: &Config) -> Self {
        RateLimits {
            users: Limiter::new(config.rate_limit_user),
            addresses: Limiter::new(config.rate_limit_address),
        }
    }

    /// Lets one request of `user` through, or says how long to wait.
    pub fn check_user(&self, user: &str) -> Result<(), ApiError> {
        match &self.users {
            Some(limiter) => limiter.check(&user.to_string()),
            None => Ok(()),
        }
    }

    /// Lets one request from `address` through, or says how long to wait.
    pub fn check_address(&self, address: IpAddr) -> Result<(), ApiError> {
        match &self.addresses {
            Some(limiter) => limiter.check(&address),
            None => Ok(()),
        }
    }
}

/// Middleware of `/api`: one request from the client's address, before anything else.
pub async fn by_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let header = state.config.client_address_header.as_deref();
    if let Some(address) = client_address(&req, header) {
        if let Err(refused) = state.limits.check_address(address) {
            return refused.into_response();
        }
    }
    next.run(req).await
}

/// The client's address, as its bucket's key: the last address of `header` (the one
/// the trusted proxy appended; earlier ones are whatever the client claimed), else the
/// peer. An IPv6 client is keyed by its /64, which one subscriber holds whole.
fn client_address(req: &Request, header: Option<&str>) -> Option<IpAddr> {
    let forwarded = header
        .and_then(|name| req.headers().get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok());
    let address = forwarded.or_else(|| {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })?;
    Some(match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(forwarded: &str) -> Option<IpAddr> {
        let req = Request::builder()
            .header("x-forwarded-for", forwarded)
            .body(axum::body::Body::empty())
            .expect("request");
        client_address(&req, Some("x-forwarded-for"))
    }

    #[test]
    fn the_proxys_own_entry_counts_and_ipv6_clients_by_their_64() {
        // A client claiming 1.2.3.4 in front of the proxy's entry gains nothing.
        assert_eq!(from("1.2.3.4, 198.51.100.7"), "198.51.100.7".parse().ok());
        assert_eq!(
            from("2001:db8:1:2:aaaa::1"),
            from("2001:db8:1:2:bbbb::9"),
            "one /64"
        );
        assert_ne!(from("2001:db8:1:2::1"), from("2001:db8:1:3::1"));
        assert_eq!(from("::ffff:192.0.2.1"), "192.0.2.1".parse().ok());
        assert_eq!(from("not an address"), None);
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds_and_others_are_untouched() {
        let config = Config {
            rate_limit_user: 2,
            rate_limit_address: 0,
            ..Config::default()
        };
        let limits = RateLimits::new(&config);
        for _ in 0..20 {
            limits.check_user("alice").expect("within the burst");
        }
        let Err(ApiError::RateLimited { retry_after }) = limits.check_user("alice") else {
            panic!("the 21st request passed");
        };
        assert!((1..=2).contains(&retry_after), "{retry_after}");
        assert!(limits.check_user("bob").is_ok());
        // 0 turns a limit off.
        for _ in 0..1000 {
            limits
                .check_address("192.0.2.1".parse().expect("ip"))
                .expect("no address limit");
        }
    }
}
