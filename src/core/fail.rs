//! Why a file failed: a code for programs (the `code` of a `partway-error` event) and a
//! reason the UI words for the person. The core writes no sentences of its own; the
//! only words it carries are those others wrote (the server's message, the browser's
//! reading error, the element's refusal).

use crate::core::ids::PartNumber;
use crate::core::restrict::Rejection;
use crate::core::retry::Failure;
use crate::core::wire::ErrorCode;

/// Why a file stopped for good, for the UI to word.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailReason {
    /// Words already written for the person: the server's error message, the browser's
    /// own reading error, or the element's refusal.
    Told {
        /// The words.
        words: String,
    },
    /// A refusal that came without words.
    Status {
        /// Its HTTP status.
        status: u16,
    },
    /// The connection kept failing.
    Network,
    /// Requests kept going unanswered.
    Timeout,
    /// A part kept failing until its retries ran out; the last failure says why.
    PartGaveUp {
        /// Which part.
        part: PartNumber,
        /// How many times it was sent.
        attempts: u32,
        /// The last failure.
        last: Box<FailReason>,
    },
    /// A part's signed URL kept expiring before it could be used.
    UrlsKeptExpiring {
        /// Which part.
        part: PartNumber,
        /// How many times in a row.
        times: u32,
    },
}

impl FailReason {
    /// Words someone else wrote for the person.
    pub fn told(words: impl Into<String>) -> Self {
        FailReason::Told {
            words: words.into(),
        }
    }

    /// The reason of a request failure.
    pub fn of(failure: &Failure) -> Self {
        match failure {
            Failure::Network => FailReason::Network,
            Failure::Timeout => FailReason::Timeout,
            Failure::Status {
                message: Some(m), ..
            } => FailReason::told(m),
            Failure::Status { status, .. } => FailReason::Status { status: *status },
        }
    }
}

/// The reason a file stopped for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailCode {
    /// The connection kept failing.
    Network,
    /// Requests kept going unanswered.
    Timeout,
    /// Signed URLs kept expiring before use (usually a wrong clock).
    UrlExpired,
    /// The browser could not read the file (moved, changed or deleted).
    Unreadable,
    /// The server refused, with one of the API's codes.
    Server(ErrorCode),
    /// Storage or a proxy refused with a bare HTTP status.
    Http(u16),
    /// The element's own restrictions refused it before any request.
    Restricted(Rejection),
}

impl FailCode {
    /// The code of a request failure.
    pub fn of(failure: &Failure) -> Self {
        match failure {
            Failure::Network => FailCode::Network,
            Failure::Timeout => FailCode::Timeout,
            Failure::Status {
                code: Some(code), ..
            } => FailCode::Server(*code),
            Failure::Status { status, .. } => FailCode::Http(*status),
        }
    }

    /// The code as events and the `files` snapshot spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailCode::Network => "network",
            FailCode::Timeout => "timeout",
            FailCode::UrlExpired => "url_expired",
            FailCode::Unreadable => "file_unreadable",
            FailCode::Server(code) => code.as_str(),
            FailCode::Http(_) => "http_error",
            FailCode::Restricted(r) => r.code(),
        }
    }

    /// Whether trying the file again later can succeed without changing anything: a
    /// network or server trouble, unlike a file the server will never accept.
    pub fn retryable(self) -> bool {
        match self {
            FailCode::Network | FailCode::Timeout | FailCode::UrlExpired => true,
            FailCode::Unreadable | FailCode::Restricted(_) => false,
            FailCode::Server(code) => matches!(
                code,
                ErrorCode::Internal
                    | ErrorCode::Unauthorized
                    | ErrorCode::UrlExpired
                    | ErrorCode::ChecksumMismatch
                    | ErrorCode::PartMismatch
                    | ErrorCode::NotFound
                    | ErrorCode::UploadNotActive
                    | ErrorCode::Busy
                    | ErrorCode::TooManyUploads
                    | ErrorCode::RateLimited
                    | ErrorCode::Unknown
            ),
            FailCode::Http(status) => matches!(status, 401 | 403 | 408 | 429 | 500..=599),
        }
    }
}

impl serde::Serialize for FailCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_failures() {
        assert_eq!(FailCode::of(&Failure::Network).as_str(), "network");
        assert_eq!(FailCode::of(&Failure::Timeout).as_str(), "timeout");
        let too_large = Failure::refused(413, ErrorCode::FileTooLarge, "Too large.");
        assert_eq!(FailCode::of(&too_large).as_str(), "file_too_large");
        assert!(!FailCode::of(&too_large).retryable());
        assert_eq!(FailCode::of(&Failure::status(502)), FailCode::Http(502));
        assert!(FailCode::of(&Failure::status(502)).retryable());
        assert!(!FailCode::of(&Failure::status(400)).retryable());
    }
}
