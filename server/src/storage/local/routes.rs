//! The local backend's own HTTP routes: part PUTs and object downloads through signed
//! URLs, answered the way S3 answers them (ETag header, checksum checks, CORS).

use super::signer::{download_canonical, part_canonical};
use super::{etag_for, LocalStorage, TempFile, COMPLETING_MARKER};
use crate::error::ApiError;
use crate::path::Path;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use futures_util::StreamExt;
use partway::core::{Checksum, ChecksumMode, Crc64, PartNumber, PartSum};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeFile;

/// `PUT /storage/parts/{upload id}/{part}` and `GET /storage/objects/{key}`, with CORS.
pub(super) fn router(storage: LocalStorage) -> Router {
    let sha256 = HeaderName::from_static(ChecksumMode::Sha256.header());
    let crc64nvme = HeaderName::from_static(ChecksumMode::Crc64nvme.header());
    // Browsers PUT parts cross-origin (the page and the API may live elsewhere), and
    // the widget must read the ETag. CorsLayer also decorates error answers, so the
    // widget can read those too.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::PUT, Method::GET, Method::HEAD, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            sha256.clone(),
            crc64nvme.clone(),
            header::RANGE,
        ])
        .expose_headers([
            header::ETAG,
            sha256,
            crc64nvme,
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
    let signed_sum = match (q.optional("sha256")?, q.optional("crc64nvme")?) {
        (None, None) => None,
        (Some(hex), None) => Some(("sha256", hex)),
        (None, Some(hex)) => Some(("crc64nvme", hex)),
        (Some(_), Some(_)) => return Err(bad_sig()),
    };
    let canonical = part_canonical(&upload_id, part, len, signed_sum, expires);
    storage.signer().verify(&canonical, sig)?;
    if crate::unix_now() > expires {
        return Err(ApiError::UrlExpired);
    }
    let signed = signed_sum
        .map(|(name, hex)| sum_from_hex(name, hex).ok_or_else(bad_sig))
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
    let with_crc = expected.is_some_and(|e| e.mode() == ChecksumMode::Crc64nvme);
    let (digest, crc) =
        match receive(body, tmp.path(), part, len, with_crc, storage.body_idle()).await {
            // The directory went away under the part: completed or cancelled meanwhile.
            Err(ApiError::Internal(_)) if !tokio::fs::try_exists(&dir).await.unwrap_or(true) => {
                return Err(gone())
            }
            other => other?,
        };
    let received = match expected {
        Some(PartSum::Crc64nvme(_)) => crc.map(PartSum::Crc64nvme),
        _ => Some(PartSum::Sha256(digest)),
    };
    if let Some(want) = expected.filter(|want| Some(*want) != received) {
        return Err(ApiError::ChecksumMismatch(format!(
            "Part {part} does not match its {} checksum, so it was not stored; send it again.",
            algorithm(want.mode())
        )));
    }
    let etag = etag_for(&digest);
    still_open(&dir).await?;
    store(&dir, part, tmp, &etag.0, &digest, crc)
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
    if let Some(sum) = received {
        h.insert(
            sum.mode().header(),
            HeaderValue::from_str(&sum.to_base64()).map_err(ApiError::internal)?,
        );
    }
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

/// The algorithm's name, for messages.
fn algorithm(mode: ChecksumMode) -> &'static str {
    match mode {
        ChecksumMode::Sha256 => "SHA-256",
        ChecksumMode::Crc64nvme => "CRC-64/NVME",
    }
}

/// The checksum of `mode` the client sent in its header, if it sent one.
fn sent_checksum(mode: ChecksumMode, headers: &HeaderMap) -> Result<Option<PartSum>, ApiError> {
    let Some(value) = headers.get(mode.header()) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or_default().trim();
    let sum = match mode {
        ChecksumMode::Sha256 => Checksum::from_base64(value).ok().map(PartSum::Sha256),
        ChecksumMode::Crc64nvme => Crc64::from_base64(value).ok().map(PartSum::Crc64nvme),
    };
    sum.map(Some).ok_or_else(|| {
        ApiError::invalid(format!(
            "The {} header is not a base64 {}.",
            mode.header(),
            algorithm(mode)
        ))
    })
}

/// The checksum the body must have: the signed one (whose header must then be sent, and
/// equal), or one the client sent unsigned.
fn expected_checksum(
    signed: Option<PartSum>,
    headers: &HeaderMap,
) -> Result<Option<PartSum>, ApiError> {
    let Some(signed) = signed else {
        return match sent_checksum(ChecksumMode::Sha256, headers)? {
            Some(sum) => Ok(Some(sum)),
            None => sent_checksum(ChecksumMode::Crc64nvme, headers),
        };
    };
    let header = signed.mode().header();
    match sent_checksum(signed.mode(), headers)? {
        None => Err(ApiError::invalid(format!(
            "This part's URL was signed with a checksum: send it in the {header} header."
        ))),
        Some(sent) if sent != signed => Err(ApiError::SignatureInvalid(format!(
            "The {header} header differs from the checksum this URL was signed with."
        ))),
        Some(_) => Ok(Some(signed)),
    }
}

/// Streams the body into `to`, hashing it (and taking its CRC-64/NVME if `with_crc`);
/// exactly `len` bytes must arrive.
async fn receive(
    body: Body,
    to: &std::path::Path,
    part: PartNumber,
    len: u64,
    with_crc: bool,
    idle: std::time::Duration,
) -> Result<(Checksum, Option<Crc64>), ApiError> {
    let mut file = tokio::fs::File::create(to).await?;
    let mut hasher = Sha256::new();
    let mut crc = with_crc.then(Crc64::hasher);
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
        if let Some(crc) = &mut crc {
            crc.update(&chunk);
        }
        file.write_all(&chunk).await?;
    }
    if received < len {
        return Err(ApiError::invalid(format!(
            "Part {part} must be {len} bytes; only {received} arrived."
        )));
    }
    file.flush().await?;
    let digest = Checksum::from_bytes(hasher.finalize().into());
    Ok((digest, crc.map(|c| c.finish())))
}

/// Moves a received part into place, replacing an earlier copy. The old ETag goes
/// first, so a listing never pairs one copy's bytes with another's ETag.
async fn store(
    dir: &std::path::Path,
    part: PartNumber,
    tmp: TempFile,
    etag: &str,
    sha256: &Checksum,
    crc: Option<Crc64>,
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
    let crc_path = dir.join(format!("{part}.crc64nvme"));
    match crc {
        Some(crc) => {
            let crc_tmp = TempFile::new(dir.join(format!(
                ".{part}.{}.crc64nvme.tmp",
                uuid::Uuid::new_v4().simple()
            )));
            tokio::fs::write(crc_tmp.path(), crc.to_base64()).await?;
            tokio::task::spawn_blocking(move || crc_tmp.persist(&crc_path))
                .await
                .map_err(ApiError::internal)??;
        }
        // An earlier copy's CRC must not outlive it.
        None => match tokio::fs::remove_file(&crc_path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        },
    }
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

/// A signed checksum parameter: `sha256` (64 hex digits) or `crc64nvme` (16).
fn sum_from_hex(name: &str, hex: &str) -> Option<PartSum> {
    match name {
        "sha256" => checksum_from_hex(hex).map(PartSum::Sha256),
        "crc64nvme" if hex.len() == 16 => u64::from_str_radix(hex, 16)
            .ok()
            .map(|n| PartSum::Crc64nvme(Crc64(n))),
        _ => None,
    }
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
        let crc = Crc64::of(b"x");
        let hex = format!("{:016x}", crc.0);
        assert_eq!(
            sum_from_hex("crc64nvme", &hex),
            Some(PartSum::Crc64nvme(crc))
        );
        assert_eq!(sum_from_hex("crc64nvme", "+1"), None);
        assert_eq!(sum_from_hex("md5", &hex), None);
    }
}
