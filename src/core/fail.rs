//! Why a file failed, as a code for programs (the `code` of a `partway-error` event),
//! kept apart from the sentence shown to the person.

use crate::core::restrict::Rejection;
use crate::core::retry::Failure;
use crate::core::wire::ErrorCode;

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
