//! Cutting a `File` into parts without reading it: `Blob.slice` only points at the bytes.

use crate::core::ByteRange;
use web_sys::Blob;

/// The bytes of `range` as a new `Blob` that reads lazily from disk.
pub fn slice(file: &Blob, range: ByteRange) -> Result<Blob, String> {
    file.slice_with_f64_and_f64(range.start as f64, range.end as f64)
        .map_err(|e| format!("could not slice the file: {e:?}"))
}
