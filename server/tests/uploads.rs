//! Uploads end to end, through the signed URLs of the local backend.

mod common;

use axum::http::{Method, StatusCode};
use common::{part_bytes, random_bytes, TestServer, MIB};
use partway::core::wire::{
    CompleteUploadResponse, CompletedPart, CreateUploadResponse, FileDownload, FileList,
    SignPartsResponse, UploadState, UploadStatus,
};
use partway::core::{Checksum, ETag, PartNumber};
use serde_json::json;

async fn round_trip(server: &TestServer, data: &[u8], part_size: u64) {
    let token = server.token("alice");
    let created = server.create(&token, "photo.jpg", data, part_size).await;
    assert_eq!(created.parts.len() as u32, created.part_count);
    let parts = server.put_all(&created, data).await;
    let answer = server.complete(&token, &created.upload_id.0, parts).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let done: CompleteUploadResponse = answer.parse();
    let sha = Checksum::of(data).to_hex();
    assert_eq!(
        (done.file.size, done.file.sha256.as_deref()),
        (data.len() as u64, Some(sha.as_str()))
    );

    let shown: FileDownload = server
        .api(
            Method::GET,
            &format!("/api/files/{}", done.file.id),
            Some(&token),
            None,
        )
        .await
        .parse();
    assert_eq!(shown.file, done.file);
    let download = server.download(&shown.download_url).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(Checksum::of(&download.body), Checksum::of(data));
    let disposition = download.headers["content-disposition"]
        .to_str()
        .expect("ascii");
    assert!(
        disposition.starts_with("attachment; filename=\"photo.jpg\""),
        "{disposition}"
    );
}

#[tokio::test]
async fn three_part_upload_round_trips() {
    let server = TestServer::new().await;
    let data = random_bytes((12 * MIB + 12_345) as usize);
    round_trip(&server, &data, 5 * MIB).await;
}

#[tokio::test]
async fn small_file_round_trips() {
    let server = TestServer::new().await;
    round_trip(&server, b"a small file\n", 13).await;
}

#[tokio::test]
async fn empty_file_round_trips() {
    let server = TestServer::new().await;
    round_trip(&server, b"", 1).await;
}

#[tokio::test]
async fn downloads_honour_ranges() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = b"0123456789".to_vec();
    let created = server.create(&token, "digits.txt", &data, 10).await;
    let parts = server.put_all(&created, &data).await;
    let done: CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, parts)
        .await
        .parse();
    let req = axum::http::Request::get(common::local_path(&done.download_url))
        .header("range", "bytes=2-4")
        .body(axum::body::Body::empty())
        .expect("request");
    let answer = server.send(req).await;
    assert_eq!(answer.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(answer.body, b"234");
}

#[tokio::test]
async fn other_users_uploads_are_not_found() {
    let server = TestServer::new().await;
    let (alice, bob) = (server.token("alice"), server.token("bob"));
    let data = b"alice's".to_vec();
    let created = server.create(&alice, "a.txt", &data, 7).await;
    let id = &created.upload_id.0;
    let sign = json!({"parts": [{"part_number": 1, "sha256": Checksum::of(&data)}]});
    let complete = json!({"parts": [{"part_number": 1, "etag": "\"x\""}]});
    for (method, path, body) in [
        (Method::POST, format!("/api/uploads/{id}/parts"), Some(sign)),
        (
            Method::POST,
            format!("/api/uploads/{id}/complete"),
            Some(complete),
        ),
        (Method::GET, format!("/api/uploads/{id}"), None),
        (Method::DELETE, format!("/api/uploads/{id}"), None),
    ] {
        server
            .api(method, &path, Some(&bob), body)
            .await
            .assert_error(404, "not_found");
    }
    // Alice's upload is untouched and completes; Bob sees none of her files.
    let parts = server.put_all(&created, &data).await;
    let done: CompleteUploadResponse = server.complete(&alice, id, parts).await.parse();
    let bobs: FileList = server
        .api(Method::GET, "/api/files", Some(&bob), None)
        .await
        .parse();
    assert!(bobs.files.is_empty());
    let alices: FileList = server
        .api(Method::GET, "/api/files", Some(&alice), None)
        .await
        .parse();
    assert_eq!(alices.files, vec![done.file.clone()]);
    let path = format!("/api/files/{}", done.file.id);
    server
        .api(Method::GET, &path, Some(&bob), None)
        .await
        .assert_error(404, "not_found");
    server
        .api(Method::DELETE, &path, Some(&bob), None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn files_are_listed_newest_first_and_deleted() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        let created = server.create(&token, name, name.as_bytes(), 5).await;
        let parts = server.put_all(&created, name.as_bytes()).await;
        let done: CompleteUploadResponse = server
            .complete(&token, &created.upload_id.0, parts)
            .await
            .parse();
        ids.push(done.file.id);
    }
    let list: FileList = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await
        .parse();
    let names: Vec<_> = list.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["three", "two", "one"]);
    let shown: FileDownload = server
        .api(
            Method::GET,
            &format!("/api/files/{}", ids[0]),
            Some(&token),
            None,
        )
        .await
        .parse();
    let deleted = server
        .api(
            Method::DELETE,
            &format!("/api/files/{}", ids[0]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    server
        .download(&shown.download_url)
        .await
        .assert_error(404, "not_found");
    let list: FileList = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await
        .parse();
    assert_eq!(list.files.len(), 2);
}

#[tokio::test]
async fn complete_with_a_wrong_etag_is_part_mismatch() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((10 * MIB) as usize);
    let created = server.create(&token, "x.bin", &data, 5 * MIB).await;
    let mut parts = server.put_all(&created, &data).await;
    parts[1].etag = ETag("\"0123456789abcdef0123456789abcdef\"".into());
    server
        .complete(&token, &created.upload_id.0, parts.clone())
        .await
        .assert_error(400, "part_mismatch");
    // Out of order, or missing a part.
    let swapped = vec![parts[1].clone(), parts[0].clone()];
    server
        .complete(&token, &created.upload_id.0, swapped)
        .await
        .assert_error(400, "part_mismatch");
    server
        .complete(&token, &created.upload_id.0, parts[..1].to_vec())
        .await
        .assert_error(400, "part_mismatch");
}

#[tokio::test]
async fn complete_twice_returns_the_same_file() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let created = server.create(&token, "twice.txt", b"twice", 5).await;
    let parts = server.put_all(&created, b"twice").await;
    let first: CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, parts.clone())
        .await
        .parse();
    let second: CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, parts)
        .await
        .parse();
    assert_eq!(first.file, second.file);
    let list: FileList = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await
        .parse();
    assert_eq!(list.files.len(), 1);
    // Nothing more can be signed for it.
    let sign = json!({"parts": [{"part_number": 1, "sha256": Checksum::of(b"twice")}]});
    let path = format!("/api/uploads/{}/parts", created.upload_id);
    server
        .api(Method::POST, &path, Some(&token), Some(sign))
        .await
        .assert_error(409, "upload_not_active");
}

#[tokio::test]
async fn status_lists_the_parts_storage_holds() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((12 * MIB) as usize);
    let created = server.create(&token, "resume.bin", &data, 5 * MIB).await;
    let mut etags = Vec::new();
    for part in &created.parts[..2] {
        let answer = server
            .put_part(part, part_bytes(&data, 5 * MIB, part.part_number), true)
            .await;
        etags.push(answer.headers["etag"].to_str().expect("etag").to_string());
    }
    let path = format!("/api/uploads/{}", created.upload_id);
    let status: UploadStatus = server
        .api(Method::GET, &path, Some(&token), None)
        .await
        .parse();
    assert_eq!((status.part_count, status.part_size), (3, 5 * MIB));
    let listed: Vec<_> = status
        .parts
        .iter()
        .map(|p| (p.part_number.0, p.etag.0.clone(), p.size))
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, etags[0].clone(), 5 * MIB),
            (2, etags[1].clone(), 5 * MIB)
        ]
    );
    // Each with the checksum storage computed, for a resuming client to compare.
    for p in &status.parts {
        let bytes = part_bytes(&data, 5 * MIB, p.part_number);
        assert_eq!(
            p.sha256,
            Some(Checksum::of(bytes)),
            "part {}",
            p.part_number
        );
    }
}

#[tokio::test]
async fn signing_more_parts_later_works() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((11 * MIB) as usize);
    let body = json!({"name": "later.bin", "size": data.len(), "part_size": 5 * MIB});
    let created: partway::core::wire::CreateUploadResponse = server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await
        .parse();
    assert!(created.parts.is_empty());
    let sign = json!({"parts": common::checksums(&data, 5 * MIB)});
    let path = format!("/api/uploads/{}/parts", created.upload_id);
    let signed: SignPartsResponse = server
        .api(Method::POST, &path, Some(&token), Some(sign))
        .await
        .parse();
    let created = partway::core::wire::CreateUploadResponse {
        parts: signed.parts,
        ..created
    };
    let parts = server.put_all(&created, &data).await;
    let answer = server.complete(&token, &created.upload_id.0, parts).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn delete_aborts_the_upload() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((6 * MIB) as usize);
    let created = server.create(&token, "gone.bin", &data, 5 * MIB).await;
    let first = &created.parts[0];
    server
        .put_part(first, part_bytes(&data, 5 * MIB, PartNumber(1)), true)
        .await;
    let uploads = server.dir.path().join("storage").join("uploads");
    assert_eq!(std::fs::read_dir(&uploads).expect("dir").count(), 1);

    let path = format!("/api/uploads/{}", created.upload_id);
    let answer = server.api(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read_dir(&uploads).expect("dir").count(),
        0,
        "parts freed"
    );
    let status: UploadStatus = server
        .api(Method::GET, &path, Some(&token), None)
        .await
        .parse();
    assert_eq!(status.state, partway::core::wire::UploadState::Aborted);

    let sign = json!({"parts": [{"part_number": 1, "sha256": Checksum::of(b"x")}]});
    let sign_path = format!("{path}/parts");
    server
        .api(Method::POST, &sign_path, Some(&token), Some(sign))
        .await
        .assert_error(409, "upload_not_active");
    // A URL signed before the abort leads nowhere now.
    let second = &created.parts[1];
    server
        .put_part(second, part_bytes(&data, 5 * MIB, PartNumber(2)), true)
        .await
        .assert_error(404, "not_found");
    let parts = vec![CompletedPart {
        part_number: PartNumber(1),
        etag: ETag("\"x\"".into()),
    }];
    server
        .complete(&token, &created.upload_id.0, parts)
        .await
        .assert_error(409, "upload_not_active");
    // Aborting again is fine.
    assert_eq!(
        server
            .api(Method::DELETE, &path, Some(&token), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn storage_keys_never_contain_the_file_name() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let name = "secret-plans.txt";
    let created = server.create(&token, name, b"plans", 5).await;
    assert!(created
        .parts
        .iter()
        .all(|p| !p.url.expose().contains("secret-plans")));
    let parts = server.put_all(&created, b"plans").await;
    let done: CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, parts)
        .await
        .parse();
    let path = done.download_url.split('?').next().expect("path");
    assert!(!path.contains("secret-plans"), "{path}");
    let mut stack = vec![server.dir.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).expect("dir") {
            let entry = entry.expect("entry");
            assert!(!entry.file_name().to_string_lossy().contains("secret-plans"));
            if entry.file_type().expect("type").is_dir() {
                stack.push(entry.path());
            }
        }
    }
}

#[tokio::test]
async fn the_sweep_aborts_only_uploads_idle_longer_than_the_limit() {
    let server = TestServer::with(|c| c.abandon_after = 60).await;
    let token = server.token("alice");
    let data = common::random_bytes((6 * MIB) as usize);
    let created = server.create(&token, "idle.bin", &data, 5 * MIB).await;
    let first = &created.parts[..1];
    let partial = CreateUploadResponse {
        parts: first.to_vec(),
        ..created.clone()
    };
    server.put_all(&partial, &data).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert_eq!(
        partway_server::sweep::sweep_once(&server.state, now + 30)
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(
        partway_server::sweep::sweep_once(&server.state, now + 61)
            .await
            .expect("sweep"),
        1
    );
    let status = server.upload_status(&token, &created.upload_id.0).await;
    assert_eq!(status.state, UploadState::Aborted);
    assert!(status.parts.is_empty());
    // The parts are gone from the disk too.
    let leftovers = std::fs::read_dir(server.dir.path().join("storage").join("uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "parts leaked");
}
