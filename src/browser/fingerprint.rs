//! The fingerprint of a picked file: what tells "the same file" after a reload.

use crate::browser::{hash, slice};
use crate::core::resume::{Fingerprint, FINGERPRINT_EDGE};
use crate::core::ByteRange;
use web_sys::File;

/// Name, size, type, date, and the SHA-256 of the file's first and last 64 KiB.
pub async fn fingerprint(file: &File) -> Result<Fingerprint, String> {
    let size = file.size() as u64;
    let head = ByteRange {
        start: 0,
        end: size.min(FINGERPRINT_EDGE),
    };
    let tail = ByteRange {
        start: size.saturating_sub(FINGERPRINT_EDGE),
        end: size,
    };
    Ok(Fingerprint {
        name: file.name(),
        size,
        content_type: file.type_(),
        last_modified: file.last_modified().max(0.0) as u64,
        head_sha256: hash::sha256(&slice::slice(file, head, size)?).await?,
        tail_sha256: hash::sha256(&slice::slice(file, tail, size)?).await?,
    })
}
