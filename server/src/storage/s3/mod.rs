//! S3-compatible storage (AWS S3, Cloudflare R2, MinIO, Garage): presigned URLs for the
//! browser's PUTs and downloads, and the server-side multipart calls.
//!
//! rusty-s3 signs (SigV4, no I/O of its own); reqwest sends the server's own calls
//! through those signed URLs. Uploads are created with the SHA-256 checksum algorithm
//! and each part's checksum is signed into its URL, so storage itself refuses a part
//! whose bytes differ. Files of one part go up as a plain PutObject, checksummed too.

mod xml;

use crate::config::S3Config;
use crate::error::ApiError;
use crate::storage::{attachment_disposition, check_part_order, same_etag, Assembled, Storage};
use partway::core::wire::{CompletedPart, SignedPart, StoredPart};
use partway::core::{Checksum, ETag, PartNumber, SignedUrl};
use reqwest::{Method, StatusCode};
use rusty_s3::actions::CreateMultipartUpload;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;
use xml::{part_u16, ListedPart};

/// The storage upload id that marks a one-part file sent as a plain PutObject.
const SINGLE: &str = "single-put";
/// Lifetime of the URLs the server signs for its own calls.
const SERVER_CALL_TTL: Duration = Duration::from_secs(60);
const CHECKSUM_HEADER: &str = "x-amz-checksum-sha256";

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

/// An answer from storage: status, headers and body text.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
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

    /// Every object key under this storage's prefix (without the prefix): what an audit
    /// compares with the files recorded. Bounded at 100 pages of 1,000.
    pub async fn object_keys(&self) -> Result<Vec<String>, ApiError> {
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
                .map_err(|e| ApiError::internal(format_args!("listing objects: {e}")))?;
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
        Err(ApiError::internal(
            "more than 100,000 objects under the prefix",
        ))
    }

    /// Sends one server-side call through a signed URL; a non-2xx answer is an error.
    async fn call(
        &self,
        method: Method,
        url: Url,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, ApiError> {
        let answer = self.send(method, url, headers, body).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(storage_error(answer.status, &answer.body))
        }
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Answer, ApiError> {
        let mut req = self.http.request(method, url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req
            .send()
            .await
            .map_err(|e| ApiError::internal(format!("storage unreachable: {}", e.without_url())))?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .text()
            .await
            .map_err(|e| ApiError::internal(format!("storage answer: {}", e.without_url())))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Every part of a multipart upload, following ListParts' pages.
    async fn all_parts(&self, key: &str, upload_id: &str) -> Result<Vec<ListedPart>, ApiError> {
        let mut parts = Vec::new();
        let mut marker: Option<u32> = None;
        // 10,000 parts at 1,000 a page: a bounded number of pages, whatever storage says.
        for _ in 0..20 {
            let mut action = self
                .bucket
                .list_parts(Some(&self.credentials), key, upload_id);
            if let Some(m) = marker {
                action.set_part_number_marker(u16::try_from(m).unwrap_or(u16::MAX));
            }
            let answer = self
                .call(Method::GET, action.sign(SERVER_CALL_TTL), &[], None)
                .await?;
            let page = xml::parse_list_parts(&answer.body).map_err(ApiError::internal)?;
            parts.extend(page.parts);
            match (page.is_truncated, page.next_part_number_marker) {
                (true, Some(next)) => marker = Some(next),
                _ => return Ok(parts),
            }
        }
        Err(ApiError::internal("ListParts did not end"))
    }

    /// The object's size, ETag and SHA-256 checksum header, if it exists.
    async fn head(&self, key: &str) -> Result<Option<(u64, String, Option<String>)>, ApiError> {
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
            return Err(storage_error(answer.status, &answer.body));
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
            .unwrap_or(0);
        Ok(Some((
            size,
            header("etag").unwrap_or_default(),
            header(CHECKSUM_HEADER),
        )))
    }

    /// Sets the bucket's CORS rules so browsers on `origins` can PUT parts and read
    /// their ETags (`partway-server storage setup-cors`).
    pub async fn put_bucket_cors(&self, origins: &[String]) -> Result<(), ApiError> {
        use base64::Engine as _;
        use md5::Digest as _;
        let body = xml::cors_body(origins);
        // AWS insists on Content-MD5 for this call.
        let md5 =
            base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body.as_bytes()));
        let mut url = self.bucket.base_url().clone();
        url.set_query(Some("cors"));
        let headers = [
            ("content-md5", md5.as_str()),
            ("content-type", "application/xml"),
        ];
        let signed = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            rusty_s3::Method::Put,
            url,
            self.credentials.key(),
            self.credentials.secret(),
            self.credentials.token(),
            self.bucket.region(),
            SERVER_CALL_TTL.as_secs(),
            [("cors", "")].into_iter(),
            headers.into_iter(),
        );
        self.call(Method::PUT, signed, &headers, Some(body))
            .await
            .map(|_| ())
    }

    /// Asks storage, as a browser on `origin` would, whether a part PUT may be sent;
    /// `Err` says why the browser would be blocked.
    pub async fn check_cors(&self, origin: &str) -> Result<(), String> {
        let url = self.bucket.object_url(&self.key("partway-cors-check"));
        let answer = self
            .http
            .request(Method::OPTIONS, url)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", CHECKSUM_HEADER)
            .send()
            .await
            .map_err(|e| format!("storage unreachable: {}", e.without_url()))?;
        let allowed = answer
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if answer.status().is_success() && (allowed == "*" || allowed == origin) {
            Ok(())
        } else {
            Err(format!(
                "the bucket's CORS rules do not let {origin} PUT parts (preflight answered {}); \
                 run `partway-server storage setup-cors --origin {origin}`",
                answer.status()
            ))
        }
    }
}

/// Maps a storage error answer to the API's errors.
fn storage_error(status: StatusCode, body: &str) -> ApiError {
    let err = xml::parse_error(body);
    let code = err.as_ref().map(|e| e.code.as_str()).unwrap_or("");
    let message = err.as_ref().map(|e| e.message.clone()).unwrap_or_default();
    match code {
        "NoSuchUpload" | "NoSuchKey" => {
            ApiError::NotFound("Storage no longer holds this upload.".into())
        }
        "InvalidDigest" | "BadDigest" | "XAmzContentChecksumMismatch" => {
            ApiError::ChecksumMismatch(format!("Storage refused the bytes: {message}"))
        }
        "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" => {
            ApiError::PartMismatch(format!("Storage refused the parts: {message}"))
        }
        _ => ApiError::internal(format!("storage answered {status}: {code} {message}")),
    }
}

#[async_trait::async_trait]
impl Storage for S3Storage {
    async fn create_upload(
        &self,
        key: &str,
        content_type: &str,
        part_count: u32,
    ) -> Result<String, ApiError> {
        if part_count == 1 {
            return Ok(SINGLE.into());
        }
        let key = self.key(key);
        let mut action = self
            .bucket
            .create_multipart_upload(Some(&self.credentials), &key);
        let content_type = if content_type.is_empty() {
            "application/octet-stream"
        } else {
            content_type
        };
        action.headers_mut().insert("content-type", content_type);
        action
            .headers_mut()
            .insert("x-amz-checksum-algorithm", "SHA256");
        let headers = [
            ("content-type", content_type),
            ("x-amz-checksum-algorithm", "SHA256"),
        ];
        let answer = self
            .call(Method::POST, action.sign(SERVER_CALL_TTL), &headers, None)
            .await?;
        let created =
            CreateMultipartUpload::parse_response(&answer.body).map_err(ApiError::internal)?;
        Ok(created.upload_id().to_string())
    }

    async fn sign_part(
        &self,
        key: &str,
        upload_id: &str,
        part: PartNumber,
        len: u64,
        checksum: Option<Checksum>,
        ttl: Duration,
    ) -> Result<SignedPart, ApiError> {
        let key = self.key(key);
        let mut headers = BTreeMap::new();
        let b64 = checksum.map(|c| c.to_base64());
        // The part's exact length is signed: storage refuses a body of any other size,
        // so no URL can store more than the plan says. The browser sets Content-Length
        // itself, so it is not among the headers handed to the client.
        let len = len.to_string();
        let url = if upload_id == SINGLE {
            let mut action = self.bucket.put_object(Some(&self.credentials), &key);
            action.headers_mut().insert("content-length", len.as_str());
            if let Some(sum) = &b64 {
                action.headers_mut().insert(CHECKSUM_HEADER, sum.as_str());
            }
            action.sign(ttl)
        } else {
            let mut action =
                self.bucket
                    .upload_part(Some(&self.credentials), &key, part_u16(part), upload_id);
            action.headers_mut().insert("content-length", len.as_str());
            if let Some(sum) = &b64 {
                action.headers_mut().insert(CHECKSUM_HEADER, sum.as_str());
            }
            action.sign(ttl)
        };
        if let Some(sum) = b64 {
            headers.insert(CHECKSUM_HEADER.to_string(), sum);
        }
        Ok(SignedPart {
            part_number: part,
            url: SignedUrl::new(url.to_string()),
            headers,
            expires_in: ttl.as_secs(),
        })
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, ApiError> {
        let key = self.key(key);
        if upload_id == SINGLE {
            let stored = self.head(&key).await?;
            return Ok(stored
                .map(|(size, etag, checksum)| {
                    vec![StoredPart {
                        part_number: PartNumber(1),
                        etag: ETag(etag),
                        size,
                        sha256: checksum.and_then(|c| Checksum::from_base64(&c).ok()),
                    }]
                })
                .unwrap_or_default());
        }
        let parts = self.all_parts(&key, upload_id).await?;
        Ok(parts
            .into_iter()
            .map(|p| StoredPart {
                part_number: PartNumber(p.part_number),
                etag: ETag(p.etag),
                size: p.size,
                sha256: p
                    .checksum_sha256
                    .and_then(|c| Checksum::from_base64(&c).ok()),
            })
            .collect())
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<Assembled, ApiError> {
        check_part_order(parts)?;
        let key = self.key(key);
        if upload_id == SINGLE {
            let Some((size, etag, checksum)) = self.head(&key).await? else {
                return Err(ApiError::PartMismatch(
                    "The file has not been stored.".into(),
                ));
            };
            if parts.len() != 1 || !same_etag(&etag, &parts[0].etag.0) {
                return Err(ApiError::PartMismatch(
                    "The ETag does not match the stored file; send it again.".into(),
                ));
            }
            // A single PUT's checksum is the whole file's SHA-256.
            let sha256 = checksum
                .as_deref()
                .and_then(|c| Checksum::from_base64(c).ok())
                .map(|c| c.to_hex());
            return Ok(Assembled {
                size,
                sha256,
                checksum,
            });
        }
        let listed = self.all_parts(&key, upload_id).await?;
        if listed.len() != parts.len() {
            return Err(ApiError::PartMismatch(format!(
                "Storage holds {} parts; {} were listed.",
                listed.len(),
                parts.len()
            )));
        }
        for (mine, theirs) in parts.iter().zip(&listed) {
            if mine.part_number.0 != theirs.part_number || !same_etag(&mine.etag.0, &theirs.etag) {
                return Err(ApiError::PartMismatch(format!(
                    "Part {}'s ETag does not match the part storage holds; send that part again.",
                    mine.part_number
                )));
            }
        }
        let etags: Vec<&str> = listed.iter().map(|p| p.etag.as_str()).collect();
        let action = self.bucket.complete_multipart_upload(
            Some(&self.credentials),
            &key,
            upload_id,
            etags.into_iter(),
        );
        let answer = self
            .call(
                Method::POST,
                action.sign(SERVER_CALL_TTL),
                &[],
                Some(xml::complete_body(&listed)),
            )
            .await?;
        // S3 may answer 200 and still report an error in the body.
        if xml::parse_error(&answer.body).is_some() {
            return Err(storage_error(answer.status, &answer.body));
        }
        let (size, _, checksum) = self
            .head(&key)
            .await?
            .ok_or_else(|| ApiError::internal("completed object is missing"))?;
        Ok(Assembled {
            size,
            sha256: None,
            checksum,
        })
    }

    async fn stat_object(&self, key: &str) -> Result<Option<Assembled>, ApiError> {
        let Some((size, _, checksum)) = self.head(&self.key(key)).await? else {
            return Ok(None);
        };
        // Only a single PUT's checksum is the whole object's SHA-256; a multipart
        // upload's is the composite `<base64>-<parts>`.
        let sha256 = checksum
            .as_deref()
            .and_then(|c| Checksum::from_base64(c).ok())
            .map(|c| c.to_hex());
        Ok(Some(Assembled {
            size,
            sha256,
            checksum,
        }))
    }

    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), ApiError> {
        let key = self.key(key);
        let url = if upload_id == SINGLE {
            self.bucket
                .delete_object(Some(&self.credentials), &key)
                .sign(SERVER_CALL_TTL)
        } else {
            self.bucket
                .abort_multipart_upload(Some(&self.credentials), &key, upload_id)
                .sign(SERVER_CALL_TTL)
        };
        match self.call(Method::DELETE, url, &[], None).await {
            Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn sign_download(
        &self,
        key: &str,
        file_name: &str,
        ttl: Duration,
    ) -> Result<String, ApiError> {
        let key = self.key(key);
        let disposition = attachment_disposition(file_name);
        let mut action = self.bucket.get_object(Some(&self.credentials), &key);
        action
            .query_mut()
            .insert("response-content-disposition", disposition.as_str());
        Ok(action.sign(ttl).to_string())
    }

    async fn delete_object(&self, key: &str) -> Result<(), ApiError> {
        let key = self.key(key);
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), &key)
            .sign(SERVER_CALL_TTL);
        match self.call(Method::DELETE, url, &[], None).await {
            Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
