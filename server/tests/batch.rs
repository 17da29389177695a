//! Batches: many uploads started, and completed, in one call each, every item answered
//! as the single call would have been.

mod common;

use axum::http::Method;
use common::{checksums, TestServer};
use partway::core::wire::{
    BatchResponse, BatchResult, CompleteUploadItem, CompleteUploadRequest, CompleteUploadResponse,
    CompleteUploadsRequest, CreateUploadRequest, CreateUploadResponse, CreateUploadsRequest,
    MAX_BATCH,
};
use partway::core::UploadId;
use serde_json::json;

fn one_part(name: &str, data: &[u8]) -> CreateUploadRequest {
    let size = data.len() as u64;
    CreateUploadRequest {
        name: name.into(),
        size,
        content_type: "text/plain".into(),
        last_modified: None,
        part_size: size.max(1),
        parts: checksums(data, size.max(1)),
        checksum: None,
    }
}

async fn create_many(
    server: &TestServer,
    token: &str,
    uploads: Vec<CreateUploadRequest>,
) -> Vec<BatchResult<CreateUploadResponse>> {
    let body = serde_json::to_value(CreateUploadsRequest { uploads }).expect("json");
    let answer = server
        .api(Method::POST, "/api/uploads/batch", Some(token), Some(body))
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.parse::<BatchResponse<_>>().results
}

async fn complete_many(
    server: &TestServer,
    token: &str,
    uploads: Vec<CompleteUploadItem>,
) -> Vec<BatchResult<CompleteUploadResponse>> {
    let body = serde_json::to_value(CompleteUploadsRequest { uploads }).expect("json");
    let answer = server
        .api(
            Method::POST,
            "/api/uploads/batch/complete",
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.parse::<BatchResponse<_>>().results
}

#[track_caller]
fn done<T>(result: BatchResult<T>) -> T {
    match result {
        BatchResult::Done { ok } => ok,
        BatchResult::Refused { status, error, .. } => {
            panic!("refused {status}: {error:?}")
        }
    }
}

#[track_caller]
fn assert_refused<T>(result: &BatchResult<T>, want_status: u16, want_code: &str) {
    match result {
        BatchResult::Refused { status, error, .. } => {
            assert_eq!(*status, want_status, "{error:?}");
            assert_eq!(serde_json::to_value(error.code).expect("code"), want_code);
            assert!(!error.message.is_empty());
        }
        BatchResult::Done { .. } => panic!("expected {want_status} {want_code}, got a success"),
    }
}

#[tokio::test]
async fn a_batch_starts_and_completes_each_file_and_refuses_only_the_bad_ones() {
    let server = TestServer::with(|c| c.max_file_size = 100).await;
    let token = server.token("alice");
    let files: [(&str, &[u8]); 4] = [
        ("a.txt", b"first"),
        ("big.txt", &[b'x'; 101]),
        ("b.txt", b"second file"),
        ("empty.txt", b""),
    ];
    let mut created = create_many(
        &server,
        &token,
        files.iter().map(|(n, d)| one_part(n, d)).collect(),
    )
    .await;
    assert_eq!(created.len(), 4);
    assert_refused(&created[1], 413, "file_too_large");
    let created: Vec<(CreateUploadResponse, &[u8])> = [3, 2, 0]
        .into_iter()
        .map(|i| (done(created.remove(i)), files[i].1))
        .collect();

    let mut items = Vec::new();
    for (upload, data) in &created {
        let parts = server.put_all(upload, data).await;
        items.push(CompleteUploadItem {
            upload_id: upload.upload_id.clone(),
            request: CompleteUploadRequest {
                parts,
                crc64nvme: None,
                sha256: None,
            },
        });
    }
    let mut unknown = items[0].clone();
    unknown.upload_id = UploadId("0190f0f0-0000-7000-8000-000000000000".into());
    items.insert(1, unknown);
    // The same upload twice in one batch: completing is idempotent, so both get the file.
    items.push(items[0].clone());
    let results = complete_many(&server, &token, items).await;
    assert_eq!(results.len(), 5);
    assert_refused(&results[1], 404, "not_found");
    let mut results = results.into_iter();
    let first = done(results.next().expect("first"));
    results.next();
    let names: Vec<String> = results.map(|r| done(r).file.name).collect();
    assert_eq!(first.file.name, "empty.txt");
    assert_eq!(names, ["b.txt", "a.txt", "empty.txt"]);
    let download = server.download(&first.download_url).await;
    assert_eq!(download.status, 200);

    let listed = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await
        .json();
    assert_eq!(
        listed["files"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );
}

#[tokio::test]
async fn the_quota_is_checked_item_by_item_in_order() {
    let server = TestServer::with(|c| c.quota_files = 2).await;
    let token = server.token("alice");
    let results = create_many(
        &server,
        &token,
        vec![
            one_part("1", b"1"),
            one_part("2", b"2"),
            one_part("3", b"3"),
        ],
    )
    .await;
    done(results[0].clone());
    done(results[1].clone());
    assert_refused(&results[2], 403, "quota_exceeded");
}

#[tokio::test]
async fn every_item_counts_against_the_rate_limit() {
    let server = TestServer::with(|c| {
        c.rate_limit_user = 1;
        c.rate_limit_address = 0;
    })
    .await;
    let token = server.token("alice");
    // A burst of ten: the request and the nine items after the first.
    let results = create_many(
        &server,
        &token,
        (0..12)
            .map(|i| one_part(&format!("{i}.txt"), b"x"))
            .collect(),
    )
    .await;
    for r in &results[..10] {
        done(r.clone());
    }
    for r in &results[10..] {
        assert_refused(r, 429, "rate_limited");
        let BatchResult::Refused { retry_after, .. } = r else {
            unreachable!()
        };
        assert!(matches!(retry_after, Some(1..=2)), "{retry_after:?}");
    }
}

#[tokio::test]
async fn an_empty_or_oversized_batch_is_refused_whole() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    for n in [0, MAX_BATCH + 1] {
        let uploads: Vec<_> = (0..n).map(|i| one_part(&format!("{i}"), b"x")).collect();
        let body = serde_json::to_value(CreateUploadsRequest { uploads }).expect("json");
        let answer = server
            .api(Method::POST, "/api/uploads/batch", Some(&token), Some(body))
            .await;
        answer.assert_error(400, "invalid_request");
        let answer = server
            .api(
                Method::POST,
                "/api/uploads/batch/complete",
                Some(&token),
                Some(json!({"uploads": []})),
            )
            .await;
        answer.assert_error(400, "invalid_request");
    }
    let answer = server
        .api(
            Method::POST,
            "/api/uploads/batch",
            None,
            Some(json!({"uploads": []})),
        )
        .await;
    answer.assert_error(401, "unauthorized");
    // `batch` is a route, never an upload id.
    let answer = server
        .api(Method::GET, "/api/uploads/batch", Some(&token), None)
        .await;
    answer.assert_error(405, "invalid_request");
}
