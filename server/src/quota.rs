//! Per-user quotas: bytes and files, stored and in progress together.
//!
//! A create reserves the file's declared size. That bounds what the upload can store:
//! every part URL is signed for its planned length, and complete refuses an object of
//! another size. Complete turns the reservation into the file; abort and the sweep free
//! it. Nothing is counted twice or kept in a counter that could drift: the database
//! sums the user's files and uploads in progress when asked.

use crate::config::Config;
use crate::db::{Holding, UserLimits};
use crate::error::ApiError;
use partway::core::format;
use partway::core::wire::Usage;

/// The limits in force for one user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes stored and reserved together.
    pub max_bytes: Option<u64>,
    /// Most files stored and in progress together.
    pub max_files: Option<u64>,
    /// Most uploads in progress at once.
    pub max_active: u64,
}

impl Limits {
    /// The user's own limits where an operator set them, else the server's. Either way
    /// 0 means no limit, so that one user can be exempted from a server-wide quota.
    pub fn of(user: &UserLimits, config: &Config) -> Self {
        let limit = |own: Option<u64>, server: u64| Some(own.unwrap_or(server)).filter(|&n| n > 0);
        Limits {
            max_bytes: limit(user.max_bytes, config.quota_bytes),
            max_files: limit(user.max_files, config.quota_files),
            max_active: config.max_active_uploads,
        }
    }

    /// Whether the user's stored files count against a limit (else only uploads in
    /// progress are counted).
    pub fn counts_stored(&self) -> bool {
        self.max_bytes.is_some() || self.max_files.is_some()
    }

    /// Whether a new upload of `size` bytes fits beside what the user holds; if not,
    /// why, and what is left.
    pub fn admit(&self, held: &Holding, size: u64) -> Result<(), ApiError> {
        if held.reserved_files >= self.max_active {
            return Err(ApiError::TooManyUploads(format!(
                "You have {} uploads in progress, the most this server allows; the next \
                 starts when one of them ends.",
                self.max_active
            )));
        }
        if let Some(max) = self.max_files {
            let holding = held.used_files + held.reserved_files;
            if holding >= max {
                return Err(ApiError::QuotaExceeded(format!(
                    "Your quota allows {max} files, and you have {holding} stored or being \
                     uploaded; delete some to make room."
                )));
            }
        }
        if let Some(max) = self.max_bytes {
            let holding = held.used_bytes.saturating_add(held.reserved_bytes);
            let left = max.saturating_sub(holding);
            if size > left {
                let pending = if held.reserved_bytes > 0 {
                    format!(
                        " (uploads in progress hold {})",
                        format::bytes(held.reserved_bytes)
                    )
                } else {
                    String::new()
                };
                return Err(ApiError::QuotaExceeded(format!(
                    "This file is {}, but only {} of your {} quota is left{pending}.",
                    format::bytes(size),
                    format::bytes(left),
                    format::bytes(max)
                )));
            }
        }
        Ok(())
    }

    /// `GET /api/usage`'s answer.
    pub fn usage(&self, held: &Holding) -> Usage {
        Usage {
            used_bytes: held.used_bytes,
            used_files: held.used_files,
            reserved_bytes: held.reserved_bytes,
            reserved_files: held.reserved_files,
            max_bytes: self.max_bytes,
            max_files: self.max_files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn limits(max_bytes: Option<u64>, max_files: Option<u64>) -> Limits {
        Limits {
            max_bytes,
            max_files,
            max_active: 10,
        }
    }

    fn held(used_bytes: u64, used_files: u64, reserved_bytes: u64, reserved_files: u64) -> Holding {
        Holding {
            used_bytes,
            used_files,
            reserved_bytes,
            reserved_files,
        }
    }

    #[test]
    fn bytes_stored_and_reserved_count_together() {
        let l = limits(Some(100 * MIB), None);
        assert!(
            l.admit(&held(60 * MIB, 1, 0, 0), 40 * MIB).is_ok(),
            "exactly full"
        );
        let refused = l
            .admit(&held(60 * MIB, 1, 30 * MIB, 1), 20 * MIB)
            .expect_err("over");
        let text = refused.to_string();
        assert!(text.contains("only 10.0 MiB of your 100.0 MiB"), "{text}");
        assert!(text.contains("in progress hold 30.0 MiB"), "{text}");
        assert!(matches!(refused, ApiError::QuotaExceeded(_)));
    }

    #[test]
    fn files_stored_and_in_progress_count_together() {
        let l = limits(None, Some(3));
        assert!(l.admit(&held(0, 1, 0, 1), 1).is_ok());
        assert!(matches!(
            l.admit(&held(0, 2, 0, 1), 1),
            Err(ApiError::QuotaExceeded(_))
        ));
    }

    #[test]
    fn active_uploads_are_bounded_apart_from_the_quota() {
        let l = limits(None, None);
        assert!(matches!(
            l.admit(&held(0, 0, 0, 10), 1),
            Err(ApiError::TooManyUploads(_))
        ));
    }

    #[test]
    fn a_users_own_limit_replaces_the_servers() {
        let config = Config {
            quota_bytes: 100,
            quota_files: 0,
            ..Config::default()
        };
        let mine = UserLimits {
            max_bytes: Some(5),
            max_files: Some(2),
        };
        let l = Limits::of(&mine, &config);
        assert_eq!((l.max_bytes, l.max_files), (Some(5), Some(2)));
        let l = Limits::of(&UserLimits::default(), &config);
        assert_eq!((l.max_bytes, l.max_files), (Some(100), None));
        let exempt = UserLimits {
            max_bytes: Some(0),
            max_files: None,
        };
        assert_eq!(
            Limits::of(&exempt, &config).max_bytes,
            None,
            "0 is no limit"
        );
    }
}
