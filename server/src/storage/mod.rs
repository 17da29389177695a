//! Object storage, behind one trait: the embedded local backend today, S3-compatible
//! services next.
//!
//! The trait speaks in S3's terms (multipart upload, part, ETag) so that every backend
//! looks the same to the routes and to the widget.

mod error;
pub mod local;
pub mod s3;

use axum::Router;
pub use error::StorageError;
use partway::core::wire::{CompletedPart, SignedPart, StoredPart};
use partway::core::{ChecksumMode, Crc64, PartNumber, PartSum};
use std::time::Duration;

/// What completing an upload produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The object's size in bytes.
    pub size: u64,
    /// SHA-256 of the whole object, lower-case hex, when the backend computed it.
    pub sha256: Option<String>,
    /// Storage's own checksum of the object as it reports it, in the upload's mode (for
    /// S3 with per-part SHA-256 the composite `<base64>-<parts>`; in CRC-64/NVME mode
    /// the whole object's CRC, base64), when it has one.
    pub checksum: Option<String>,
}

/// A part a client may PUT: where it goes, its exact length and checksum.
#[derive(Debug, Clone, Copy)]
pub struct PartToSign<'a> {
    /// The object's key.
    pub key: &'a str,
    /// Storage's id of the upload.
    pub upload_id: &'a str,
    /// The file's checked type. A multipart upload gets it when created; an upload of
    /// one PutObject (as earlier versions made them on S3) gets it signed into that PUT,
    /// so the browser's own idea of the type cannot replace it.
    pub content_type: &'a str,
    /// Which part.
    pub part: PartNumber,
    /// Its exact length in bytes.
    pub len: u64,
    /// Its checksum, in the upload's mode, which storage then requires of the bytes.
    pub checksum: Option<PartSum>,
}

/// An object store that takes multipart uploads through presigned part URLs.
///
/// Errors are [`StorageError`]s: a wrong ETag is a part mismatch the client may fix;
/// a broken disk or an unreachable service is a failure for the log.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Starts an upload of `size` bytes in `part_count` parts to `key` whose parts carry
    /// checksums of `mode`; returns storage's id for it.
    async fn create_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        part_count: u32,
        mode: ChecksumMode,
    ) -> Result<String, StorageError>;

    /// Whether starting an upload of `size` bytes in `part_count` parts asks storage for
    /// nothing (S3's one-part file is one PutObject, signed later): such a create need not
    /// be refused before storage is asked, since asking costs nothing.
    fn starts_for_free(&self, _size: u64, _part_count: u32) -> bool {
        false
    }

    /// Whether a URL signed for an upload may still store bytes after the upload ended
    /// (S3's PutObject URL of a one-part file is good until it expires): the key of such
    /// an upload, cancelled or deleted, is deleted again once its URLs expired.
    fn urls_outlive_uploads(&self) -> bool {
        false
    }

    /// A URL that accepts one PUT of exactly `part.len` bytes as that part, until `ttl`
    /// has passed. With a checksum, storage rejects any other bytes, and the PUT must
    /// carry the headers returned with the URL.
    async fn sign_part(
        &self,
        part: &PartToSign<'_>,
        ttl: Duration,
    ) -> Result<SignedPart, StorageError>;

    /// The parts storage holds for an upload, in part order.
    async fn list_parts(&self, key: &str, upload_id: &str)
        -> Result<Vec<StoredPart>, StorageError>;

    /// Joins the parts into the object. `parts` must be exactly 1..=n in order, each
    /// with the ETag storage gave it; otherwise `part_mismatch` and nothing changes. In
    /// CRC-64/NVME mode, `full_object` is the whole object's CRC: storage refuses to
    /// join parts whose bytes do not have it (`checksum_mismatch`).
    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object: Option<Crc64>,
    ) -> Result<Assembled, StorageError>;

    /// [`Storage::complete`], with storage's own listing of the upload's parts taken
    /// just now by the caller, which a backend may use instead of asking again.
    async fn complete_listed(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object: Option<Crc64>,
        _listed: &[StoredPart],
    ) -> Result<Assembled, StorageError> {
        self.complete(key, upload_id, parts, full_object).await
    }

    /// The checksum `complete` must report for an object joined from `stored` (storage's
    /// own list of the upload's parts), when the backend can say in advance. An object
    /// found already joined is this upload's only if it matches.
    fn expected_checksum(&self, _upload_id: &str, _stored: &[StoredPart]) -> Option<String> {
        None
    }

    /// The object at `key` as storage holds it, with its checksum of `mode`, if it
    /// exists: what makes completing idempotent (an object already joined by an
    /// earlier, interrupted run is the result).
    async fn stat_object(
        &self,
        key: &str,
        mode: ChecksumMode,
    ) -> Result<Option<Assembled>, StorageError>;

    /// The SHA-256 (hex) of the whole object at `key`, read as a stream, if it exists:
    /// what checks a client's claim where storage keeps no whole-object SHA-256. Fails
    /// if reading takes longer than `within`.
    async fn object_sha256(
        &self,
        key: &str,
        _within: Duration,
    ) -> Result<Option<String>, StorageError> {
        Ok(self
            .stat_object(key, ChecksumMode::Sha256)
            .await?
            .and_then(|object| object.sha256))
    }

    /// Up to the first `len` bytes of the object at `key` (fewer for a smaller object):
    /// what sniffing its real type reads, without downloading it whole.
    async fn read_head(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError>;

    /// Stores `bytes` as the object at `key` (a file derived on the server, such as a
    /// thumbnail), replacing any earlier one.
    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError>;

    /// Cancels an upload and frees its parts. Aborting twice is not an error.
    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), StorageError>;

    /// A URL that downloads the object as an attachment named `file_name`, until `ttl`
    /// has passed.
    async fn sign_download(
        &self,
        key: &str,
        file_name: &str,
        ttl: Duration,
    ) -> Result<String, StorageError>;

    /// Deletes the object. Deleting a missing object is not an error.
    async fn delete_object(&self, key: &str) -> Result<(), StorageError>;

    /// Routes the backend serves itself (the local backend receives parts and serves
    /// downloads), already bound to their state; `None` for remote storage.
    fn router(&self) -> Option<Router> {
        None
    }
}

/// Checks that `parts` are exactly 1..=n in order: what S3's CompleteMultipartUpload
/// requires, shared by the route (which knows n) and backends.
pub fn check_part_order(parts: &[CompletedPart]) -> Result<(), StorageError> {
    for (i, part) in parts.iter().enumerate() {
        if part.part_number != PartNumber::from_index(i) {
            return Err(StorageError::PartMismatch(format!(
                "Parts must be listed once each, in order from 1; found part {} in position {}.",
                part.part_number,
                i + 1
            )));
        }
    }
    Ok(())
}

/// Whether two ETags are the same, ignoring the quotes some clients strip.
pub fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"') == b.trim_matches('"')
}

/// `attachment` with an ASCII-safe `filename` and the exact name in `filename*`
/// (RFC 6266), so any name downloads under its own name and none can break the header.
pub fn attachment_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '/') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
