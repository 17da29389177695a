//! The HTTP contract between widget and companion server, version 1.
//!
//! Both crates use these types, so the contract cannot drift. All bodies are JSON;
//! field names are snake_case. README.md's "HTTP API" section documents each call.

use crate::core::checksum::Checksum;
use crate::core::crc64::Crc64;
use crate::core::ids::{ETag, FileId, PartNumber, SignedUrl, UploadId};
use crate::core::part_sum::{ChecksumMode, PartSum};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /api/uploads`: what the client knows of the file, and the plan it proposes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateUploadRequest {
    /// The file's name as the person's system gave it; only shown, never a storage key.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type as the browser reported it (may be empty).
    #[serde(default)]
    pub content_type: String,
    /// `File.lastModified`, milliseconds since the Unix epoch.
    #[serde(default)]
    pub last_modified: Option<u64>,
    /// Part size the client planned; the server checks it against storage's limits.
    pub part_size: u64,
    /// Checksums of the first parts, so their URLs come back in the same answer.
    #[serde(default)]
    pub parts: Vec<PartChecksum>,
    /// How storage checks the bytes. When absent: the mode of `parts`, else the
    /// server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ChecksumMode>,
}

/// One part's checksum, to be signed into its URL: `{"part_number": 1, "sha256": …}`
/// or `{"part_number": 1, "crc64nvme": …}`, base64, in the upload's mode.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartChecksum {
    /// Which part.
    pub part_number: PartNumber,
    /// The checksum of the part's bytes.
    #[serde(flatten)]
    pub sum: PartSum,
}

/// The answer to `POST /api/uploads`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateUploadResponse {
    /// The upload's id, for the calls that follow.
    pub upload_id: UploadId,
    /// Part size, as accepted.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u32,
    /// Signed URLs for the parts whose checksums came with the request.
    pub parts: Vec<SignedPart>,
    /// The upload's checksum mode: every part's checksum must be of this kind.
    #[serde(default)]
    pub checksum: ChecksumMode,
}

/// `POST /api/uploads/{id}/parts`: parts to sign.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignPartsRequest {
    /// The parts, each with its checksum.
    pub parts: Vec<PartChecksum>,
}

/// The answer to `POST /api/uploads/{id}/parts`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignPartsResponse {
    /// One signed URL per requested part.
    pub parts: Vec<SignedPart>,
}

/// Where and how to PUT one part.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedPart {
    /// Which part.
    pub part_number: PartNumber,
    /// The presigned URL; a credential until it expires.
    pub url: SignedUrl,
    /// Headers the PUT must carry exactly, because they are signed
    /// (for example `x-amz-checksum-sha256`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Seconds from the answer until the URL stops working. Relative, so that a client
    /// whose clock is off still knows when to sign again.
    pub expires_in: u64,
}

/// `POST /api/uploads/{id}/complete`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteUploadRequest {
    /// Every part with the ETag storage answered, in part order.
    pub parts: Vec<CompletedPart>,
    /// In CRC-64/NVME mode, the whole file's CRC as the client combined it from the
    /// parts': storage checks the joined object against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<Crc64>,
    /// The whole file's SHA-256 (base64) as the client read it, when it was asked to
    /// compute one: the client's claim, which the server checks against the stored bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Checksum>,
}

/// A part storage confirmed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedPart {
    /// Which part.
    pub part_number: PartNumber,
    /// The ETag storage answered for it.
    pub etag: ETag,
}

/// The answer to `POST /api/uploads/{id}/complete`, and to a repeat of it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompleteUploadResponse {
    /// The stored file.
    pub file: FileInfo,
    /// A signed URL that downloads it, valid for `expires_in` seconds.
    pub download_url: String,
    /// Lifetime of `download_url`, in seconds.
    pub expires_in: u64,
}

/// The most calls one batch may carry.
pub const MAX_BATCH: usize = 100;

/// `POST /api/uploads/batch`: several uploads started in one call, as many small files
/// picked together make them. Each is checked and answered on its own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateUploadsRequest {
    /// The uploads, 1 to [`MAX_BATCH`], each as `POST /api/uploads` takes it.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub uploads: Vec<CreateUploadRequest>,
}

/// `POST /api/uploads/batch/complete`: several uploads completed in one call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteUploadsRequest {
    /// The uploads, 1 to [`MAX_BATCH`], each as `POST /api/uploads/{id}/complete` takes it.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100))]
    pub uploads: Vec<CompleteUploadItem>,
}

/// One upload to complete, within a batch.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteUploadItem {
    /// Which upload.
    pub upload_id: UploadId,
    /// What completing it takes.
    #[serde(flatten)]
    pub request: CompleteUploadRequest,
}

/// The answer to a batch: one result per call, in the order asked.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse<T> {
    /// What each call would have answered alone.
    pub results: Vec<BatchResult<T>>,
}

/// One call's result within a batch: `{"ok": …}`, or the status, error and wait that
/// the call alone would have been refused with.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchResult<T> {
    /// The call's answer.
    Done {
        /// The answer.
        ok: T,
    },
    /// The call's refusal.
    Refused {
        /// The HTTP status the call alone would have answered.
        status: u16,
        /// Its code and message.
        error: ErrorDetail,
        /// Seconds to wait before asking again (its `Retry-After`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

/// `GET /api/uploads/{id}`: what storage holds of an upload, for resuming.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadStatus {
    /// The upload's id.
    pub upload_id: UploadId,
    /// `active`, `completed` or `aborted`.
    pub state: UploadState,
    /// Part size.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u32,
    /// The parts storage holds.
    pub parts: Vec<StoredPart>,
    /// The upload's checksum mode: the parts still to send are summed this way.
    #[serde(default)]
    pub checksum: ChecksumMode,
}

/// Where an upload stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// Parts may still be sent.
    Active,
    /// Storage is joining the parts: ask `complete` again for the file.
    Completing,
    /// The file exists.
    Completed,
    /// Cancelled; storage freed the parts.
    Aborted,
}

/// A part that storage holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPart {
    /// Which part.
    pub part_number: PartNumber,
    /// Its ETag.
    pub etag: ETag,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256 as storage computed it, when storage keeps one: what a resuming
    /// client compares with the checksum it recorded for the part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Checksum>,
    /// Its CRC-64/NVME as storage computed it, in that mode, when storage keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<Crc64>,
}

impl StoredPart {
    /// Storage's checksum of the part in `mode`, when it lists one.
    pub fn sum(&self, mode: ChecksumMode) -> Option<PartSum> {
        match mode {
            ChecksumMode::Sha256 => self.sha256.map(PartSum::Sha256),
            ChecksumMode::Crc64nvme => self.crc64nvme.map(PartSum::Crc64nvme),
        }
    }
}

/// A stored file, as `GET /api/files` lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The file's id.
    pub id: FileId,
    /// Name as uploaded.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type as uploaded.
    pub content_type: String,
    /// SHA-256 of the whole file, hex, when the server knows it from the stored bytes:
    /// the local backend computes it at complete, S3 reports it for a one-part file, and
    /// otherwise the checks after upload compute it when the client sent a claim
    /// (`client_sha256`).
    pub sha256: Option<String>,
    /// The whole file's SHA-256, hex, as the client computed it before sending, when
    /// it was asked to (`file-sha256`). The server refuses or quarantines a file whose
    /// stored bytes differ from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_sha256: Option<String>,
    /// Storage's own checksum of the object, as it reports it, when it has one: with
    /// per-part SHA-256 on S3 the composite `<base64>-<parts>`; in CRC-64/NVME mode the
    /// whole object's CRC, base64.
    #[serde(default)]
    pub checksum: Option<String>,
    /// How storage checked the bytes: the kind of `checksum`.
    #[serde(default)]
    pub checksum_mode: ChecksumMode,
    /// Where the checks after upload stand.
    #[serde(default)]
    pub processing: Processing,
    /// The type the file's first bytes show, when they show one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_type: Option<String>,
    /// Why the file was quarantined, or its processing failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_note: Option<String>,
    /// Whether it has a thumbnail (images; `GET /api/files/{id}` signs its URL).
    #[serde(default)]
    pub has_thumbnail: bool,
    /// When the upload completed, seconds since the Unix epoch.
    pub created_at: i64,
}

/// Where the checks after upload stand (the server runs them as background jobs:
/// the object verified in storage, its real type sniffed from its first bytes).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Processing {
    /// Stored; the checks have not run yet.
    Pending,
    /// Checked: the object is whole and its content is what was declared.
    #[default]
    Done,
    /// Its content is not what was declared or allowed, or storage holds other bytes:
    /// kept for an operator, not served.
    Quarantined,
    /// The checks could not run (storage kept failing); the file is served as it is.
    Failed,
    /// A state this client does not know yet (a newer server).
    #[serde(other)]
    Unknown,
}

impl Processing {
    /// The state as the JSON and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Processing::Pending => "pending",
            Processing::Done => "done",
            Processing::Quarantined => "quarantined",
            Processing::Failed => "failed",
            Processing::Unknown => "unknown",
        }
    }
}

/// `GET /api/usage`: what the caller stores and is uploading, against their quota.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Bytes of the caller's stored files.
    pub used_bytes: u64,
    /// How many files the caller stores.
    pub used_files: u64,
    /// Bytes reserved by the caller's uploads in progress (their declared sizes).
    pub reserved_bytes: u64,
    /// How many uploads the caller has in progress.
    pub reserved_files: u64,
    /// The most bytes stored and reserved together; `None` for no limit.
    pub max_bytes: Option<u64>,
    /// The most files stored and in progress together; `None` for no limit.
    pub max_files: Option<u64>,
}

/// `GET /api/files`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileList {
    /// The caller's files, newest first.
    pub files: Vec<FileInfo>,
}

/// `GET /api/files/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileDownload {
    /// The file.
    pub file: FileInfo,
    /// A signed URL that downloads it.
    pub download_url: String,
    /// Lifetime of `download_url`, in seconds.
    pub expires_in: u64,
    /// A signed URL of its thumbnail (PNG, at most 256 pixels a side), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// A change to the caller's files, as `GET /api/events` sends it: the server-sent
/// event's `id` is `id`, its `event` is `type`, and its `data` is this, as JSON.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemoteEvent {
    /// Its number in the caller's stream, which `Last-Event-ID` resumes after.
    pub id: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The file, for `file.created` and `file.deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// The upload, for `upload.created` and `upload.aborted`; for `file.created`, the
    /// upload that stored the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadSummary>,
}

/// What a [`RemoteEvent`] tells of.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A file was stored (an upload completed).
    #[serde(rename = "file.created")]
    FileCreated,
    /// A file was deleted.
    #[serde(rename = "file.deleted")]
    FileDeleted,
    /// A file's checks after upload ended (see its `processing`).
    #[serde(rename = "file.processed")]
    FileProcessed,
    /// An upload started.
    #[serde(rename = "upload.created")]
    UploadCreated,
    /// An upload was cancelled, or given up as abandoned.
    #[serde(rename = "upload.aborted")]
    UploadAborted,
    /// A kind this client does not know yet (a newer server).
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The type as the stream spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FileCreated => "file.created",
            EventKind::FileDeleted => "file.deleted",
            EventKind::FileProcessed => "file.processed",
            EventKind::UploadCreated => "upload.created",
            EventKind::UploadAborted => "upload.aborted",
            EventKind::Unknown => "unknown",
        }
    }
}

/// An upload, as an event tells of it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSummary {
    /// The upload's id.
    pub id: UploadId,
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// `POST /api/events/ticket`: what opens the event stream from a browser, whose
/// `EventSource` cannot send an `Authorization` header.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTicket {
    /// Goes in `GET /api/events?ticket=…`; good for opening a stream only.
    pub ticket: String,
    /// Seconds until it can no longer open one (a stream already open stays open).
    pub expires_in: u64,
}

/// `POST /api/dev/token` (dev mode only).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevTokenRequest {
    /// The user to act as.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._-]{1,64}$"))]
    pub user: String,
}

/// A bearer token, for the `Authorization` header.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token.
    pub token: String,
}

/// Every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A machine-readable code and a message for the person.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable code that clients may match on.
    pub code: ErrorCode,
    /// A sentence to show the person.
    pub message: String,
}

/// The stable error codes of the API.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed or inconsistent request.
    InvalidRequest,
    /// Missing, malformed, forged or expired token.
    Unauthorized,
    /// No such upload or file for this user.
    NotFound,
    /// Larger than the server's limit.
    FileTooLarge,
    /// A file type the server does not accept.
    TypeNotAllowed,
    /// The user's storage quota would be exceeded.
    QuotaExceeded,
    /// The upload is completed or aborted.
    UploadNotActive,
    /// The parts sent at complete do not match what storage holds.
    PartMismatch,
    /// The bytes do not match the signed checksum.
    ChecksumMismatch,
    /// A signed URL that is forged or tampered with.
    SignatureInvalid,
    /// A signed URL past its expiry.
    UrlExpired,
    /// The file is quarantined: its content is not what was declared or allowed (409).
    Quarantined,
    /// Something broke on the server; details are in its log.
    Internal,
    /// The server is busy with this upload (being completed): ask again shortly (503).
    Busy,
    /// The user has as many uploads in progress as the server allows (429).
    TooManyUploads,
    /// Too many requests from this user or address: wait `Retry-After` seconds (429).
    RateLimited,
    /// A code this client does not know yet (a newer server): its message still shows.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as the JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::FileTooLarge => "file_too_large",
            ErrorCode::TypeNotAllowed => "type_not_allowed",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::UploadNotActive => "upload_not_active",
            ErrorCode::PartMismatch => "part_mismatch",
            ErrorCode::ChecksumMismatch => "checksum_mismatch",
            ErrorCode::SignatureInvalid => "signature_invalid",
            ErrorCode::UrlExpired => "url_expired",
            ErrorCode::Quarantined => "quarantined",
            ErrorCode::Internal => "internal",
            ErrorCode::Busy => "busy",
            ErrorCode::TooManyUploads => "too_many_uploads",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::QuotaExceeded,
                message: "Full.".into(),
            },
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"error":{"code":"quota_exceeded","message":"Full."}}"#
        );
    }

    #[test]
    fn codes_spell_as_their_json_and_unknown_ones_still_parse() {
        for code in [
            ErrorCode::FileTooLarge,
            ErrorCode::UrlExpired,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"teapot","message":"Short and stout."}}"#)
                .unwrap();
        assert_eq!(body.error.code, ErrorCode::Unknown);
    }

    #[test]
    fn create_request_defaults_optional_fields() {
        let req: CreateUploadRequest =
            serde_json::from_str(r#"{"name":"a.txt","size":3,"part_size":3}"#).unwrap();
        assert_eq!((req.content_type.as_str(), req.parts.len()), ("", 0));
        assert_eq!(req.checksum, None);
    }

    #[test]
    fn part_checksums_are_fields_beside_the_part_number() {
        let sha: PartChecksum = serde_json::from_str(
            r#"{"part_number":2,"sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}"#,
        )
        .unwrap();
        assert_eq!(sha.sum, PartSum::Sha256(Checksum::of(b"")));
        let crc = PartChecksum {
            part_number: PartNumber(1),
            sum: PartSum::Crc64nvme(Crc64::of(b"123456789")),
        };
        assert_eq!(
            serde_json::to_string(&crc).unwrap(),
            r#"{"part_number":1,"crc64nvme":"rosUhgp5mIg="}"#
        );
        assert!(serde_json::from_str::<PartChecksum>(r#"{"part_number":1}"#).is_err());
    }

    #[test]
    fn signed_part_round_trips_with_its_checksum_header() {
        let part = SignedPart {
            part_number: PartNumber(2),
            url: SignedUrl::new("http://x/p?sig=1"),
            headers: [(
                "x-amz-checksum-sha256".to_string(),
                Checksum::of(b"x").to_base64(),
            )]
            .into(),
            expires_in: 900,
        };
        let back: SignedPart =
            serde_json::from_str(&serde_json::to_string(&part).unwrap()).unwrap();
        assert_eq!(back, part);
    }

    #[test]
    fn batch_results_read_as_the_answer_or_the_refusal() {
        let body = r#"{"results":[{"ok":{"token":"t"}},
            {"status":429,"error":{"code":"rate_limited","message":"Wait."},"retry_after":2}]}"#;
        let back: BatchResponse<TokenResponse> = serde_json::from_str(body).unwrap();
        assert_eq!(
            back.results,
            vec![
                BatchResult::Done {
                    ok: TokenResponse { token: "t".into() }
                },
                BatchResult::Refused {
                    status: 429,
                    error: ErrorDetail {
                        code: ErrorCode::RateLimited,
                        message: "Wait.".into()
                    },
                    retry_after: Some(2),
                },
            ]
        );
        let item = CompleteUploadItem {
            upload_id: UploadId("u".into()),
            request: CompleteUploadRequest {
                parts: vec![],
                crc64nvme: None,
                sha256: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"upload_id":"u","parts":[]}"#
        );
    }
}
