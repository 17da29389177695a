//! The server's own calls to storage: send a signed request, read the answer, and turn
//! S3's error answers into [`StorageError`]s.

use super::{xml, S3Storage};
use crate::storage::StorageError;
use reqwest::{Method, StatusCode};
use url::Url;

/// An answer from storage: status, headers and body text.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl S3Storage {
    /// Sends one server-side call through a signed URL; a non-2xx answer is an error.
    pub(super) async fn call(
        &self,
        method: Method,
        url: Url,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, StorageError> {
        let answer = self.send(method, url, headers, body).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(refusal(answer.status, &answer.body))
        }
    }

    /// Sends one server-side call and returns whatever storage answered.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, StorageError> {
        let mut req = self.http.request(method, url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req.send().await.map_err(|e| {
            StorageError::failed(format_args!("storage unreachable: {}", e.without_url()))
        })?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.map_err(|e| {
            StorageError::failed(format_args!("storage answer: {}", e.without_url()))
        })?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// What an S3 error answer means for the upload.
pub(super) fn refusal(status: StatusCode, body: &str) -> StorageError {
    let err = xml::parse_error(body);
    let code = err.as_ref().map(|e| e.code.as_str()).unwrap_or("");
    let message = err.as_ref().map(|e| e.message.clone()).unwrap_or_default();
    match code {
        "NoSuchUpload" | "NoSuchKey" => {
            StorageError::NotFound("Storage no longer holds this upload.".into())
        }
        "InvalidDigest" | "BadDigest" | "XAmzContentChecksumMismatch" => {
            StorageError::ChecksumMismatch(format!("Storage refused the bytes: {message}"))
        }
        "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" => {
            StorageError::PartMismatch(format!("Storage refused the parts: {message}"))
        }
        _ => StorageError::failed(format_args!("storage answered {status}: {code} {message}")),
    }
}
