//! Uploads: created, their parts signed, listed, joined into the object, or aborted.
//!
//! A file of one part up to [`SINGLE_PUT_MAX`] goes up as one plain PutObject
//! ([`Upload::Single`]): storage keeps no multipart upload for it, which saves four
//! calls a file (create, list, complete, and the HEAD after it) and makes many small
//! files cheap. Larger files go up as multipart uploads, whose part URLs stop working
//! the moment the upload is completed or aborted. A PutObject URL works until it
//! expires, even after a cancel or a delete: its exact length and checksum are signed,
//! so it can only store the same bytes at the same key again, and the key is deleted
//! once more after the URL expired (`crate::lingering`).

use super::{call::refusal, xml, S3Storage, SERVER_CALL_TTL};
use crate::storage::{check_part_order, same_etag, Assembled, PartToSign, StorageError};
use partway::core::wire::{CompletedPart, SignedPart, StoredPart};
use partway::core::{Checksum, ChecksumMode, Crc64, ETag, PartNumber, SignedUrl};
use reqwest::Method;
use rusty_s3::actions::CreateMultipartUpload;
use rusty_s3::S3Action;
use std::collections::BTreeMap;
use std::time::Duration;
use xml::{part_u16, ListedPart};

/// The largest file sent as one PutObject: what a URL that outlives its upload can
/// store again, until the sweep deletes it, is bounded by it.
pub(super) const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;

/// How a file goes to storage, read from the upload id the database keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Upload<'a> {
    /// One PutObject of the whole file, checksummed in this mode: storage has no upload
    /// id for it.
    Single(ChecksumMode),
    /// A multipart upload, with storage's id.
    Multipart(&'a str),
}

impl<'a> Upload<'a> {
    /// What the database keeps as the storage upload id of a single PUT with SHA-256
    /// (the only kind earlier versions made).
    const SINGLE_ID: &'static str = "single-put";
    /// ... and with CRC-64/NVME.
    const SINGLE_CRC_ID: &'static str = "single-put-crc64nvme";

    /// The upload an id stands for.
    pub fn from_id(id: &'a str) -> Self {
        match id {
            Self::SINGLE_ID => Upload::Single(ChecksumMode::Sha256),
            Self::SINGLE_CRC_ID => Upload::Single(ChecksumMode::Crc64nvme),
            _ => Upload::Multipart(id),
        }
    }

    /// The id the database keeps for this upload.
    pub fn id(self) -> String {
        match self {
            Upload::Single(ChecksumMode::Sha256) => Self::SINGLE_ID.to_string(),
            Upload::Single(ChecksumMode::Crc64nvme) => Self::SINGLE_CRC_ID.to_string(),
            Upload::Multipart(id) => id.to_string(),
        }
    }
}

impl S3Storage {
    /// Starts a multipart upload to `key` with checksums of `mode`.
    pub(super) async fn create_multipart_upload(
        &self,
        key: &str,
        content_type: &str,
        mode: ChecksumMode,
    ) -> Result<String, StorageError> {
        let key = self.key(key);
        let mut action = self
            .bucket
            .create_multipart_upload(Some(&self.credentials), &key);
        let content_type = object_type(content_type);
        action.headers_mut().insert("content-type", content_type);
        // SHA-256 parts join into a composite checksum; a CRC-64/NVME is checked over
        // the full object, combined from the parts'.
        let checksum: &[(&str, &str)] = match mode {
            ChecksumMode::Sha256 => &[("x-amz-checksum-algorithm", "SHA256")],
            ChecksumMode::Crc64nvme => &[
                ("x-amz-checksum-algorithm", "CRC64NVME"),
                ("x-amz-checksum-type", "FULL_OBJECT"),
            ],
        };
        let mut headers = vec![("content-type", content_type)];
        headers.extend_from_slice(checksum);
        for (name, value) in checksum {
            action.headers_mut().insert(*name, *value);
        }
        let answer = self
            .call(Method::POST, action.sign(SERVER_CALL_TTL), &headers, None)
            .await?;
        let created =
            CreateMultipartUpload::parse_response(&answer.body).map_err(StorageError::failed)?;
        Ok(Upload::Multipart(created.upload_id()).id())
    }

    /// A PUT URL for one part, its exact length and checksum (and, for a single PUT,
    /// the file's type) signed in.
    pub(super) fn upload_part_url(&self, part: &PartToSign<'_>, ttl: Duration) -> SignedPart {
        let key = self.key(part.key);
        // The part's exact length is signed: storage refuses a body of any other size,
        // so no URL can store more than the plan says. The browser sets Content-Length
        // itself, so it is not among the headers handed to the client.
        let len = part.len.to_string();
        let mut headers = BTreeMap::new();
        if let Some(sum) = part.checksum {
            headers.insert(sum.mode().header().to_string(), sum.to_base64());
        }
        let url = match Upload::from_id(part.upload_id) {
            Upload::Single(_) => {
                // Without it the object would take whatever type the browser sends
                // with the file, unchecked.
                headers.insert(
                    "content-type".to_string(),
                    object_type(part.content_type).into(),
                );
                signed_put(
                    self.bucket.put_object(Some(&self.credentials), &key),
                    &len,
                    &headers,
                    ttl,
                )
            }
            Upload::Multipart(id) => signed_put(
                self.bucket
                    .upload_part(Some(&self.credentials), &key, part_u16(part.part), id),
                &len,
                &headers,
                ttl,
            ),
        };
        SignedPart {
            part_number: part.part,
            url: SignedUrl::new(url.to_string()),
            headers,
            expires_in: ttl.as_secs(),
        }
    }

    /// The parts storage holds, with storage's own checksum of each.
    pub(super) async fn stored_parts(
        &self,
        key: &str,
        upload: Upload<'_>,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let key = self.key(key);
        let id = match upload {
            Upload::Single(mode) => {
                let stored = self.head_object(&key, mode).await?;
                return Ok(stored
                    .map(|head| vec![head.into_part(mode)])
                    .unwrap_or_default());
            }
            Upload::Multipart(id) => id,
        };
        let parts = self.list_parts_of(&key, id).await?;
        Ok(parts
            .into_iter()
            .map(|p| StoredPart {
                part_number: PartNumber(p.part_number),
                etag: ETag(p.etag),
                size: p.size,
                sha256: p
                    .checksum_sha256
                    .and_then(|c| Checksum::from_base64(&c).ok()),
                crc64nvme: p
                    .checksum_crc64nvme
                    .and_then(|c| Crc64::from_base64(&c).ok()),
            })
            .collect())
    }

    /// Every part of a multipart upload, following ListParts' pages.
    async fn list_parts_of(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<ListedPart>, StorageError> {
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
            let page = xml::parse_list_parts(&answer.body).map_err(StorageError::failed)?;
            parts.extend(page.parts);
            match (page.is_truncated, page.next_part_number_marker) {
                (true, Some(next)) => marker = Some(next),
                _ => return Ok(parts),
            }
        }
        Err(StorageError::failed("ListParts did not end"))
    }

    /// Joins the parts into the object (a single PUT is joined already: its ETag, and
    /// with `full_object` its CRC, are checked). With `full_object`, storage checks the
    /// whole object's CRC-64/NVME.
    ///
    /// `listed` is storage's own listing of the parts, taken just now by the caller:
    /// given, it is not asked for again (for a small file, a HEAD; for a multipart
    /// upload, ListParts). Parts stored since can only hold the same bytes (their
    /// checksums are signed), and a changed ETag makes storage refuse to join.
    pub(super) async fn complete_multipart_upload(
        &self,
        key: &str,
        upload: Upload<'_>,
        parts: &[CompletedPart],
        full_object: Option<Crc64>,
        listed: Option<&[StoredPart]>,
    ) -> Result<Assembled, StorageError> {
        check_part_order(parts)?;
        let key = self.key(key);
        let upload_id = match upload {
            Upload::Single(mode) => {
                let stored = match listed {
                    Some([part]) => Some(part.clone()),
                    _ => self
                        .head_object(&key, mode)
                        .await?
                        .map(|h| h.into_part(mode)),
                };
                return single_put_done(stored, parts, mode, full_object);
            }
            Upload::Multipart(id) => id,
        };
        // The body must name each part's checksum as storage holds it.
        let listed = match listed {
            Some(listed) => listed.iter().map(ListedPart::from).collect(),
            None => self.list_parts_of(&key, upload_id).await?,
        };
        if listed.len() != parts.len() {
            return Err(StorageError::PartMismatch(format!(
                "Storage holds {} parts; {} were listed.",
                listed.len(),
                parts.len()
            )));
        }
        for (mine, theirs) in parts.iter().zip(&listed) {
            if mine.part_number.0 != theirs.part_number || !same_etag(&mine.etag.0, &theirs.etag) {
                return Err(StorageError::PartMismatch(format!(
                    "Part {}'s ETag does not match the part storage holds; send that part again.",
                    mine.part_number
                )));
            }
        }
        let etags: Vec<&str> = listed.iter().map(|p| p.etag.as_str()).collect();
        let mut action = self.bucket.complete_multipart_upload(
            Some(&self.credentials),
            &key,
            upload_id,
            etags.into_iter(),
        );
        let whole = full_object.map(Crc64::to_base64);
        let mut headers = Vec::new();
        if let Some(crc) = &whole {
            let header = ChecksumMode::Crc64nvme.header();
            action.headers_mut().insert(header, crc.as_str());
            headers.push((header, crc.as_str()));
        }
        let answer = self
            .call(
                Method::POST,
                action.sign(SERVER_CALL_TTL),
                &headers,
                Some(xml::complete_body(&listed)),
            )
            .await?;
        // S3 may answer 200 and still report an error in the body.
        if xml::parse_error(&answer.body).is_some() {
            return Err(refusal(answer.status, &answer.body));
        }
        let mode = match full_object {
            Some(_) => ChecksumMode::Crc64nvme,
            None => ChecksumMode::Sha256,
        };
        let head = self
            .head_object(&key, mode)
            .await?
            .ok_or_else(|| StorageError::failed("completed object is missing"))?;
        // A composite checksum is no file's SHA-256, but a one-part file's is its part's.
        let sha256 = match listed.as_slice() {
            [only] => only
                .checksum_sha256
                .as_deref()
                .and_then(|c| Checksum::from_base64(c).ok())
                .map(|c| c.to_hex()),
            _ => None,
        };
        Ok(Assembled {
            sha256,
            ..head.assembled()
        })
    }

    /// Every multipart upload in progress under this storage's prefix, as (key without
    /// the prefix, upload id): what an audit compares with the uploads recorded as
    /// active. Bounded at 100 pages of 1,000.
    pub async fn multipart_uploads(&self) -> Result<Vec<(String, String)>, StorageError> {
        let mut found = Vec::new();
        let mut markers: Option<(String, String)> = None;
        for _ in 0..100 {
            // rusty-s3 has no ListMultipartUploads action: the URL is signed by hand.
            let mut query = vec![("uploads", String::new()), ("prefix", self.prefix.clone())];
            if let Some((key, id)) = &markers {
                query.push(("key-marker", key.clone()));
                query.push(("upload-id-marker", id.clone()));
            }
            // The signer merges these with its own parameters and wants them sorted.
            query.sort();
            let signed = rusty_s3::signing::sign(
                &jiff::Timestamp::now(),
                rusty_s3::Method::Get,
                self.bucket.base_url().clone(),
                self.credentials.key(),
                self.credentials.secret(),
                self.credentials.token(),
                self.bucket.region(),
                SERVER_CALL_TTL.as_secs(),
                query.iter().map(|(k, v)| (*k, v.as_str())),
                std::iter::empty(),
            );
            let answer = self.call(Method::GET, signed, &[], None).await?;
            let page = xml::parse_list_uploads(&answer.body).map_err(StorageError::failed)?;
            found.extend(page.uploads.into_iter().filter_map(|u| {
                let key = u.key.strip_prefix(self.prefix.as_str())?.to_string();
                Some((key, u.upload_id))
            }));
            match (
                page.is_truncated,
                page.next_key_marker,
                page.next_upload_id_marker,
            ) {
                (true, Some(key), Some(id)) => markers = Some((key, id)),
                _ => return Ok(found),
            }
        }
        Err(StorageError::failed(
            "more than 100,000 uploads in progress under the prefix",
        ))
    }

    /// Cancels the upload and frees its parts; a single PUT's object is deleted.
    pub(super) async fn abort_upload(
        &self,
        key: &str,
        upload: Upload<'_>,
    ) -> Result<(), StorageError> {
        let key = self.key(key);
        let id = match upload {
            Upload::Single(_) => return self.delete_key(&key).await,
            Upload::Multipart(id) => id,
        };
        let url = self
            .bucket
            .abort_multipart_upload(Some(&self.credentials), &key, id)
            .sign(SERVER_CALL_TTL);
        match self.call(Method::DELETE, url, &[], None).await {
            Ok(_) | Err(StorageError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The `x-amz-checksum-sha256` storage reports for the object joined from `stored`: a
/// single PUT's own SHA-256, or for a multipart upload S3's composite, the SHA-256 of
/// the parts' SHA-256s one after the other, then `-<parts>`. `None` if a part lacks one.
pub(super) fn expected_checksum(upload: Upload<'_>, stored: &[StoredPart]) -> Option<String> {
    let sums: Vec<Checksum> = stored.iter().map(|p| p.sha256).collect::<Option<_>>()?;
    match upload {
        Upload::Single(_) => sums.first().map(Checksum::to_base64),
        Upload::Multipart(_) => {
            let joined: Vec<u8> = sums.iter().flat_map(|c| *c.as_bytes()).collect();
            Some(format!(
                "{}-{}",
                Checksum::of(&joined).to_base64(),
                sums.len()
            ))
        }
    }
}

/// What a small file's one PutObject stored, as completing reports it: its ETag must
/// be the one the client names, and its CRC the whole file's when one was sent.
fn single_put_done(
    stored: Option<StoredPart>,
    parts: &[CompletedPart],
    mode: ChecksumMode,
    full_object: Option<Crc64>,
) -> Result<Assembled, StorageError> {
    let Some(stored) = stored else {
        return Err(StorageError::PartMismatch(
            "The file has not been stored.".into(),
        ));
    };
    if parts.len() != 1 || !same_etag(&stored.etag.0, &parts[0].etag.0) {
        return Err(StorageError::PartMismatch(
            "The ETag does not match the stored file; send it again.".into(),
        ));
    }
    if let Some(whole) = full_object.filter(|w| stored.crc64nvme != Some(*w)) {
        return Err(StorageError::ChecksumMismatch(format!(
            "The stored file's CRC-64/NVME is {}, not the {} sent.",
            stored.crc64nvme.map_or("unknown".into(), Crc64::to_base64),
            whole.to_base64()
        )));
    }
    Ok(Assembled {
        size: stored.size,
        sha256: stored.sha256.map(|c| c.to_hex()),
        checksum: match mode {
            ChecksumMode::Sha256 => stored.sha256.map(|c| c.to_base64()),
            ChecksumMode::Crc64nvme => stored.crc64nvme.map(Crc64::to_base64),
        },
    })
}

/// The type an object is stored with.
fn object_type(content_type: &str) -> &str {
    if content_type.is_empty() {
        "application/octet-stream"
    } else {
        content_type
    }
}

/// A PUT `action` signed for a body of exactly `len` bytes that carries `headers`.
fn signed_put<'a, A: S3Action<'a>>(
    mut action: A,
    len: &'a str,
    headers: &'a BTreeMap<String, String>,
    ttl: Duration,
) -> url::Url {
    action.headers_mut().insert("content-length", len);
    for (name, value) in headers {
        action.headers_mut().insert(name.as_str(), value.as_str());
    }
    action.sign(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composite_checksum_is_the_hash_of_the_part_hashes() {
        let part = |n: u32, bytes: &[u8]| StoredPart {
            part_number: PartNumber(n),
            etag: ETag(String::new()),
            size: bytes.len() as u64,
            sha256: Some(Checksum::of(bytes)),
            crc64nvme: None,
        };
        let stored = [part(1, b"one"), part(2, b"two")];
        let mut both = Checksum::of(b"one").as_bytes().to_vec();
        both.extend(Checksum::of(b"two").as_bytes());
        assert_eq!(
            expected_checksum(Upload::Multipart("u"), &stored),
            Some(format!("{}-2", Checksum::of(&both).to_base64()))
        );
        assert_eq!(
            expected_checksum(Upload::Single(ChecksumMode::Sha256), &stored[..1]),
            Some(Checksum::of(b"one").to_base64())
        );
        let mut unsummed = stored.to_vec();
        unsummed[1].sha256 = None;
        assert_eq!(expected_checksum(Upload::Multipart("u"), &unsummed), None);
    }

    #[test]
    fn upload_ids_round_trip() {
        for mode in [ChecksumMode::Sha256, ChecksumMode::Crc64nvme] {
            assert_eq!(
                Upload::from_id(&Upload::Single(mode).id()),
                Upload::Single(mode)
            );
        }
        assert_eq!(Upload::from_id("abc"), Upload::Multipart("abc"));
        assert_eq!(Upload::Multipart("abc").id(), "abc");
    }
}
