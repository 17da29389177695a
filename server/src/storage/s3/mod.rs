//! S3-compatible storage (AWS S3, Cloudflare R2, MinIO, Garage): presigned URLs for the
//! browser's PUTs and downloads, and the server-side multipart calls.
//!
//! rusty-s3 signs (SigV4, no I/O of its own); reqwest sends the server's own calls
//! through those signed URLs. Uploads are created with the SHA-256 checksum algorithm
//! and each part's checksum is signed into its URL, so storage itself refuses a part
//! whose bytes differ. Small files of one part go up as a plain PutObject, checksummed
//! too.

//!
//! One file per kind of action: `upload` (create, sign parts, list, complete, abort),
//! `object` (HEAD, download, delete, listing), `cors` (the bucket's rules), `call`
//! (sending a signed request and reading S3's errors).

mod call;
mod cors;
mod object;
mod upload;
mod xml;

use crate::config::S3Config;
use crate::storage::{Assembled, PartToSign, Storage, StorageError};
use partway::core::wire::{CompletedPart, SignedPart, StoredPart};
use partway::core::{ChecksumMode, Crc64};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use std::time::Duration;
use upload::Upload;
use url::Url;
/// Lifetime of the URLs the server signs for its own calls.
const SERVER_CALL_TTL: Duration = Duration::from_secs(60);

/// Why the S3 backend could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum S3SetupError {
    /// A required setting is missing.
    #[error("--{0} is required with --storage s3")]
    Missing(&'static str),
    /// The endpoint is not an http(s) URL or the bucket name is unusable.
    #[error("S3 endpoint or bucket: {0}")]
    Bucket(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// An S3-compatible bucket.
pub struct S3Storage {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    http: reqwest::Client,
}

impl S3Storage {
    /// Connects nothing yet: checks the settings and prepares the signer and client.
    pub fn new(config: &S3Config) -> Result<S3Storage, S3SetupError> {
        // reqwest is built without a default TLS provider; ring is the light one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = config
            .endpoint
            .as_deref()
            .ok_or(S3SetupError::Missing("s3-endpoint"))?;
        let name = config
            .bucket
            .clone()
            .ok_or(S3SetupError::Missing("s3-bucket"))?;
        let key = config
            .access_key_id
            .clone()
            .ok_or(S3SetupError::Missing("s3-access-key-id"))?;
        let secret = config
            .secret_access_key
            .clone()
            .ok_or(S3SetupError::Missing("s3-secret-access-key"))?;
        let endpoint: Url = endpoint
            .parse()
            .map_err(|e| S3SetupError::Bucket(format!("{endpoint}: {e}")))?;
        let style = if config.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint, style, name, config.region.clone())
            .map_err(|e| S3SetupError::Bucket(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| S3SetupError::Client(e.to_string()))?;
        Ok(S3Storage {
            bucket,
            credentials: Credentials::new(key, secret),
            prefix: config.prefix.clone(),
            http,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait::async_trait]
impl Storage for S3Storage {
    async fn create_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        part_count: u32,
        mode: ChecksumMode,
    ) -> Result<String, StorageError> {
        if self.starts_for_free(size, part_count) {
            return Ok(Upload::Single(mode).id());
        }
        self.create_multipart_upload(key, content_type, mode).await
    }

    fn starts_for_free(&self, size: u64, part_count: u32) -> bool {
        // A small file of one part needs no call to storage at all.
        part_count == 1 && size <= upload::SINGLE_PUT_MAX
    }

    fn urls_outlive_uploads(&self) -> bool {
        true
    }

    async fn sign_part(
        &self,
        part: &PartToSign<'_>,
        ttl: Duration,
    ) -> Result<SignedPart, StorageError> {
        Ok(self.upload_part_url(part, ttl))
    }

    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        self.stored_parts(key, Upload::from_id(upload_id)).await
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object: Option<Crc64>,
    ) -> Result<Assembled, StorageError> {
        self.complete_multipart_upload(key, Upload::from_id(upload_id), parts, full_object, None)
            .await
    }

    async fn complete_listed(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object: Option<Crc64>,
        listed: &[StoredPart],
    ) -> Result<Assembled, StorageError> {
        let upload = Upload::from_id(upload_id);
        self.complete_multipart_upload(key, upload, parts, full_object, Some(listed))
            .await
    }

    fn expected_checksum(&self, upload_id: &str, stored: &[StoredPart]) -> Option<String> {
        upload::expected_checksum(Upload::from_id(upload_id), stored)
    }

    async fn stat_object(
        &self,
        key: &str,
        mode: ChecksumMode,
    ) -> Result<Option<Assembled>, StorageError> {
        Ok(self
            .head_object(&self.key(key), mode)
            .await?
            .map(object::Head::assembled))
    }

    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        self.abort_upload(key, Upload::from_id(upload_id)).await
    }

    async fn sign_download(
        &self,
        key: &str,
        file_name: &str,
        ttl: Duration,
    ) -> Result<String, StorageError> {
        Ok(self.download_url(key, file_name, ttl))
    }

    async fn read_head(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError> {
        self.object_head(&self.key(key), len).await
    }

    async fn object_sha256(
        &self,
        key: &str,
        within: Duration,
    ) -> Result<Option<String>, StorageError> {
        self.object_digest(&self.key(key), within).await
    }

    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.put_key(&self.key(key), bytes, content_type).await
    }

    async fn delete_object(&self, key: &str) -> Result<(), StorageError> {
        self.delete_key(&self.key(key)).await
    }
}
