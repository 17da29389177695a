//! SHA-256 of a part: WebCrypto in a Worker where the page has WebCrypto (off the main
//! thread; see `hash_worker.js`), the `sha2` crate otherwise (about 180 MB/s; WebCrypto
//! needs a secure context).

use crate::core::Checksum;
use js_sys::{ArrayBuffer, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

#[wasm_bindgen(module = "/src/browser/hash_worker.js")]
extern "C" {
    /// The digest as a promise of an ArrayBuffer, or null without WebCrypto.
    #[wasm_bindgen(js_name = sha256)]
    fn sha256_in_worker(blob: &Blob) -> Option<Promise>;
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

/// SHA-256 of a blob, by the fastest way the page offers.
pub async fn sha256(blob: &Blob) -> Result<Checksum, String> {
    match sha256_in_worker(blob) {
        Some(promise) => {
            // A failed read is the only way a digest of a blob fails.
            let digest = JsFuture::from(promise)
                .await
                .map_err(|_| UNREADABLE.to_string())?;
            Checksum::from_slice(&Uint8Array::new(&digest).to_vec()).map_err(|e| e.to_string())
        }
        None => Ok(digest_fallback(&read(blob).await?)),
    }
}
