//! Browser-layer tests in a real headless Chromium (`wasm-bindgen-test`), against a real
//! running companion server whose URL `tests/run` passes in `PARTWAY_TEST_SERVER`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)]

use partway::browser::api::Api;
use partway::browser::token::Tokens;
use partway::browser::{hash, slice, xhr::PartPut};
use partway::core::wire::{
    CompleteUploadRequest, CompletedPart, CreateUploadRequest, ErrorCode, PartChecksum,
};
use partway::core::{
    ByteRange, Checksum, ChecksumMode, Crc64, Failure, PartNumber, PartSum, UploadId,
};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;
use web_sys::{Blob, BlobPropertyBag};

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: &str = match option_env!("PARTWAY_TEST_SERVER") {
    Some(url) => url,
    None => "http://127.0.0.1:8787",
};

/// A blob of `len` bytes that differ from each other (so a wrong slice is noticed).
fn patterned(len: usize) -> (Vec<u8>, Blob) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let parts = js_sys::Array::of1(&array);
    let blob =
        Blob::new_with_u8_array_sequence_and_options(&parts, &BlobPropertyBag::new()).unwrap();
    (bytes, blob)
}

#[wasm_bindgen_test]
async fn slices_read_exactly_their_range() {
    let (bytes, blob) = patterned(100_000);
    for (start, end) in [
        (0u64, 10u64),
        (99_990, 100_000),
        (12_345, 67_890),
        (500, 500),
        (0, 100_000),
    ] {
        let part = slice::slice(&blob, ByteRange { start, end }, 100_000).unwrap();
        let read = js_sys::Uint8Array::new(&hash::read(&part).await.unwrap()).to_vec();
        assert_eq!(read, bytes[start as usize..end as usize]);
    }
}

#[wasm_bindgen_test]
async fn the_worker_digest_and_the_sha2_fallback_agree() {
    for len in [0usize, 3, 65_536, 5 * 1024 * 1024 + 7] {
        let (bytes, blob) = patterned(len);
        let fallback = hash::digest_fallback(&hash::read(&blob).await.unwrap());
        assert_eq!(fallback, Checksum::of(&bytes), "len {len}");
        assert_eq!(hash::sha256(&blob).await.unwrap(), fallback, "len {len}");
    }
}

#[wasm_bindgen_test]
async fn the_workers_crc64nvme_is_the_crc_crates() {
    // Lengths around the 8-byte stride, and a part-sized one.
    for len in [
        0usize,
        1,
        7,
        8,
        9,
        15,
        16,
        17,
        65_536 + 5,
        5 * 1024 * 1024 + 7,
    ] {
        let (bytes, blob) = patterned(len);
        assert_eq!(
            hash::part_sum(&blob, ChecksumMode::Crc64nvme)
                .await
                .unwrap(),
            PartSum::Crc64nvme(Crc64::of(&bytes)),
            "len {len}"
        );
    }
    let (_, blob) = patterned(9);
    let sliced = slice::slice(&blob, ByteRange { start: 1, end: 9 }, 9).unwrap();
    let (bytes, _) = patterned(9);
    assert_eq!(
        hash::part_sum(&sliced, ChecksumMode::Crc64nvme)
            .await
            .unwrap(),
        PartSum::Crc64nvme(Crc64::of(&bytes[1..])),
        "a slice that starts off a word boundary"
    );
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/browser/hash_worker.js")]
extern "C" {
    /// The streaming SHA-256 fed these chunks one after another.
    #[wasm_bindgen(js_name = sha256OfChunks)]
    fn sha256_of_chunks(chunks: &js_sys::Array) -> js_sys::ArrayBuffer;
}

#[wasm_bindgen_test]
async fn the_whole_files_streamed_sha256_is_the_sha2_crates() {
    // Lengths around the 64-byte block and its 56-byte padding limit, and one long
    // enough for the stream to come in several chunks.
    for len in [
        0usize,
        1,
        55,
        56,
        57,
        63,
        64,
        65,
        119,
        120,
        128,
        3 * 1024 * 1024 + 13,
    ] {
        let (bytes, blob) = patterned(len);
        assert_eq!(
            hash::file_sha256(&blob).1.await.unwrap(),
            Checksum::of(&bytes),
            "len {len}"
        );
    }
    // A job dropped before its end stops the stream and rejects its digest.
    let (_, blob) = patterned(3 * 1024 * 1024);
    let (job, digest) = hash::file_sha256(&blob);
    drop(job);
    assert!(digest.await.is_err());
    // Chunk seams anywhere in a block.
    let (bytes, _) = patterned(1_000);
    for step in [1usize, 3, 63, 64, 65, 200] {
        let chunks = js_sys::Array::new();
        for chunk in bytes.chunks(step) {
            chunks.push(&js_sys::Uint8Array::from(chunk));
        }
        let digest = js_sys::Uint8Array::new(&sha256_of_chunks(&chunks)).to_vec();
        assert_eq!(
            Checksum::from_slice(&digest).unwrap(),
            Checksum::of(&bytes),
            "step {step}"
        );
    }
}

#[wasm_bindgen_test]
async fn parts_hashed_at_once_each_get_their_own_digest() {
    // Answers from the shared worker come back by id, whatever the order.
    let blobs: Vec<_> = (0..8).map(|i| patterned(10_000 + i * 4_099)).collect();
    let digests = futures::future::join_all(blobs.iter().map(|(_, blob)| hash::sha256(blob))).await;
    for ((bytes, _), digest) in blobs.iter().zip(digests) {
        assert_eq!(digest.unwrap(), Checksum::of(bytes));
    }
}

async fn next_put(
    done: &Rc<RefCell<Option<Result<partway::core::ETag, Failure>>>>,
) -> Result<partway::core::ETag, Failure> {
    for _ in 0..600 {
        if let Some(outcome) = done.borrow_mut().take() {
            return outcome;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    panic!("the PUT did not finish within 30 s");
}

#[wasm_bindgen_test]
async fn xhr_put_reports_progress_and_returns_the_etag_and_storage_checks_the_checksum() {
    let token = Api::dev_token(SERVER, "browser-test")
        .await
        .expect("dev server is up");
    let api = Api::new(SERVER, Tokens::fixed(Some(token)));
    let (bytes, blob) = patterned(3 * 1024 * 1024);
    let checksum = Checksum::of(&bytes);
    let created = api.create(&one_part_file("x.bin", &bytes)).await.unwrap();
    let signed = &created.parts[0];

    // The wrong bytes for the signed checksum: storage refuses them, and says why.
    let (_, other) = patterned(1000);
    let done = Rc::new(RefCell::new(None));
    let d = done.clone();
    let _put = PartPut::start(
        &signed.url,
        &signed.headers,
        &other,
        |_| {},
        move |o| *d.borrow_mut() = Some(o),
    )
    .unwrap();
    match next_put(&done).await {
        Err(Failure::Status {
            status: 400,
            message: Some(m),
            ..
        }) => assert!(!m.is_empty()),
        other => panic!("expected a 400 with a message, got {other:?}"),
    }

    // The right bytes: progress events, then an ETag (exposed through CORS).
    let progress = Rc::new(RefCell::new(Vec::new()));
    let p = progress.clone();
    let d = done.clone();
    let _put = PartPut::start(
        &signed.url,
        &signed.headers,
        &blob,
        move |n| p.borrow_mut().push(n),
        move |o| *d.borrow_mut() = Some(o),
    )
    .unwrap();
    let etag = next_put(&done).await.expect("the part is stored");
    assert!(!etag.0.is_empty());
    let seen = progress.borrow().clone();
    assert!(!seen.is_empty(), "no progress event");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    assert!(*seen.last().unwrap() <= bytes.len() as u64);

    let complete = CompleteUploadRequest {
        parts: vec![CompletedPart {
            part_number: PartNumber(1),
            etag,
        }],
        crc64nvme: None,
        sha256: None,
    };
    let res = api.complete(&created.upload_id, &complete).await.unwrap();
    assert_eq!(res.file.sha256.as_deref(), Some(checksum.to_hex().as_str()));
}

#[wasm_bindgen_test]
async fn api_errors_carry_the_servers_message() {
    let api = Api::new(SERVER, Tokens::fixed(Some("forged.token.here".into())));
    let req = CreateUploadRequest {
        name: "x".into(),
        size: 1,
        content_type: String::new(),
        last_modified: None,
        part_size: 1,
        parts: vec![],
        checksum: None,
    };
    match api.create(&req).await {
        Err(Failure::Status {
            status: 401,
            message: Some(m),
            ..
        }) => assert!(!m.is_empty()),
        other => panic!("expected 401 with a message, got {other:?}"),
    }
}

/// Wraps the page's `fetch` to note each URL called, until `stop_noting_fetches`.
fn note_fetches() {
    js_sys::Function::new_no_args(
        "const f = globalThis.fetch; globalThis.__noted = []; globalThis.__fetch = f;
         globalThis.fetch = (url, init) => { globalThis.__noted.push(String(url)); return f(url, init); };",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
}

/// The paths (after the server's origin) `fetch` was called with since `note_fetches`.
fn stop_noting_fetches() -> Vec<String> {
    let noted = js_sys::Function::new_no_args(
        "globalThis.fetch = globalThis.__fetch; return globalThis.__noted;",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
    js_sys::Array::from(&noted)
        .iter()
        .map(|u| {
            u.as_string()
                .unwrap()
                .trim_start_matches(SERVER)
                .to_string()
        })
        .collect()
}

/// A file of one part, `bytes`, with its SHA-256.
fn one_part_file(name: &str, bytes: &[u8]) -> CreateUploadRequest {
    CreateUploadRequest {
        name: name.into(),
        size: bytes.len() as u64,
        content_type: "application/octet-stream".into(),
        last_modified: None,
        part_size: bytes.len() as u64,
        parts: vec![PartChecksum {
            part_number: PartNumber(1),
            sum: PartSum::Sha256(Checksum::of(bytes)),
        }],
        checksum: None,
    }
}

#[wasm_bindgen_test]
async fn calls_made_together_go_in_one_batch_and_each_gets_its_own_answer() {
    let token = Api::dev_token(SERVER, "browser-batch").await.unwrap();
    let api = Api::new(SERVER, Tokens::fixed(Some(token)));
    let (bytes, blob) = patterned(4096);
    let mut too_big = one_part_file("big.bin", &bytes);
    too_big.size = 1 << 50;
    too_big.part_size = 5 << 30;
    let requests = [
        one_part_file("a.bin", &bytes),
        too_big,
        one_part_file("b.bin", &bytes),
        one_part_file("c.bin", &bytes),
    ];

    note_fetches();
    let created = futures::future::join_all(requests.iter().map(|r| api.create(r))).await;
    assert_eq!(stop_noting_fetches(), ["/api/uploads/batch"]);
    match &created[1] {
        Err(Failure::Status {
            status: 413,
            code: Some(ErrorCode::FileTooLarge),
            message: Some(_),
            ..
        }) => {}
        other => panic!("expected the big file refused alone, got {other:?}"),
    }
    let created: Vec<_> = [&created[0], &created[2], &created[3]]
        .into_iter()
        .map(|c| c.clone().expect("a small file is created"))
        .collect();

    let mut completes = Vec::new();
    for upload in &created {
        let done = Rc::new(RefCell::new(None));
        let d = done.clone();
        let signed = &upload.parts[0];
        let _put = PartPut::start(
            &signed.url,
            &signed.headers,
            &blob,
            |_| {},
            move |o| *d.borrow_mut() = Some(o),
        )
        .unwrap();
        let etag = next_put(&done).await.expect("the part is stored");
        completes.push((
            upload.upload_id.clone(),
            CompleteUploadRequest {
                parts: vec![CompletedPart {
                    part_number: PartNumber(1),
                    etag,
                }],
                crc64nvme: None,
                sha256: None,
            },
        ));
    }
    // One upload that does not exist, among them: refused alone.
    completes.insert(
        1,
        (UploadId("no-such-upload".into()), completes[0].1.clone()),
    );

    note_fetches();
    let completed =
        futures::future::join_all(completes.iter().map(|(id, req)| api.complete(id, req))).await;
    assert_eq!(stop_noting_fetches(), ["/api/uploads/batch/complete"]);
    let names: Vec<_> = completed
        .iter()
        .map(|c| {
            c.as_ref()
                .map(|c| c.file.name.clone())
                .map_err(|e| e.clone())
        })
        .collect();
    assert!(
        matches!(&names[1], Err(Failure::Status { status: 404, .. })),
        "{names:?}"
    );
    assert_eq!(
        [&names[0], &names[2], &names[3]].map(|n| n.clone().ok()),
        [
            Some("a.bin".into()),
            Some("b.bin".into()),
            Some("c.bin".into())
        ]
    );

    // A call made alone goes to its own route.
    note_fetches();
    api.create(&one_part_file("d.bin", &bytes)).await.unwrap();
    assert_eq!(stop_noting_fetches(), ["/api/uploads"]);
}
