//! Which checksum an upload's parts carry. S3 takes one algorithm per upload, so the
//! mode is chosen when the upload is created and every part follows it.

use crate::core::checksum::Checksum;
use crate::core::crc64::Crc64;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How storage checks an upload's bytes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumMode {
    /// Each part carries its SHA-256; storage checks each part, and the composite (the
    /// SHA-256 of the parts' SHA-256s) at complete.
    #[default]
    Sha256,
    /// Each part carries its CRC-64/NVME; storage checks each part and, at complete,
    /// the whole object against the CRC the client combined from the parts'.
    Crc64nvme,
}

impl ChecksumMode {
    /// The name as the wire, the attribute and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumMode::Sha256 => "sha256",
            ChecksumMode::Crc64nvme => "crc64nvme",
        }
    }

    /// Reads the spelling of [`ChecksumMode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sha256" => Some(ChecksumMode::Sha256),
            "crc64nvme" => Some(ChecksumMode::Crc64nvme),
            _ => None,
        }
    }

    /// The header that carries a part's checksum in this mode.
    pub fn header(self) -> &'static str {
        match self {
            ChecksumMode::Sha256 => "x-amz-checksum-sha256",
            ChecksumMode::Crc64nvme => "x-amz-checksum-crc64nvme",
        }
    }
}

impl fmt::Display for ChecksumMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One part's checksum. On the wire it is a field named for its algorithm
/// (`"sha256": "<base64>"` or `"crc64nvme": "<base64>"`), beside the part's number.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartSum {
    /// A SHA-256.
    Sha256(Checksum),
    /// A CRC-64/NVME.
    Crc64nvme(Crc64),
}

impl PartSum {
    /// The mode this checksum belongs to.
    pub fn mode(&self) -> ChecksumMode {
        match self {
            PartSum::Sha256(_) => ChecksumMode::Sha256,
            PartSum::Crc64nvme(_) => ChecksumMode::Crc64nvme,
        }
    }

    /// The value as S3's checksum headers carry it: standard base64.
    pub fn to_base64(&self) -> String {
        match self {
            PartSum::Sha256(sum) => sum.to_base64(),
            PartSum::Crc64nvme(crc) => crc.to_base64(),
        }
    }

    /// The CRC, in CRC-64/NVME mode.
    pub fn crc64(&self) -> Option<Crc64> {
        match self {
            PartSum::Crc64nvme(crc) => Some(*crc),
            PartSum::Sha256(_) => None,
        }
    }
}

/// The OpenAPI schema of a checksum on the wire: a base64 string of a fixed length.
#[cfg(feature = "openapi")]
pub(crate) fn base64_schema(
    description: &str,
    len: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Byte)))
        .min_length(Some(len))
        .max_length(Some(len))
        .description(Some(description))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_spell_as_documented() {
        for mode in [ChecksumMode::Sha256, ChecksumMode::Crc64nvme] {
            assert_eq!(ChecksumMode::parse(mode.as_str()), Some(mode));
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{mode}\""));
        }
        assert_eq!(
            ChecksumMode::parse(" CRC64NVME "),
            Some(ChecksumMode::Crc64nvme)
        );
        assert_eq!(ChecksumMode::parse("md5"), None);
    }

    #[test]
    fn a_sum_is_a_field_named_for_its_algorithm() {
        let crc = PartSum::Crc64nvme(Crc64::of(b"123456789"));
        assert_eq!(
            serde_json::to_string(&crc).unwrap(),
            r#"{"crc64nvme":"rosUhgp5mIg="}"#
        );
        let sha = PartSum::Sha256(Checksum::of(b""));
        let back: PartSum = serde_json::from_str(&serde_json::to_string(&sha).unwrap()).unwrap();
        assert_eq!(back, sha);
        assert!(serde_json::from_str::<PartSum>(r#"{"crc64nvme":"AAAA"}"#).is_err());
    }
}
