//! Checksums of parts, off the main thread (see `hash_worker.js`): SHA-256 by WebCrypto
//! where the page has it (the `sha2` crate otherwise, about 180 MB/s; WebCrypto needs a
//! secure context), or CRC-64/NVME.

use crate::core::{Checksum, ChecksumMode, Crc64, PartSum};
use js_sys::{ArrayBuffer, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

#[wasm_bindgen(module = "/src/browser/hash_worker.js")]
extern "C" {
    /// The checksum as a promise of an ArrayBuffer, or null for SHA-256 without
    /// WebCrypto.
    #[wasm_bindgen(js_name = partSum)]
    fn sum_in_worker(algo: &str, blob: &Blob) -> Option<Promise>;

    /// The whole blob's SHA-256, read as a stream, as a promise of an ArrayBuffer.
    #[wasm_bindgen(js_name = fileSha256)]
    fn stream_sha256(id: u32, blob: &Blob) -> Promise;

    /// Stops the stream of job `id`; its promise is rejected.
    #[wasm_bindgen(js_name = cancelFileSha256)]
    fn cancel_stream_sha256(id: u32);
}

thread_local! {
    static NEXT_FILE_JOB: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A whole file's SHA-256 being streamed: dropping it stops the stream, so an upload that
/// ends (done, failed, cancelled, its element removed) reads no more of its file.
pub struct FileHashJob(u32);

impl Drop for FileHashJob {
    fn drop(&mut self) {
        cancel_stream_sha256(self.0);
    }
}

const UNREADABLE: &str = "The file could not be read. Was it moved or changed?";

/// Reads a blob (one part, never a whole file) into memory.
pub async fn read(blob: &Blob) -> Result<ArrayBuffer, String> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| UNREADABLE.to_string())?;
    buffer
        .dyn_into::<ArrayBuffer>()
        .map_err(|_| "The browser returned no bytes.".to_string())
}

/// SHA-256 with the `sha2` crate compiled to wasm, on the calling thread.
pub fn digest_fallback(bytes: &ArrayBuffer) -> Checksum {
    Checksum::of(&Uint8Array::new(bytes).to_vec())
}

/// The raw bytes of a checksum computed in the worker.
async fn in_worker(algo: &str, blob: &Blob) -> Result<Option<Vec<u8>>, String> {
    let Some(promise) = sum_in_worker(algo, blob) else {
        return Ok(None);
    };
    // A failed read is the only way a checksum of a blob fails.
    let digest = JsFuture::from(promise)
        .await
        .map_err(|_| UNREADABLE.to_string())?;
    Ok(Some(Uint8Array::new(&digest).to_vec()))
}

/// SHA-256 of a blob, by the fastest way the page offers.
pub async fn sha256(blob: &Blob) -> Result<Checksum, String> {
    match in_worker(ChecksumMode::Sha256.as_str(), blob).await? {
        Some(bytes) => Checksum::from_slice(&bytes).map_err(|e| e.to_string()),
        None => Ok(digest_fallback(&read(blob).await?)),
    }
}

/// A part's checksum in the upload's mode.
pub async fn part_sum(blob: &Blob, mode: ChecksumMode) -> Result<PartSum, String> {
    match mode {
        ChecksumMode::Sha256 => sha256(blob).await.map(PartSum::Sha256),
        ChecksumMode::Crc64nvme => {
            // The module computes the CRC on either thread: it always answers.
            let bytes = in_worker(mode.as_str(), blob)
                .await?
                .ok_or_else(|| UNREADABLE.to_string())?;
            let bytes: [u8; 8] = bytes
                .try_into()
                .map_err(|_| "The CRC came back malformed.".to_string())?;
            Ok(PartSum::Crc64nvme(Crc64(u64::from_be_bytes(bytes))))
        }
    }
}

/// Starts streaming a whole file through SHA-256 in a Worker of its own: the job (drop it
/// to stop) and the digest to come.
pub fn file_sha256(
    file: &Blob,
) -> (
    FileHashJob,
    impl std::future::Future<Output = Result<Checksum, String>>,
) {
    let id = NEXT_FILE_JOB.with(|n| n.replace(n.get().wrapping_add(1)));
    let promise = stream_sha256(id, file);
    let digest = async move {
        let digest = JsFuture::from(promise)
            .await
            .map_err(|_| UNREADABLE.to_string())?;
        Checksum::from_slice(&Uint8Array::new(&digest).to_vec()).map_err(|e| e.to_string())
    };
    (FileHashJob(id), digest)
}
