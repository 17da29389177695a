//! The one error type of the API, and how it becomes an HTTP answer.
//!
//! Every failure a person can cause carries a message written for them, because the
//! widget shows it as is. Internal failures are logged with their detail and answered
//! with a generic sentence, so nothing about the server leaks.

use crate::storage::StorageError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use partway::core::format;
use partway::core::wire::{BatchResult, ErrorBody, ErrorCode, ErrorDetail};

/// Why a request failed. The `Display` text is the message sent to the client, except
/// for [`ApiError::Internal`], whose text is only logged.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or inconsistent request (400).
    #[error("{0}")]
    InvalidRequest(String),
    /// A route exists but not for this method (405, code `invalid_request`).
    #[error("This address does not accept that method.")]
    MethodNotAllowed,
    /// Missing, malformed, forged or expired token (401).
    #[error("{0}")]
    Unauthorized(String),
    /// No such upload, file or route for this user (404). Someone else's ids answer
    /// this too, so that ids cannot be probed.
    #[error("{0}")]
    NotFound(String),
    /// Larger than `--max-file-size` (413).
    #[error("This file is {}; the limit is {}.", format::bytes(*size), format::bytes(*limit))]
    FileTooLarge {
        /// The file's size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// A type outside `--allowed-types` (415).
    #[error("Files of type {content_type} are not accepted here.")]
    TypeNotAllowed {
        /// The type the client declared.
        content_type: String,
    },
    /// The user's quota would be exceeded. 403, not 413: the request itself is fine,
    /// the person is not allowed to store more, and retrying the same file won't help.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The upload is completed or aborted (409).
    #[error("{0}")]
    UploadNotActive(String),
    /// The file is quarantined (409).
    #[error("{0}")]
    Quarantined(String),
    /// The parts named at complete do not match what storage holds (400).
    #[error("{0}")]
    PartMismatch(String),
    /// The bytes do not hash to the signed checksum (400).
    #[error("{0}")]
    ChecksumMismatch(String),
    /// A signed URL that is forged or tampered with, or a signed header that differs (403).
    #[error("{0}")]
    SignatureInvalid(String),
    /// A signed URL past its expiry (403).
    #[error("This link has expired; ask for a new one.")]
    UrlExpired,
    /// The user has `--max-active-uploads` uploads in progress (429, with `Retry-After`).
    #[error("{0}")]
    TooManyUploads(String),
    /// Too many requests from this user or address (429, with `Retry-After`).
    #[error("Too many requests; try again in {retry_after} seconds.")]
    RateLimited {
        /// Seconds until a request is let through again.
        retry_after: u64,
    },
    /// A request body that stopped arriving (408).
    #[error("{0}")]
    Stalled(String),
    /// Another request is working on this upload right now (503, with `Retry-After`).
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on the server (500). The detail is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code of the error body.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::InvalidRequest(_) | ApiError::MethodNotAllowed => ErrorCode::InvalidRequest,
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::FileTooLarge { .. } => ErrorCode::FileTooLarge,
            ApiError::TypeNotAllowed { .. } => ErrorCode::TypeNotAllowed,
            ApiError::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            ApiError::UploadNotActive(_) => ErrorCode::UploadNotActive,
            ApiError::Quarantined(_) => ErrorCode::Quarantined,
            ApiError::PartMismatch(_) => ErrorCode::PartMismatch,
            ApiError::ChecksumMismatch(_) => ErrorCode::ChecksumMismatch,
            ApiError::SignatureInvalid(_) => ErrorCode::SignatureInvalid,
            ApiError::UrlExpired => ErrorCode::UrlExpired,
            ApiError::Unavailable(_) => ErrorCode::Busy,
            ApiError::Stalled(_) => ErrorCode::InvalidRequest,
            ApiError::TooManyUploads(_) => ErrorCode::TooManyUploads,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The HTTP status of the answer.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest(_)
            | ApiError::PartMismatch(_)
            | ApiError::ChecksumMismatch(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TypeNotAllowed { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::QuotaExceeded(_) | ApiError::SignatureInvalid(_) | ApiError::UrlExpired => {
                StatusCode::FORBIDDEN
            }
            ApiError::UploadNotActive(_) | ApiError::Quarantined(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Stalled(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyUploads(_) | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A `400 invalid_request` with a message for the person.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest(message.into())
    }

    /// A `500` whose detail goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }

    /// The message sent to the client.
    fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "Something went wrong on the server. Please try again later.".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::internal(format_args!("database: {e}"))
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::PartMismatch(m) => ApiError::PartMismatch(m),
            StorageError::ChecksumMismatch(m) => ApiError::ChecksumMismatch(m),
            StorageError::NotFound(m) => ApiError::NotFound(m),
            StorageError::Failed(detail) => ApiError::internal(format_args!("storage: {detail}")),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::internal(format_args!("i/o: {e}"))
    }
}

impl ApiError {
    /// Seconds the client should wait before asking again, when it should.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after } => Some(*retry_after),
            _ if self.status_code() == StatusCode::SERVICE_UNAVAILABLE => Some(1),
            // Other uploads of the person have to end first.
            _ if self.status_code() == StatusCode::TOO_MANY_REQUESTS => Some(10),
            _ => None,
        }
    }

    /// The code and message the client gets; an internal error's detail goes to the log.
    pub fn detail(&self) -> ErrorDetail {
        if let ApiError::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        ErrorDetail {
            code: self.code(),
            message: self.public_message(),
        }
    }

    /// This error as one result of a batch: what the call alone would have answered.
    pub fn into_batch_result<T>(self) -> BatchResult<T> {
        BatchResult::Refused {
            status: self.status_code().as_u16(),
            error: self.detail(),
            retry_after: self.retry_after(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = ErrorBody {
            error: self.detail(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
            .extensions_mut()
            .insert(crate::metrics::AnsweredCode(self.code()));
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: tell the client which scheme to use.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The answer for unknown `/api` routes: JSON, like every other API error.
pub async fn api_not_found() -> ApiError {
    ApiError::NotFound("There is no such API call.".into())
}

/// The answer for a known `/api` route called with the wrong method.
pub async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_reads_as_a_sentence() {
        let e = ApiError::FileTooLarge {
            size: 12 * (1 << 30),
            limit: 10 * (1 << 30),
        };
        assert_eq!(
            e.to_string(),
            "This file is 12.0 GiB; the limit is 10.0 GiB."
        );
        assert_eq!(e.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn internal_detail_is_not_sent() {
        let e = ApiError::internal("disk on fire at /secret/path");
        assert!(!e.public_message().contains("secret"));
    }
}
