//! Signatures of the local backend's URLs: HMAC-SHA256 over a canonical string.
//!
//! Like S3's presigned URLs, a signature covers the method, the path and every query
//! parameter that limits what the URL allows (length, checksum, expiry, file name), so
//! changing any of them breaks it.

use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use partway::core::PartNumber;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks local storage URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<secret>)")
    }
}

impl UrlSigner {
    /// A signer whose key is derived from the server secret. Deriving keeps URL
    /// signatures apart from the bearer tokens signed with the same secret.
    pub fn new(secret: &[u8]) -> Self {
        let key = crate::secret::derive_key(secret, "partway local storage urls v1").to_vec();
        UrlSigner { key }
    }

    /// The signature of `canonical`, URL-safe base64 without padding.
    pub fn sign(&self, canonical: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(canonical.as_bytes()).finalize().into_bytes())
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(data);
        m
    }

    /// Checks `sig` against `canonical` in constant time.
    pub fn verify(&self, canonical: &str, sig: &str) -> Result<(), ApiError> {
        let invalid = || ApiError::SignatureInvalid("This link's signature is not valid.".into());
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| invalid())?;
        self.mac(canonical.as_bytes())
            .verify_slice(&sig)
            .map_err(|_| invalid())
    }
}

/// The path of a part URL.
pub fn part_path(upload_id: &str, part: PartNumber) -> String {
    format!("/storage/parts/{upload_id}/{part}")
}

/// The path of a download URL.
pub fn object_path(key: &str) -> String {
    format!("/storage/objects/{key}")
}

/// What a part URL's signature covers. `checksum` is the query's checksum parameter,
/// if signed: `("sha256", hex)` or `("crc64nvme", hex)`.
pub fn part_canonical(
    upload_id: &str,
    part: PartNumber,
    len: u64,
    checksum: Option<(&str, &str)>,
    expires: u64,
) -> String {
    let sum = match checksum {
        // The SHA-256 form is the one URLs had before there was a choice.
        None => "sha256=".to_string(),
        Some(("sha256", hex)) => format!("sha256={hex}"),
        Some((name, hex)) => format!("{name}={hex}"),
    };
    format!(
        "PUT\n{}\nlen={len}\n{sum}\nexpires={expires}",
        part_path(upload_id, part),
    )
}

/// What a download URL's signature covers. The name, the only free text, comes last so
/// that no choice of name can imitate another field.
pub fn download_canonical(key: &str, name: &str, expires: u64) -> String {
    format!("GET\n{}\nexpires={expires}\nname={name}", object_path(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let signer = UrlSigner::new(b"secret");
        let canonical = part_canonical("u1", PartNumber(1), 10, None, 99);
        let sig = signer.sign(&canonical);
        assert!(signer.verify(&canonical, &sig).is_ok());
        let other = part_canonical("u1", PartNumber(2), 10, None, 99);
        assert!(signer.verify(&other, &sig).is_err());
        assert!(UrlSigner::new(b"other").verify(&canonical, &sig).is_err());
        assert!(signer.verify(&canonical, "!!").is_err());
    }
}
