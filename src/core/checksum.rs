//! SHA-256 checksums of parts, in the encodings the wire and storage use.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 digest. On the wire it is standard base64, as S3's `x-amz-checksum-sha256`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checksum([u8; 32]);

/// A string that is not the base64 of a 32-byte digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a base64 SHA-256 digest")]
pub struct BadChecksum;

impl Checksum {
    /// The SHA-256 of `bytes` (the fallback where WebCrypto is missing, and the server's).
    pub fn of(bytes: &[u8]) -> Self {
        Checksum(Sha256::digest(bytes).into())
    }

    /// Wraps a digest computed elsewhere (WebCrypto, a streaming hasher).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Checksum(bytes)
    }

    /// Reads a digest of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, BadChecksum> {
        bytes.try_into().map(Checksum).map_err(|_| BadChecksum)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Standard padded base64, the form S3 signs and checks.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard padded base64.
    pub fn from_base64(s: &str) -> Result<Self, BadChecksum> {
        let bytes = STANDARD.decode(s).map_err(|_| BadChecksum)?;
        Self::from_slice(&bytes)
    }

    /// Lower-case hex, the form people compare with `sha256sum`.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.to_base64())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Checksum {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::core::part_sum::base64_schema(
            "A SHA-256 digest, standard base64 (44 characters).",
            44,
        )
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Checksum {}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Checksum::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // FIPS 180-2 examples.
        assert_eq!(
            Checksum::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Checksum::of(b"").to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn base64_round_trip_and_rejects_garbage() {
        let c = Checksum::of(b"partway");
        assert_eq!(Checksum::from_base64(&c.to_base64()), Ok(c));
        assert_eq!(Checksum::from_base64("not base64!"), Err(BadChecksum));
        assert_eq!(Checksum::from_base64("AAAA"), Err(BadChecksum));
    }
}
