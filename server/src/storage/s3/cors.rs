//! The bucket's CORS rules: browsers on the site's origins must be allowed to PUT parts
//! and read their ETags.

use super::{xml, S3Storage, SERVER_CALL_TTL};
use crate::storage::StorageError;
use reqwest::Method;

impl S3Storage {
    /// Sets the bucket's CORS rules so browsers on `origins` can PUT parts and read
    /// their ETags (`partway-server storage setup-cors`).
    pub async fn put_bucket_cors(&self, origins: &[String]) -> Result<(), StorageError> {
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
            .header(
                "access-control-request-headers",
                "x-amz-checksum-sha256,x-amz-checksum-crc64nvme",
            )
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
