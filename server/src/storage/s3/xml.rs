//! The few S3 XML documents the backend reads and writes that rusty-s3 does not cover:
//! ListParts with per-part checksums, ListMultipartUploads, CompleteMultipartUpload
//! with checksums, CORS rules, and error bodies.

use partway::core::wire::StoredPart;
use partway::core::{Crc64, PartNumber};
use serde::Deserialize;

/// One page of `ListParts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPartsResult {
    /// The parts on this page.
    #[serde(rename = "Part", default)]
    pub parts: Vec<ListedPart>,
    /// Whether another page follows.
    #[serde(default)]
    pub is_truncated: bool,
    /// Where the next page starts.
    pub next_part_number_marker: Option<u32>,
}

/// A part as `ListParts` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedPart {
    /// Its number.
    pub part_number: u32,
    /// Its ETag, quotes included.
    #[serde(rename = "ETag")]
    pub etag: String,
    /// Its size.
    pub size: u64,
    /// Its SHA-256, base64, when the upload was created with that algorithm.
    #[serde(rename = "ChecksumSHA256")]
    pub checksum_sha256: Option<String>,
    /// Its CRC-64/NVME, base64, when the upload was created with that algorithm.
    #[serde(rename = "ChecksumCRC64NVME")]
    pub checksum_crc64nvme: Option<String>,
}

/// One page of `ListMultipartUploads`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMultipartUploadsResult {
    /// The uploads in progress on this page.
    #[serde(rename = "Upload", default)]
    pub uploads: Vec<ListedUpload>,
    /// Whether another page follows.
    #[serde(default)]
    pub is_truncated: bool,
    /// Where the next page starts: the key…
    pub next_key_marker: Option<String>,
    /// …and the upload id.
    pub next_upload_id_marker: Option<String>,
}

/// A multipart upload in progress, as `ListMultipartUploads` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListedUpload {
    /// The object key it will become.
    pub key: String,
    /// Storage's id for it.
    pub upload_id: String,
}

/// Reads a `ListMultipartUploads` page.
pub fn parse_list_uploads(body: &str) -> Result<ListMultipartUploadsResult, String> {
    quick_xml::de::from_str(body)
        .map_err(|e| format!("unreadable ListMultipartUploads answer: {e}"))
}

/// An S3 error body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Error {
    /// The error code, e.g. `NoSuchUpload`.
    #[serde(default)]
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// Reads an S3 error body; `None` if it is not one.
pub fn parse_error(body: &str) -> Option<S3Error> {
    quick_xml::de::from_str::<S3Error>(body)
        .ok()
        .filter(|e| !e.code.is_empty())
}

/// Reads a `ListParts` page.
pub fn parse_list_parts(body: &str) -> Result<ListPartsResult, String> {
    quick_xml::de::from_str(body).map_err(|e| format!("unreadable ListParts answer: {e}"))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A part as ListParts names it, from what the server made of such a listing.
impl From<&StoredPart> for ListedPart {
    fn from(part: &StoredPart) -> Self {
        ListedPart {
            part_number: part.part_number.0,
            etag: part.etag.0.clone(),
            size: part.size,
            checksum_sha256: part.sha256.map(|c| c.to_base64()),
            checksum_crc64nvme: part.crc64nvme.map(Crc64::to_base64),
        }
    }
}

/// The body of `CompleteMultipartUpload`, naming each part's ETag and SHA-256 (S3
/// requires the checksums when the upload was created with them).
pub fn complete_body(parts: &[ListedPart]) -> String {
    let mut body =
        String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for p in parts {
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>",
            p.part_number,
            escape(&p.etag)
        ));
        if let Some(sum) = &p.checksum_sha256 {
            body.push_str(&format!("<ChecksumSHA256>{}</ChecksumSHA256>", escape(sum)));
        }
        body.push_str("</Part>");
    }
    body.push_str("</CompleteMultipartUpload>");
    body
}

/// The body of `PutBucketCors`: browsers on `origins` may PUT parts (with the signed
/// checksum header) and GET objects, and read the `ETag`.
pub fn cors_body(origins: &[String]) -> String {
    let mut body = String::from(
        "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule>",
    );
    for origin in origins {
        body.push_str(&format!(
            "<AllowedOrigin>{}</AllowedOrigin>",
            escape(origin)
        ));
    }
    for method in ["PUT", "GET", "HEAD"] {
        body.push_str(&format!("<AllowedMethod>{method}</AllowedMethod>"));
    }
    for header in [
        "content-type",
        "x-amz-checksum-sha256",
        "x-amz-checksum-crc64nvme",
        "range",
    ] {
        body.push_str(&format!("<AllowedHeader>{header}</AllowedHeader>"));
    }
    body.push_str("<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>");
    body.push_str("</CORSRule></CORSConfiguration>");
    body
}

/// Part number as S3 counts them (u16 in rusty-s3: at most 10,000 parts).
pub fn part_u16(part: PartNumber) -> u16 {
    u16::try_from(part.0).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_list_parts_with_checksums() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>
  <PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>
  <MaxParts>1000</MaxParts><IsTruncated>true</IsTruncated>
  <Part><PartNumber>1</PartNumber><LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>"abc"</ETag><Size>5242880</Size><ChecksumSHA256>c2hh</ChecksumSHA256></Part>
  <Part><PartNumber>2</PartNumber><ETag>"def"</ETag><Size>7</Size></Part>
</ListPartsResult>"#;
        let parsed = parse_list_parts(body).expect("parses");
        assert!(parsed.is_truncated);
        assert_eq!(parsed.next_part_number_marker, Some(2));
        assert_eq!(parsed.parts.len(), 2);
        assert_eq!(parsed.parts[0].etag, "\"abc\"");
        assert_eq!(parsed.parts[0].checksum_sha256.as_deref(), Some("c2hh"));
        assert_eq!(parsed.parts[1].checksum_sha256, None);
    }

    #[test]
    fn an_empty_list_has_no_parts() {
        let body = "<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>";
        assert!(parse_list_parts(body).expect("parses").parts.is_empty());
    }

    #[test]
    fn complete_body_names_etags_and_checksums_in_order() {
        let parts = vec![
            ListedPart {
                part_number: 1,
                etag: "\"a\"".into(),
                size: 1,
                checksum_sha256: Some("x".into()),
                checksum_crc64nvme: None,
            },
            ListedPart {
                part_number: 2,
                etag: "\"b\"".into(),
                size: 1,
                checksum_sha256: None,
                checksum_crc64nvme: None,
            },
        ];
        let body = complete_body(&parts);
        assert!(body.contains("<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag><ChecksumSHA256>x</ChecksumSHA256></Part>"));
        assert!(body.contains("<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part>"));
    }

    #[test]
    fn errors_are_recognised() {
        let e = parse_error("<Error><Code>InvalidDigest</Code><Message>bad</Message></Error>")
            .expect("an error");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("InvalidDigest", "bad")
        );
        assert!(parse_error(
            "<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"
        )
        .is_none());
    }

    #[test]
    fn cors_rules_expose_etag_and_allow_the_checksum_header() {
        let body = cors_body(&["https://app.example".into()]);
        assert!(body.contains("<AllowedOrigin>https://app.example</AllowedOrigin>"));
        assert!(body.contains("<ExposeHeader>ETag</ExposeHeader>"));
        assert!(body.contains("<AllowedHeader>x-amz-checksum-sha256</AllowedHeader>"));
    }
}
