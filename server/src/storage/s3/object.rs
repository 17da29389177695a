//! Whole objects: HEAD (size, ETag, checksum), download URLs, deletion, and the listing
//! an audit reads.

use super::{call::refusal, S3Storage, SERVER_CALL_TTL};
use crate::storage::{attachment_disposition, Assembled, StorageError};
use partway::core::wire::StoredPart;
use partway::core::{Checksum, ChecksumMode, Crc64, ETag, PartNumber};
use reqwest::{Method, StatusCode};
use rusty_s3::S3Action;
use std::time::Duration;

/// What a HEAD of an object says.
pub(super) struct Head {
    pub size: u64,
    pub etag: String,
    /// The checksum storage keeps for the object, in the mode asked for: with SHA-256
    /// the whole object's for a single PUT, the composite `<base64>-<parts>` for a
    /// multipart one; with CRC-64/NVME the whole object's.
    pub checksum: Option<String>,
}

impl Head {
    /// The object as the one part of a single PUT, with its checksum of `mode`.
    pub fn into_part(self, mode: ChecksumMode) -> StoredPart {
        let checksum = self.checksum.as_deref();
        StoredPart {
            part_number: PartNumber(1),
            etag: ETag(self.etag),
            size: self.size,
            sha256: checksum
                .filter(|_| mode == ChecksumMode::Sha256)
                .and_then(|c| Checksum::from_base64(c).ok()),
            crc64nvme: checksum
                .filter(|_| mode == ChecksumMode::Crc64nvme)
                .and_then(|c| Crc64::from_base64(c).ok()),
        }
    }

    /// The object as completing reports it.
    pub fn assembled(self) -> Assembled {
        // Only a single PUT's checksum is the whole object's SHA-256; a composite one
        // does not decode as a checksum.
        let sha256 = self
            .checksum
            .as_deref()
            .and_then(|c| Checksum::from_base64(c).ok())
            .map(|c| c.to_hex());
        Assembled {
            size: self.size,
            sha256,
            checksum: self.checksum,
        }
    }
}

impl S3Storage {
    /// The object at the full `key` (prefix included), with its checksum of `mode`, if
    /// it exists.
    pub(super) async fn head_object(
        &self,
        key: &str,
        mode: ChecksumMode,
    ) -> Result<Option<Head>, StorageError> {
        let mut action = self.bucket.head_object(Some(&self.credentials), key);
        action
            .headers_mut()
            .insert("x-amz-checksum-mode", "ENABLED");
        let answer = self
            .send(
                Method::HEAD,
                action.sign(SERVER_CALL_TTL),
                &[("x-amz-checksum-mode", "ENABLED")],
                None,
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(refusal(answer.status, &answer.body));
        }
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let size = header("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StorageError::failed("HEAD answered without a Content-Length"))?;
        Ok(Some(Head {
            size,
            etag: header("etag").unwrap_or_default(),
            checksum: header(mode.header()),
        }))
    }

    /// The first `len` bytes of the object at the full `key`, by a ranged GET.
    pub(super) async fn object_head(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SERVER_CALL_TTL);
        let range = format!("bytes=0-{}", len.saturating_sub(1));
        let res = self
            .http
            .get(url)
            .header("range", range)
            .send()
            .await
            .map_err(|e| StorageError::failed(format_args!("GET: {}", e.without_url())))?;
        let status = res.status();
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            // An empty object has no first byte.
            return Ok(Vec::new());
        }
        if !status.is_success() {
            let body = res.text().await.unwrap_or_default();
            return Err(refusal(status, &body));
        }
        // Read as a stream and stop at `len`: a storage that ignores Range sends the
        // whole object, which must not end up in memory.
        let want = usize::try_from(len).unwrap_or(usize::MAX);
        let mut head = Vec::new();
        let mut res = res;
        while head.len() < want {
            let chunk = res
                .chunk()
                .await
                .map_err(|e| StorageError::failed(format_args!("GET: {}", e.without_url())))?;
            let Some(chunk) = chunk else { break };
            head.extend_from_slice(&chunk[..chunk.len().min(want - head.len())]);
        }
        Ok(head)
    }

    /// The SHA-256 (hex) of the object at the full `key`, from one GET read as a stream
    /// (never whole in memory), if it exists; a GET that takes longer than `within` fails
    /// (the client's own timeout is for calls, not for reading a large object).
    pub(super) async fn object_digest(
        &self,
        key: &str,
        within: Duration,
    ) -> Result<Option<String>, StorageError> {
        use sha2::{Digest, Sha256};
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SERVER_CALL_TTL);
        let failed =
            |e: reqwest::Error| StorageError::failed(format_args!("GET: {}", e.without_url()));
        let get = self.http.get(url).timeout(within);
        let mut res = get.send().await.map_err(failed)?;
        let status = res.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = res.text().await.unwrap_or_default();
            return Err(refusal(status, &body));
        }
        let mut hasher = Sha256::new();
        while let Some(chunk) = res.chunk().await.map_err(failed)? {
            hasher.update(&chunk);
        }
        Ok(Some(
            Checksum::from_bytes(hasher.finalize().into()).to_hex(),
        ))
    }

    /// Stores `bytes` at the full `key` with one PutObject.
    pub(super) async fn put_key(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        action.headers_mut().insert("content-type", content_type);
        let res = self
            .http
            .put(action.sign(SERVER_CALL_TTL))
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| StorageError::failed(format_args!("PUT: {}", e.without_url())))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let body = res.text().await.unwrap_or_default();
        Err(refusal(status, &body))
    }

    /// A GET URL that downloads `key` as an attachment named `file_name`.
    pub(super) fn download_url(&self, key: &str, file_name: &str, ttl: Duration) -> String {
        let key = self.key(key);
        let disposition = attachment_disposition(file_name);
        let mut action = self.bucket.get_object(Some(&self.credentials), &key);
        action
            .query_mut()
            .insert("response-content-disposition", disposition.as_str());
        action.sign(ttl).to_string()
    }

    /// Deletes the object at the full `key`; a missing one is not an error.
    pub(super) async fn delete_key(&self, key: &str) -> Result<(), StorageError> {
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), key)
            .sign(SERVER_CALL_TTL);
        match self.call(Method::DELETE, url, &[], None).await {
            Ok(_) | Err(StorageError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every object key under this storage's prefix (without the prefix): what an audit
    /// compares with the files recorded. Bounded at 100 pages of 1,000.
    pub async fn object_keys(&self) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100 {
            let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
            action.with_prefix(self.prefix.as_str());
            if let Some(t) = &token {
                action.with_continuation_token(t.as_str());
            }
            let answer = self
                .call(Method::GET, action.sign(SERVER_CALL_TTL), &[], None)
                .await?;
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&answer.body)
                .map_err(|e| StorageError::failed(format_args!("listing objects: {e}")))?;
            keys.extend(
                page.contents
                    .into_iter()
                    .filter_map(|o| o.key.strip_prefix(self.prefix.as_str()).map(str::to_string)),
            );
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return Ok(keys),
            }
        }
        Err(StorageError::failed(
            "more than 100,000 objects under the prefix",
        ))
    }
}
