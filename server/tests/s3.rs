//! The S3 backend against a real S3 implementation that we did not write: Garage,
//! started by tests/run (tests/services/garage.sh), which checks signatures and checksums.
//!
//! Ignored in a plain `cargo test` (they need that Garage); tests/run runs them with
//! `--include-ignored`, so in CI none is skipped.

mod common;

use axum::http::{Method, StatusCode};
use common::{part_bytes, random_bytes, TestServer, MIB};
use partway::core::wire::{
    CompleteUploadResponse, CompletedPart, CreateUploadResponse, SignedPart, UploadState,
};
use partway::core::{Checksum, ChecksumMode, ETag, PartNumber, PartSum, UploadId};
use partway_server::config::{S3Config, StorageKind};
use partway_server::storage::s3::S3Storage;
use partway_server::storage::PartToSign;
use serde_json::json;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run through tests/run, which starts Garage"))
}

/// Garage's settings, with a key prefix of the test's own so tests cannot collide.
fn garage() -> S3Config {
    S3Config {
        endpoint: Some(env("PARTWAY_TEST_S3_ENDPOINT")),
        region: env("PARTWAY_TEST_S3_REGION"),
        bucket: Some(env("PARTWAY_TEST_S3_BUCKET")),
        prefix: format!("test-{}/", uuid::Uuid::new_v4().simple()),
        path_style: true,
        access_key_id: Some(env("PARTWAY_TEST_S3_ACCESS_KEY_ID")),
        secret_access_key: Some(env("PARTWAY_TEST_S3_SECRET_ACCESS_KEY")),
    }
}

async fn garage_server_with(
    change: impl FnOnce(&mut partway_server::config::Config),
) -> TestServer {
    let s3 = garage();
    TestServer::with(move |c| {
        c.storage = StorageKind::S3;
        c.s3 = s3;
        change(c);
    })
    .await
}

async fn garage_server() -> TestServer {
    garage_server_with(|_| {}).await
}

/// A real HTTP PUT to storage, as the browser sends it.
async fn put(part: &SignedPart, bytes: &[u8], with_headers: bool) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .put(part.url.expose())
        .body(bytes.to_vec());
    if with_headers {
        for (k, v) in &part.headers {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(res) => res,
        Err(e) => panic!("PUT part {}: {e:?}", part.part_number),
    }
}

async fn put_ok(part: &SignedPart, bytes: &[u8]) -> CompletedPart {
    let res = put(part, bytes, true).await;
    let status = res.status();
    let etag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        status.is_success(),
        "PUT part {}: {status} {}",
        part.part_number,
        res.text().await.unwrap_or_default()
    );
    CompletedPart {
        part_number: part.part_number,
        etag: ETag(etag),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Checksum::of(bytes).to_hex()
}

async fn download(url: &str) -> Vec<u8> {
    let res = reqwest::get(url).await.expect("download");
    assert!(res.status().is_success(), "download: {}", res.status());
    res.bytes().await.expect("body").to_vec()
}

async fn stored_key(server: &TestServer, upload_id: &str, user: &str) -> (String, String) {
    let row = server
        .state
        .db
        .upload(&UploadId(upload_id.into()), user)
        .await
        .expect("db")
        .expect("row");
    (row.storage_key, row.storage_upload_id)
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn multipart_round_trip_keeps_every_byte_and_storage_checksums() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes((12 * MIB + 3) as usize);
    let created: CreateUploadResponse = server.create(&token, "big.bin", &data, 5 * MIB).await;
    assert_eq!(created.part_count, 3);
    let mut done = Vec::new();
    for part in &created.parts {
        assert!(part.headers.contains_key("x-amz-checksum-sha256"));
        done.push(put_ok(part, part_bytes(&data, created.part_size, part.part_number)).await);
    }
    let answer = server.complete(&token, &created.upload_id.0, done).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let res: CompleteUploadResponse = answer.parse();
    let checksum = res.file.checksum.expect("storage's checksum is recorded");
    assert!(
        checksum.ends_with("-3"),
        "a composite checksum of 3 parts: {checksum}"
    );
    assert_eq!(
        sha256_hex(&download(&res.download_url).await),
        sha256_hex(&data)
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_small_file_is_one_put_object_that_keeps_its_sha256() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes(1000);
    let created = server.create(&token, "small.txt", &data, 1000).await;
    let (_, storage_id) = stored_key(&server, &created.upload_id.0, "alice").await;
    assert_eq!(
        storage_id, "single-put",
        "no multipart upload for one small part"
    );
    let done = vec![put_ok(&created.parts[0], &data).await];
    let res: CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, done)
        .await
        .parse();
    assert_eq!(
        res.file.sha256.as_deref(),
        Some(sha256_hex(&data).as_str()),
        "the whole file's SHA-256, from storage"
    );
    assert_eq!(download(&res.download_url).await, data);
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_small_file_over_the_quota_is_refused_though_storage_is_not_asked_first() {
    // A one-part file starts without a call to storage, so the quota is checked only
    // when the upload is recorded: the refusal must read the same, and reserve nothing.
    let server = garage_server_with(|c| c.quota_bytes = 1500).await;
    let token = server.token("alice");
    let start = |name: &'static str, size: u64| {
        let body = json!({"name": name, "size": size, "part_size": 5 * MIB, "content_type": ""});
        server.api(Method::POST, "/api/uploads", Some(&token), Some(body))
    };
    assert_eq!(start("a.txt", 1000).await.status, 201);
    let refused = start("b.txt", 1000).await;
    refused.assert_error(403, "quota_exceeded");
    assert!(
        refused.json()["error"]["message"]
            .to_string()
            .contains("only 500 B of your"),
        "{}",
        refused.json()
    );
    // What the refused file would have reserved is still free.
    assert_eq!(start("c.txt", 500).await.status, 201);
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_batch_of_small_files_is_checked_against_the_quota_in_order() {
    // Recorded in one transaction: each counts against the next, a refused one does not.
    let server = garage_server_with(|c| c.quota_bytes = 1500).await;
    let token = server.token("alice");
    let item = |name: &str, size: u64| json!({"name": name, "size": size, "part_size": 5 * MIB, "content_type": ""});
    let answer = server
        .api(
            Method::POST,
            "/api/uploads/batch",
            Some(&token),
            Some(json!({"uploads": [item("a", 1000), item("b", 1000), item("c", 500), item("d", 1)]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json());
    let results = answer.json()["results"].clone();
    let outcome = |i: usize| {
        let r = &results[i];
        if r.get("ok").is_some() {
            "ok".to_string()
        } else {
            r["error"]["code"].as_str().unwrap_or("?").to_string()
        }
    };
    assert_eq!(
        (0..4).map(outcome).collect::<Vec<_>>(),
        ["ok", "quota_exceeded", "ok", "quota_exceeded"],
        "{results}"
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn an_object_of_the_right_size_but_other_bytes_is_not_taken_for_the_upload() {
    let server = garage_server().await;
    let token = server.token("alice");
    let (id, parts) = garage_ready(&server, &token, (10 * MIB + 7) as usize).await;
    let (key, storage_id) = stored_key(&server, &id, "alice").await;
    let storage = &server.state.storage;
    let stored = storage.list_parts(&key, &storage_id).await.expect("listed");
    let expected = storage.expected_checksum(&storage_id, &stored);
    assert!(expected.as_deref().is_some_and(|c| c.ends_with("-3")));
    // The claim is taken; then, before storage joins the parts, the upload vanishes and
    // another object of the same size appears at its key.
    let now = partway_now();
    assert!(server
        .state
        .db
        .claim_completion(&id, &parts, expected.as_deref(), None, now)
        .await
        .expect("claims"));
    storage.abort(&key, &storage_id).await.expect("aborts");
    let other = random_bytes((10 * MIB + 7) as usize);
    let put = storage
        .sign_part(
            &PartToSign {
                key: &key,
                upload_id: "single-put",
                content_type: "application/octet-stream",
                part: PartNumber(1),
                len: other.len() as u64,
                checksum: Some(PartSum::Sha256(Checksum::of(&other))),
            },
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("signs");
    put_ok(&put, &other).await;

    let upload = server
        .state
        .db
        .upload(&UploadId(id.clone()), "alice")
        .await
        .expect("db")
        .expect("row");
    let refused = partway_server::complete::finish(server.state.clone(), upload).await;
    assert!(refused.is_err(), "a foreign object became the file");
    assert!(
        storage
            .stat_object(&key, ChecksumMode::Sha256)
            .await
            .expect("head")
            .is_none(),
        "not deleted"
    );
    let row = server
        .state
        .db
        .upload(&UploadId(id), "alice")
        .await
        .expect("db")
        .expect("row");
    assert_eq!(row.state, UploadState::Aborted);
    assert!(server
        .state
        .db
        .files("alice")
        .await
        .expect("files")
        .is_empty());
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_small_file_is_stored_with_the_checked_type_whatever_the_browser_sends() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes(1000);
    let created = server.create(&token, "photo.png", &data, 1000).await;
    let part = &created.parts[0];
    // The checked type is signed into the URL of a small file's one PUT: a client that
    // sends another type stores nothing.
    let mut req = reqwest::Client::new()
        .put(part.url.expose())
        .header("content-type", "text/html")
        .body(data.clone());
    for (k, v) in part.headers.iter().filter(|(k, _)| *k != "content-type") {
        req = req.header(k, v);
    }
    let res = req.send().await.expect("PUT");
    assert!(!res.status().is_success(), "stored as text/html");
    // The browser sends the headers it was given, which name the checked type.
    assert_eq!(
        part.headers.get("content-type").map(String::as_str),
        Some("application/octet-stream")
    );
    let done = vec![put_ok(part, &data).await];
    let res: CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, done)
        .await
        .parse();
    let got = reqwest::get(&res.download_url).await.expect("download");
    assert_eq!(
        got.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/octet-stream")
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_part_url_stores_nothing_once_its_upload_is_cancelled_or_completed() {
    let server = garage_server().await;
    let token = server.token("alice");
    let size = (5 * MIB + 1) as usize;
    for cancel in [true, false] {
        let data = random_bytes(size);
        let (key, part, _) = sent_and_ended(&server, &token, &data, 5 * MIB, cancel).await;
        // The same URL, still within its lifetime, is sent the same bytes again.
        let again = put(&part, part_bytes(&data, 5 * MIB, part.part_number), true).await;
        assert!(
            !again.status().is_success(),
            "a cancelled or completed upload's part URL stored bytes again"
        );
        let object = server.state.storage.stat_object(&key, ChecksumMode::Sha256);
        assert!(
            object.await.expect("head").is_none(),
            "an object no file row knows of"
        );
    }
}

/// Sends `data` in parts of `part_size`, then cancels the upload or completes it and
/// deletes the file; returns its key, its last part's URL and when it ended.
async fn sent_and_ended(
    server: &TestServer,
    token: &str,
    data: &[u8],
    part_size: u64,
    cancel: bool,
) -> (String, SignedPart, i64) {
    let created = server.create(token, "once.bin", data, part_size).await;
    let (key, _) = stored_key(server, &created.upload_id.0, "alice").await;
    let mut done = Vec::new();
    for part in &created.parts {
        done.push(put_ok(part, part_bytes(data, part_size, part.part_number)).await);
    }
    if cancel {
        let path = format!("/api/uploads/{}", created.upload_id.0);
        let answer = server.api(Method::DELETE, &path, Some(token), None).await;
        assert_eq!(answer.status, 204);
    } else {
        let answer = server.complete(token, &created.upload_id.0, done).await;
        assert_eq!(answer.status, 200);
        let file_id = answer.json()["file"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        let path = format!("/api/files/{file_id}");
        let answer = server.api(Method::DELETE, &path, Some(token), None).await;
        assert_eq!(answer.status, 204);
    }
    let last = created.parts.last().expect("a part").clone();
    (key, last, chrono_now())
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_small_files_put_url_that_outlives_its_upload_leaves_nothing_after_the_sweep() {
    let server = garage_server_with(|c| c.url_ttl = 600).await;
    let token = server.token("alice");
    for cancel in [true, false] {
        let data = random_bytes(1000);
        let (key, part, ended) = sent_and_ended(&server, &token, &data, 1000, cancel).await;
        let object = || server.state.storage.stat_object(&key, ChecksumMode::Sha256);
        assert!(object().await.expect("head").is_none(), "deleted at once");
        // A PutObject URL works until it expires: only the same bytes, signed, can go
        // to the same key again.
        assert!(!put(&part, b"other bytes", true).await.status().is_success());
        assert!(put(&part, &data, true).await.status().is_success());
        let sweep = |at| partway_server::sweep::sweep_once(&server.state, at);
        sweep(ended + 600).await.expect("sweep");
        assert!(
            object().await.expect("head").is_some(),
            "its URL still works"
        );
        // Once every URL signed for it has expired, the sweep deletes the key again.
        sweep(ended + 600 + 61).await.expect("sweep");
        assert!(
            object().await.expect("head").is_none(),
            "an object no file row knows of"
        );
        let due = server.state.db.due_lingering_keys(i64::MAX, 10).await;
        assert!(due.expect("db").is_empty(), "forgotten once deleted");
    }
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn garage_refuses_bytes_that_do_not_match_the_signed_checksum() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes((6 * MIB) as usize);
    let created = server.create(&token, "tampered.bin", &data, 5 * MIB).await;
    let mut wrong = part_bytes(&data, created.part_size, PartNumber(1)).to_vec();
    wrong[100] ^= 1;
    let res = put(&created.parts[0], &wrong, true).await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::BAD_REQUEST,
        "{}",
        res.text().await.unwrap_or_default()
    );
    // Without the signed header the signature does not hold. (A short body: Garage
    // refuses before reading one, and a long one would die of a broken pipe instead.)
    let res = put(&created.parts[0], b"x", false).await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // Nothing was stored, so completing fails loudly instead of making a bad file.
    let parts = vec![
        CompletedPart {
            part_number: PartNumber(1),
            etag: ETag("\"x\"".into()),
        },
        CompletedPart {
            part_number: PartNumber(2),
            etag: ETag("\"y\"".into()),
        },
    ];
    server
        .complete(&token, &created.upload_id.0, parts)
        .await
        .assert_error(400, "part_mismatch");
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn garage_refuses_a_part_of_another_length_than_signed() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes((6 * MIB) as usize);
    let created = server.create(&token, "sized.bin", &data, 5 * MIB).await;
    let (key, storage_id) = stored_key(&server, &created.upload_id.0, "alice").await;
    let right = [7u8; 1000];
    let part = server
        .state
        .storage
        .sign_part(
            &PartToSign {
                key: &key,
                upload_id: &storage_id,
                content_type: "application/octet-stream",
                part: PartNumber(2),
                len: 1000,
                checksum: Some(PartSum::Sha256(Checksum::of(&right))),
            },
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("signs");
    assert!(
        !part.headers.contains_key("content-length"),
        "browsers set it themselves"
    );
    // Refused by the signature (403), before any byte is read: not by the checksum (400),
    // which only catches the difference after reading the body.
    for wrong in [1001usize, 999, 4000] {
        let mut req = reqwest::Client::new()
            .put(part.url.expose())
            .body(vec![7u8; wrong]);
        for (k, v) in &part.headers {
            req = req.header(k, v);
        }
        if let Ok(res) = req.send().await {
            assert_eq!(
                res.status(),
                reqwest::StatusCode::FORBIDDEN,
                "{wrong} bytes"
            );
        }
    }
    let res = put(&part, &right, true).await;
    assert!(res.status().is_success(), "{}", res.status());
    let listed = server
        .state
        .storage
        .list_parts(&key, &storage_id)
        .await
        .expect("lists");
    assert_eq!(
        listed.iter().map(|p| p.size).collect::<Vec<_>>(),
        vec![1000]
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn tampered_and_expired_urls_are_refused() {
    // SigV4 dates have whole seconds: a few seconds of life keep the forged-URL check
    // clear of expiry.
    let server = garage_server_with(|c| c.url_ttl = 3).await;
    let token = server.token("alice");
    let data = random_bytes(1000);
    let created = server.create(&token, "x.bin", &data, 1000).await;
    let mut forged = created.parts[0].clone();
    let url = forged.url.expose().to_string();
    let last = url.chars().last().expect("non-empty");
    let flipped = if last == '0' { '1' } else { '0' };
    forged.url = partway::core::SignedUrl::new(format!("{}{flipped}", &url[..url.len() - 1]));
    assert_eq!(
        put(&forged, &data, true).await.status(),
        reqwest::StatusCode::FORBIDDEN
    );
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    let res = put(&created.parts[0], &data, true).await;
    // Garage answers 400 "Date is too old", AWS 403: the client decides by the expiry time.
    assert!(
        res.status().is_client_error(),
        "expired URL accepted: {}",
        res.status()
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn the_parts_listed_for_resuming_are_exactly_those_sent() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes((11 * MIB) as usize);
    let created = server.create(&token, "partial.bin", &data, 5 * MIB).await;
    for part in &created.parts[..2] {
        put_ok(part, part_bytes(&data, created.part_size, part.part_number)).await;
    }
    let status = server.upload_status(&token, &created.upload_id.0).await;
    let listed: Vec<(u32, u64)> = status
        .parts
        .iter()
        .map(|p| (p.part_number.0, p.size))
        .collect();
    assert_eq!(listed, vec![(1, 5 * MIB), (2, 5 * MIB)]);
    // Garage's own checksum of each part, for a resuming client to compare.
    for p in &status.parts {
        let bytes = part_bytes(&data, created.part_size, p.part_number);
        assert_eq!(
            p.sha256,
            Some(Checksum::of(bytes)),
            "part {}",
            p.part_number
        );
    }
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn abort_leaves_no_parts_in_storage() {
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes((6 * MIB) as usize);
    let created = server.create(&token, "abort.bin", &data, 5 * MIB).await;
    put_ok(
        &created.parts[0],
        part_bytes(&data, created.part_size, PartNumber(1)),
    )
    .await;
    let (key, storage_id) = stored_key(&server, &created.upload_id.0, "alice").await;
    assert_eq!(
        server
            .state
            .storage
            .list_parts(&key, &storage_id)
            .await
            .expect("listed")
            .len(),
        1
    );
    let answer = server
        .api(
            Method::DELETE,
            &format!("/api/uploads/{}", created.upload_id.0),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let after = server.state.storage.list_parts(&key, &storage_id).await;
    assert!(
        matches!(
            after,
            Err(partway_server::storage::StorageError::NotFound(_))
        ),
        "{after:?}"
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn the_sweep_aborts_idle_uploads_in_storage() {
    let server = garage_server_with(|c| c.abandon_after = 60).await;
    let token = server.token("alice");
    let data = random_bytes((6 * MIB) as usize);
    let created = server.create(&token, "idle.bin", &data, 5 * MIB).await;
    put_ok(
        &created.parts[0],
        part_bytes(&data, created.part_size, PartNumber(1)),
    )
    .await;
    let now = chrono_now();
    assert_eq!(
        partway_server::sweep::sweep_once(&server.state, now)
            .await
            .expect("sweep"),
        0,
        "not idle yet"
    );
    assert_eq!(
        partway_server::sweep::sweep_once(&server.state, now + 61)
            .await
            .expect("sweep"),
        1
    );
    let (key, storage_id) = stored_key(&server, &created.upload_id.0, "alice").await;
    assert!(
        server
            .state
            .storage
            .list_parts(&key, &storage_id)
            .await
            .is_err(),
        "parts leaked"
    );
    let status = server.upload_status(&token, &created.upload_id.0).await;
    assert_eq!(status.state, partway::core::wire::UploadState::Aborted);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn setup_cors_lets_a_page_put_parts_and_startup_check_sees_it() {
    let s3 = S3Storage::new(&garage()).expect("settings");
    s3.put_bucket_cors(&["http://localhost:4567".into()])
        .await
        .expect("PutBucketCors");
    s3.check_cors("http://localhost:4567")
        .await
        .expect("allowed origin passes");
    assert!(
        s3.check_cors("https://elsewhere.example").await.is_err(),
        "another origin is blocked"
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn two_servers_sharing_database_and_bucket_split_one_upload() {
    let a = garage_server().await;
    let shared_db = a.state.config.database_url();
    let s3 = a.state.config.s3.clone();
    let b = TestServer::with(move |c| {
        c.storage = StorageKind::S3;
        c.s3 = s3;
        c.database_url = Some(shared_db);
    })
    .await;
    let token = a.token("alice");
    let data = random_bytes((16 * MIB) as usize);
    // Created on A, with part 1 signed there; the rest signed on B.
    let mut created = a.create(&token, "shared.bin", &data, 5 * MIB).await;
    created.parts.truncate(1);
    let rest = common::checksums(&data, 5 * MIB)[1..].to_vec();
    let body = json!({ "parts": rest });
    let signed: partway::core::wire::SignPartsResponse = b
        .api(
            Method::POST,
            &format!("/api/uploads/{}/parts", created.upload_id.0),
            Some(&token),
            Some(body),
        )
        .await
        .parse();
    let mut done = Vec::new();
    for part in created.parts.iter().chain(&signed.parts) {
        done.push(put_ok(part, part_bytes(&data, 5 * MIB, part.part_number)).await);
    }
    done.sort_by_key(|p| p.part_number);
    // Completed on B.
    let res: CompleteUploadResponse = b.complete(&token, &created.upload_id.0, done).await.parse();
    assert_eq!(
        sha256_hex(&download(&res.download_url).await),
        sha256_hex(&data)
    );
    for server in [&a, &b] {
        let list: partway::core::wire::FileList = server
            .api(Method::GET, "/api/files", Some(&token), None)
            .await
            .parse();
        assert!(
            list.files.iter().any(|f| f.id == res.file.id),
            "a server does not list the file"
        );
    }
}

/// A Garage upload of `size` bytes (5 MiB parts), every part stored; its id and parts.
async fn garage_ready(
    server: &TestServer,
    token: &str,
    size: usize,
) -> (String, Vec<CompletedPart>) {
    let data = random_bytes(size);
    let created = server.create(token, "race.bin", &data, 5 * MIB).await;
    let mut done = Vec::new();
    for part in &created.parts {
        done.push(put_ok(part, part_bytes(&data, created.part_size, part.part_number)).await);
    }
    (created.upload_id.0, done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Garage: tests/run starts one"]
async fn garage_complete_races_leave_exactly_the_recorded_objects() {
    let server = garage_server().await;
    let token = server.token("racer");
    // The sweep's clock, far enough ahead that every upload is idle and every claim stale.
    let later = partway_now() + 10 * 365 * 86_400;
    let (mut files, mut ended) = (0, 0);
    for trial in 0..150 {
        // Mostly single PUTs, every fifth a multipart upload of three parts.
        let size = if trial % 5 == 0 {
            (10 * MIB + 7) as usize
        } else {
            1000
        };
        let (id, parts) = garage_ready(&server, &token, size).await;
        let (key, _) = stored_key(&server, &id, "racer").await;
        let path = format!("/api/uploads/{id}");
        let completing = server.complete(&token, &id, parts.clone());
        let (first, second) = match trial % 3 {
            0 => {
                let (a, b) = tokio::join!(completing, server.complete(&token, &id, parts.clone()));
                (a, Some(b))
            }
            1 => {
                let (a, b) = tokio::join!(
                    completing,
                    server.api(Method::DELETE, &path, Some(&token), None)
                );
                (a, Some(b))
            }
            _ => {
                let (done, swept) = tokio::join!(
                    completing,
                    partway_server::sweep::sweep_once(&server.state, later)
                );
                swept.expect("the sweep");
                (done, None)
            }
        };
        for answer in [Some(&first), second.as_ref()].into_iter().flatten() {
            let status = answer.status.as_u16();
            assert!(
                matches!(status, 200 | 204 | 409),
                "trial {trial}: {status} {}",
                String::from_utf8_lossy(&answer.body)
            );
        }
        let object = server
            .state
            .storage
            .stat_object(&key, ChecksumMode::Sha256)
            .await
            .expect("head");
        let row = server
            .state
            .db
            .upload(&UploadId(id.clone()), "racer")
            .await
            .expect("db")
            .expect("row");
        if first.status == StatusCode::OK {
            let file: CompleteUploadResponse = first.parse();
            assert_eq!(
                object.map(|o| o.size),
                Some(size as u64),
                "trial {trial}: no object"
            );
            assert_eq!(file.file.size, size as u64);
            assert_eq!(row.state, UploadState::Completed, "trial {trial}");
            files += 1;
        } else {
            assert_eq!(first.status, StatusCode::CONFLICT, "trial {trial}");
            assert!(
                object.is_none(),
                "trial {trial}: an ended upload left an object"
            );
            assert_eq!(row.state, UploadState::Aborted, "trial {trial}");
            ended += 1;
        }
    }
    eprintln!(
        "Garage races: {files} files, {ended} ended without one, of 150 \
         (50 complete/complete, 50 complete/abort, 50 complete/sweep)"
    );

    // Two uploads left idle with their parts are swept; three more stay active.
    for _ in 0..2 {
        garage_ready(&server, &token, (10 * MIB) as usize).await;
    }
    assert_eq!(
        partway_server::sweep::sweep_once(&server.state, later)
            .await
            .expect("sweeps"),
        2
    );
    let mut active = Vec::new();
    for _ in 0..3 {
        let (id, _) = garage_ready(&server, &token, (10 * MIB) as usize).await;
        active.push(stored_key(&server, &id, "racer").await);
    }

    // The audit: under this test's prefix, the objects are exactly the recorded files,
    // and the uploads in progress exactly the active uploads.
    let s3 = S3Storage::new(&server.state.config.s3).expect("s3");
    let mut objects = s3.object_keys().await.expect("listed");
    let mut recorded: Vec<String> = server
        .state
        .db
        .files("racer")
        .await
        .expect("files")
        .into_iter()
        .map(|f| f.storage_key)
        .collect();
    objects.sort();
    recorded.sort();
    assert_eq!(objects, recorded, "objects in Garage vs files recorded");
    assert_eq!(recorded.len(), files);
    let mut in_progress = s3.multipart_uploads().await.expect("listed");
    in_progress.sort();
    active.sort();
    assert_eq!(in_progress, active, "uploads in Garage vs active uploads");
}

/// Seconds since the Unix epoch.
fn partway_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Garage, addressed directly (not through the server): a bucket handle and its key.
fn garage_bucket() -> (rusty_s3::Bucket, rusty_s3::Credentials, String) {
    let s3 = garage();
    let endpoint = s3.endpoint.expect("endpoint").parse().expect("url");
    let bucket = rusty_s3::Bucket::new(
        endpoint,
        rusty_s3::UrlStyle::Path,
        s3.bucket.expect("bucket"),
        s3.region,
    )
    .expect("bucket");
    let credentials = rusty_s3::Credentials::new(
        s3.access_key_id.expect("key"),
        s3.secret_access_key.expect("secret"),
    );
    (bucket, credentials, format!("{}crc.bin", s3.prefix))
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn garage_checks_the_whole_files_crc64nvme_combined_from_the_parts() {
    use partway::core::Crc64;
    use rusty_s3::S3Action;
    const TTL: std::time::Duration = std::time::Duration::from_secs(60);
    let (bucket, creds, key) = garage_bucket();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    // Full-object CRC-64/NVME: storage checks the whole object at complete.
    let mut create = bucket.create_multipart_upload(Some(&creds), &key);
    create
        .headers_mut()
        .insert("x-amz-checksum-algorithm", "CRC64NVME");
    create
        .headers_mut()
        .insert("x-amz-checksum-type", "FULL_OBJECT");
    let answer = http
        .post(create.sign(TTL))
        .header("x-amz-checksum-algorithm", "CRC64NVME")
        .header("x-amz-checksum-type", "FULL_OBJECT")
        .send()
        .await
        .expect("create");
    let body = answer.text().await.expect("body");
    let upload_id = rusty_s3::actions::CreateMultipartUpload::parse_response(&body)
        .unwrap_or_else(|e| panic!("{e}: {body}"))
        .upload_id()
        .to_string();

    let parts = [random_bytes((5 * MIB) as usize), random_bytes(1000)];
    let mut etags = Vec::new();
    for (i, bytes) in parts.iter().enumerate() {
        let crc = Crc64::of(bytes).to_base64();
        let mut put = bucket.upload_part(Some(&creds), &key, (i + 1) as u16, &upload_id);
        put.headers_mut()
            .insert("x-amz-checksum-crc64nvme", crc.as_str());
        let answer = http
            .put(put.sign(TTL))
            .header("x-amz-checksum-crc64nvme", crc.as_str())
            .body(bytes.clone())
            .send()
            .await
            .expect("part");
        assert!(
            answer.status().is_success(),
            "part {}: {}",
            i + 1,
            answer.status()
        );
        etags.push(
            answer.headers()["etag"]
                .to_str()
                .expect("ascii")
                .to_string(),
        );
    }

    // The whole file's CRC, from the parts' CRCs and lengths alone.
    let whole =
        Crc64::of_parts(parts.iter().map(|p| (Crc64::of(p), p.len() as u64))).expect("parts");
    assert_eq!(whole, Crc64::of(&parts.concat()));
    let complete = |crc: String| {
        let mut action = bucket.complete_multipart_upload(
            Some(&creds),
            &key,
            &upload_id,
            etags.iter().map(String::as_str),
        );
        action
            .headers_mut()
            .insert("x-amz-checksum-crc64nvme", crc.clone());
        let url = action.sign(TTL);
        let body = action.body();
        http.post(url)
            .header("x-amz-checksum-crc64nvme", crc)
            .body(body)
            .send()
    };
    let wrong = Crc64(whole.0 ^ 1).to_base64();
    let refused = complete(wrong).await.expect("complete");
    let (status, text) = (refused.status(), refused.text().await.unwrap_or_default());
    assert!(
        !status.is_success() && (text.contains("InvalidDigest") || text.contains("BadDigest")),
        "a wrong whole-file CRC was not refused as one: {status} {text}"
    );
    let accepted = complete(whole.to_base64()).await.expect("complete");
    let (status, text) = (accepted.status(), accepted.text().await.unwrap_or_default());
    assert!(
        status.is_success() && !text.contains("<Error>"),
        "{status} {text}"
    );

    let mut head = bucket.head_object(Some(&creds), &key);
    head.headers_mut().insert("x-amz-checksum-mode", "ENABLED");
    let stored = http
        .head(head.sign(TTL))
        .header("x-amz-checksum-mode", "ENABLED")
        .send()
        .await
        .expect("head");
    assert_eq!(
        stored.headers()["x-amz-checksum-crc64nvme"]
            .to_str()
            .expect("ascii"),
        whole.to_base64(),
        "storage's own CRC of the object"
    );
    let _ = http
        .delete(bucket.delete_object(Some(&creds), &key).sign(TTL))
        .send()
        .await;
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn a_crc_upload_through_the_server_is_checked_whole_by_garage() {
    use partway::core::Crc64;
    let server = garage_server().await;
    let token = server.token("alice");
    // Three parts of a multipart upload, and a small file's one PutObject.
    for (size, part_size) in [(10 * MIB + 11, 5 * MIB), (1000, 1000)] {
        let data = random_bytes(size as usize);
        let created = server
            .create_in(ChecksumMode::Crc64nvme, &token, "crc.bin", &data, part_size)
            .await;
        assert_eq!(created.checksum, ChecksumMode::Crc64nvme);
        let mut done = Vec::new();
        for part in &created.parts {
            assert!(part.headers.contains_key("x-amz-checksum-crc64nvme"));
            done.push(put_ok(part, part_bytes(&data, created.part_size, part.part_number)).await);
        }
        let whole = Crc64::of(&data);
        let wrong = Crc64(whole.0 ^ 1);
        // Storage itself refuses to join the parts under a wrong whole-file CRC…
        let (key, storage_id) = stored_key(&server, &created.upload_id.0, "alice").await;
        let refused = server
            .state
            .storage
            .complete(&key, &storage_id, &done, Some(wrong))
            .await;
        assert!(
            matches!(
                refused,
                Err(partway_server::storage::StorageError::ChecksumMismatch(_))
            ),
            "{refused:?}"
        );
        // …and so does the API, whoever checks first; the upload stays whole.
        server
            .complete_with(&token, &created.upload_id.0, done.clone(), Some(wrong))
            .await
            .assert_error(400, "checksum_mismatch");
        let answer = server
            .complete_with(&token, &created.upload_id.0, done, Some(whole))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let res: CompleteUploadResponse = answer.parse();
        assert_eq!(res.file.checksum_mode, ChecksumMode::Crc64nvme);
        assert_eq!(
            res.file.checksum.as_deref(),
            Some(whole.to_base64().as_str()),
            "storage's own CRC of the object"
        );
        assert_eq!(Crc64::of(&download(&res.download_url).await), whole);
    }
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn the_checks_after_upload_read_the_first_bytes_from_garage() {
    use partway::core::wire::Processing;
    let server = garage_server().await;
    let token = server.token("alice");
    let mut outcomes = Vec::new();
    for (name, bytes) in [
        ("dot.png", {
            let picture =
                image::RgbImage::from_fn(64, 32, |x, y| image::Rgb([x as u8, y as u8, 7]));
            let mut png = std::io::Cursor::new(Vec::new());
            picture
                .write_to(&mut png, image::ImageFormat::Png)
                .expect("encodes");
            png.into_inner()
        }),
        (
            "fake.png",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec(),
        ),
    ] {
        let created = server.create_typed(&token, name, "image/png", &bytes).await;
        let done = vec![put_ok(&created.parts[0], &bytes).await];
        let res: CompleteUploadResponse = server
            .complete(&token, &created.upload_id.0, done)
            .await
            .parse();
        outcomes.push(res.file.id);
    }
    let ran = partway_server::jobs::run_due(&server.state, partway_server::unix_now_i64())
        .await
        .expect("runs");
    assert_eq!(ran, 2);
    let processing = |id: &partway::core::FileId| {
        let (server, id) = (&server, id.clone());
        async move {
            server
                .state
                .db
                .file(&id, "alice")
                .await
                .expect("db")
                .expect("file")
                .info
        }
    };
    let png = processing(&outcomes[0]).await;
    assert_eq!(
        (
            png.processing,
            png.detected_type.as_deref(),
            png.has_thumbnail
        ),
        (Processing::Done, Some("image/png"), true)
    );
    let shown: partway::core::wire::FileDownload = server
        .api(
            axum::http::Method::GET,
            &format!("/api/files/{}", png.id),
            Some(&token),
            None,
        )
        .await
        .parse();
    let thumb = download(shown.thumbnail_url.as_deref().expect("a thumbnail")).await;
    let decoded = image::load_from_memory(&thumb).expect("a PNG thumbnail from Garage");
    assert_eq!(
        (decoded.width(), decoded.height()),
        (64, 32),
        "small images stay as they are"
    );
    let fake = processing(&outcomes[1]).await;
    assert_eq!(
        fake.processing,
        Processing::Quarantined,
        "{:?}",
        fake.processing_note
    );
}

#[tokio::test]
#[ignore = "needs Garage: tests/run starts one"]
async fn the_checks_after_upload_hash_the_object_in_garage_against_the_clients_claim() {
    use partway::core::wire::{CompleteUploadRequest, Processing};
    use partway::core::Checksum;
    let server = garage_server().await;
    let token = server.token("alice");
    let data = random_bytes((10 * MIB + 7) as usize);
    let mut files = Vec::new();
    for claim in [Checksum::of(&data), Checksum::of(b"other bytes")] {
        let created = server.create(&token, "claimed.bin", &data, 5 * MIB).await;
        let mut done = Vec::new();
        for part in &created.parts {
            done.push(put_ok(part, part_bytes(&data, created.part_size, part.part_number)).await);
        }
        let req = CompleteUploadRequest {
            parts: done,
            crc64nvme: None,
            sha256: Some(claim),
        };
        let res: CompleteUploadResponse = server
            .complete_request(&token, &created.upload_id.0, &req)
            .await
            .parse();
        // S3 keeps no SHA-256 of a multipart object: known only once the job read it.
        assert_eq!(res.file.sha256, None);
        assert_eq!(res.file.client_sha256, Some(claim.to_hex()));
        files.push(res.file.id);
    }
    let ran = partway_server::jobs::run_due(&server.state, partway_server::unix_now_i64())
        .await
        .expect("runs");
    assert_eq!(ran, 2);
    let info = |id: partway::core::FileId| {
        let server = &server;
        async move {
            let row = server.state.db.file(&id, "alice").await.expect("db");
            row.expect("file").info
        }
    };
    let right = info(files[0].clone()).await;
    assert_eq!(
        right.processing,
        Processing::Done,
        "{:?}",
        right.processing_note
    );
    assert_eq!(right.sha256, Some(Checksum::of(&data).to_hex()));
    let wrong = info(files[1].clone()).await;
    assert_eq!(wrong.processing, Processing::Quarantined);
    assert!(
        wrong
            .processing_note
            .as_deref()
            .is_some_and(|n| n.contains(&Checksum::of(&data).to_hex())),
        "{:?}",
        wrong.processing_note
    );
}
