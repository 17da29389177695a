//! Cutting a `File` into parts without reading it: `Blob.slice` only points at the bytes.

use crate::core::ByteRange;
use web_sys::Blob;

/// The bytes of `range` of a file of `file_size` bytes, as a `Blob` that reads lazily
/// from disk: the file itself when the range is all of it, since each `slice` of a
/// picked file costs the page a round trip to the browser process (about 1.5 ms measured).
pub fn slice(file: &Blob, range: ByteRange, file_size: u64) -> Result<Blob, String> {
    if range.start == 0 && range.end == file_size {
        return Ok(file.clone());
    }
    file.slice_with_f64_and_f64(range.start as f64, range.end as f64)
        .map_err(|e| format!("could not slice the file: {e:?}"))
}
