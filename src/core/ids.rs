//! Newtypes that carry the meaning of the values passed between client and server.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A 1-based part number, as S3 counts them (1..=10,000).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PartNumber(pub u32);

impl PartNumber {
    /// The part's position in a zero-based vector.
    pub fn index(self) -> usize {
        (self.0 as usize).saturating_sub(1)
    }

    /// The part number at a zero-based position.
    pub fn from_index(index: usize) -> Self {
        PartNumber(index as u32 + 1)
    }
}

impl fmt::Display for PartNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The server's id for one upload in progress.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UploadId(pub String);

/// The server's id for a stored file.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileId(pub String);

/// The entity tag storage returned for a stored part, kept verbatim (quotes included).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ETag(pub String);

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A half-open byte range `[start, end)` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    /// First byte of the range.
    pub start: u64,
    /// One past the last byte of the range.
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the range holds no bytes (only the one part of an empty file).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A presigned URL. It is a credential, so `Debug` and `Display` hide its query string.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SignedUrl(String);

impl SignedUrl {
    /// Wraps a URL that carries a signature.
    pub fn new(url: impl Into<String>) -> Self {
        SignedUrl(url.into())
    }

    /// The full URL, signature included: only for the request that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> &str {
        self.0.split('?').next().unwrap_or("")
    }
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedUrl({}?<redacted>)", self.redacted())
    }
}

impl fmt::Display for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}?<redacted>", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_url_never_prints_its_signature() {
        let url = SignedUrl::new("https://s3.example/b/k?X-Amz-Signature=secret");
        assert!(!format!("{url}").contains("secret"));
        assert!(!format!("{url:?}").contains("secret"));
        assert!(url.expose().contains("secret"));
    }

    #[test]
    fn part_numbers_are_one_based() {
        assert_eq!(PartNumber::from_index(0), PartNumber(1));
        assert_eq!(PartNumber(3).index(), 2);
    }
}
