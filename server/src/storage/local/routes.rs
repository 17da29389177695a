//! The local backend's own HTTP routes: part PUTs and object downloads through signed
//! URLs, answered the way S3 answers them (ETag header, checksum checks, CORS).

use super::signer::{download_canonical, part_canonical};
use super::{etag_for, LocalStorage, TempFile, CHECKSUM_HEADER, COMPLETING_MARKER};
use crate::error::ApiError;
use crate::path::Path;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use futures_util::StreamExt;
use partway::core::{Checksum, PartNumber};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeFile;

/// `PUT /storage/parts/{upload id}/{part}` and `GET /storage/objects/{key}`, with CORS.
pub(super) fn router(storage: LocalStorage) -> Router {
    let checksum = HeaderName::from_static(CHECKSUM_HEADER);
    // Browsers PUT parts cross-origin (the page and the API may live elsewhere), and
    // the widget must read the ETag. CorsLayer also decorates error answers, so the
    // widget can read those too.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::PUT, Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, checksum.clone(), header::RANGE])
        .expose_headers([
            header::ETAG,
            checksum,
            header::CONTENT_LENGTH,
            header::CONTENT_RANGE,
            header::CONTENT_DISPOSITION,
            header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(3600));
    Router::new()
        // Parts go up to 5 GiB and are streamed to disk, so no body limit applies.
        .route(
            "/storage/parts/{upload_id}/{part}",
            put(put_part).layer(DefaultBodyLimit::disable()),
        )
        .route("/storage/objects/{key}", get(get_object))
        // Every answer of storage's routes is the JSON error contract, as the API's are.
        .method_not_allowed_fallback(crate::error::api_method_not_allowed)
        .layer(cors)
        .with_state(storage)
}

/// Receives one part: checks the URL, then streams the body to disk while hashing it.
async fn put_part(
    State(storage): State<LocalStorage>,
    Path((upload_id, part)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let _counted = storage.stats().start();
    let part = part
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .map(PartNumber)
        .ok_or_else(bad_sig)?;
    let q = SignedQuery::parse(query.as_deref())?;
    let (len, expires, sig) = (q.number("len")?, q.number("expires")?, q.required("sig")?);
    let signed_hex = q.optional("sha256")?;
    let canonical = part_canonical(&upload_id, part, len, signed_hex, expires);
    storage.signer().verify(&canonical, sig)?;
    if crate::unix_now() > expires {
        return Err(ApiError::UrlExpired);
    }
    let signed = signed_hex
        .map(|h| checksum_from_hex(h).ok_or_else(bad_sig))
        .transpose()?;
    let expected = expected_checksum(signed, &headers)?;
    if let Some(declared) = content_length(&headers) {
        if declared != len {
            return Err(ApiError::invalid(format!(
                "Part {part} must be {len} bytes, not {declared}."
            )));
        }
    }
    let dir = storage.upload_dir(&upload_id)?;
    still_open(&dir).await?;
    let tmp = TempFile::new(dir.join(format!(".{part}.{}.tmp", uuid::Uuid::new_v4().simple())));
    let digest = match receive(body, tmp.path(), part, len, storage.body_idle()).await {
        // The directory went away under the part: completed or cancelled meanwhile.
        Err(ApiError::Internal(_)) if !tokio::fs::try_exists(&dir).await.unwrap_or(true) => {
            return Err(gone())
        }
        other => other?,
    };
    if expected.is_some_and(|e| e != digest) {
        return Err(ApiError::ChecksumMismatch(format!(
            "Part {part} does not match its SHA-256 checksum, so it was not stored; send it again."
        )));
    }
    let etag = etag_for(&digest);
    still_open(&dir).await?;
    store(&dir, part, tmp, &etag.0, &digest)
        .await
        .map_err(|e| match e {
            ApiError::Internal(_) if !dir.exists() => gone(),
            other => other,
        })?;
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag.0).map_err(ApiError::internal)?,
    );
    h.insert(
        CHECKSUM_HEADER,
        HeaderValue::from_str(&digest.to_base64()).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// Refuses a part for an upload that is gone (404) or being joined (409): a part
/// arriving then could only race the assembly.
async fn still_open(dir: &std::path::Path) -> Result<(), ApiError> {
    if !tokio::fs::try_exists(dir).await? {
        return Err(gone());
    }
    if tokio::fs::try_exists(dir.join(COMPLETING_MARKER)).await? {
        return Err(ApiError::UploadNotActive(
            "This upload is being completed; no more parts are taken.".into(),
        ));
    }
    Ok(())
}

fn gone() -> ApiError {
    ApiError::NotFound("This upload does not exist, or was completed or cancelled.".into())
}

/// The checksum the body must have: the signed one (whose header must then be sent, and
/// equal), or one the client sent unsigned.
fn expected_checksum(
    signed: Option<Checksum>,
    headers: &HeaderMap,
) -> Result<Option<Checksum>, ApiError> {
    let sent = match headers.get(CHECKSUM_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| Checksum::from_base64(v.trim()).ok())
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "The {CHECKSUM_HEADER} header is not a base64 SHA-256."
                    ))
                })?,
        ),
    };
    match (signed, sent) {
        (Some(_), None) => Err(ApiError::invalid(format!(
            "This part's URL was signed with a checksum: send it in the {CHECKSUM_HEADER} header."
        ))),
        (Some(s), Some(h)) if s != h => Err(ApiError::SignatureInvalid(format!(
            "The {CHECKSUM_HEADER} header differs from the checksum this URL was signed with."
        ))),
        (signed, sent) => Ok(signed.or(sent)),
    }
}

/// Streams the body into `to`, hashing it; exactly `len` bytes must arrive.
async fn receive(
    body: Body,
    to: &std::path::Path,
    part: PartNumber,
    len: u64,
    idle: std::time::Duration,
) -> Result<Checksum, ApiError> {
    let mut file = tokio::fs::File::create(to).await?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut stream = body.into_data_stream();
    loop {
        let Ok(next) = tokio::time::timeout(idle, stream.next()).await else {
            return Err(ApiError::Stalled(format!(
                "Part {part} stopped arriving for {} s; send it again.",
                idle.as_secs()
            )));
        };
        let Some(chunk) = next else { break };
        let chunk = chunk
            .map_err(|e| ApiError::invalid(format!("Part {part} did not arrive whole: {e}")))?;
        received += chunk.len() as u64;
        if received > len {
            return Err(ApiError::invalid(format!(
                "Part {part} must be {len} bytes; more were sent."
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    if received < len {
        return Err(ApiError::invalid(format!(
            "Part {part} must be {len} bytes; only {received} arrived."
        )));
    }
    file.flush().await?;
    Ok(Checksum::from_bytes(hasher.finalize().into()))
}

/// Moves a received part into place, replacing an earlier copy. The old ETag goes
/// first, so a listing never pairs one copy's bytes with another's ETag.
async fn store(
    dir: &std::path::Path,
    part: PartNumber,
    tmp: TempFile,
    etag: &str,
    sha256: &Checksum,
) -> Result<(), ApiError> {
    let etag_path = dir.join(format!("{part}.etag"));
    match tokio::fs::remove_file(&etag_path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let part_path = dir.join(format!("{part}.part"));
    tokio::task::spawn_blocking(move || tmp.persist(&part_path))
        .await
        .map_err(ApiError::internal)??;
    // The checksum before the ETag: the ETag file is what marks the part as stored.
    let sum_tmp = TempFile::new(dir.join(format!(
        ".{part}.{}.sha256.tmp",
        uuid::Uuid::new_v4().simple()
    )));
    tokio::fs::write(sum_tmp.path(), sha256.to_base64()).await?;
    let sum_path = dir.join(format!("{part}.sha256"));
    tokio::task::spawn_blocking(move || sum_tmp.persist(&sum_path))
        .await
        .map_err(ApiError::internal)??;
    let etag_tmp = TempFile::new(dir.join(format!(
        ".{part}.{}.etag.tmp",
        uuid::Uuid::new_v4().simple()
    )));
    tokio::fs::write(etag_tmp.path(), etag).await?;
    tokio::task::spawn_blocking(move || etag_tmp.persist(&etag_path))
        .await
        .map_err(ApiError::internal)??;
    Ok(())
}

/// Serves a completed object (with Range support) as an attachment.
async fn get_object(
    State(storage): State<LocalStorage>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    req: Request,
) -> Result<Response, ApiError> {
    let q = SignedQuery::parse(query.as_deref())?;
    let (expires, name, sig) = (
        q.number("expires")?,
        q.required("name")?,
        q.required("sig")?,
    );
    storage
        .signer()
        .verify(&download_canonical(&key, name, expires), sig)?;
    if crate::unix_now() > expires {
        return Err(ApiError::UrlExpired);
    }
    let path = storage.object_path(&key)?;
    if !tokio::fs::try_exists(&path).await? {
        return Err(ApiError::NotFound("This file no longer exists.".into()));
    }
    let Ok(response) = ServeFile::new(path).oneshot(req).await;
    let mut response = response.map(Body::new);
    let h = response.headers_mut();
    h.insert(header::CONTENT_DISPOSITION, content_disposition(name));
    // A signed URL is one person's: no shared cache may keep the file.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response)
}

/// The `Content-Disposition` of a download, as a header value.
fn content_disposition(name: &str) -> HeaderValue {
    HeaderValue::from_str(&crate::storage::attachment_disposition(name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn bad_sig() -> ApiError {
    ApiError::SignatureInvalid("This link's signature is not valid.".into())
}

fn checksum_from_hex(hex: &str) -> Option<Checksum> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(Checksum::from_bytes(bytes))
}

/// The parameters of a signed URL. Anything missing, repeated or malformed means the
/// URL was not the one signed.
struct SignedQuery(Vec<(String, String)>);

impl SignedQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or("")).map_err(|_| bad_sig())?;
        Ok(SignedQuery(pairs))
    }

    fn optional(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut found = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        match (found.next(), found.next()) {
            (value, None) => Ok(value),
            _ => Err(bad_sig()),
        }
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.optional(name)?.ok_or_else(bad_sig)
    }

    fn number(&self, name: &str) -> Result<u64, ApiError> {
        self.required(name)?.parse().map_err(|_| bad_sig())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_is_safe_and_exact() {
        let v = content_disposition("a \"b\"\r\nc/é.txt");
        let s = v.to_str().expect("ascii");
        assert!(s.starts_with("attachment; filename=\"a _b___c__.txt\""));
        assert!(s.contains("filename*=UTF-8''a%20%22b%22%0D%0Ac%2F%C3%A9.txt"));
    }

    #[test]
    fn hex_round_trip() {
        let c = Checksum::of(b"x");
        assert_eq!(checksum_from_hex(&c.to_hex()), Some(c));
        assert_eq!(checksum_from_hex("zz"), None);
    }
}
