//! The client's claim of the whole file's SHA-256 (`file-sha256`): recorded on the file,
//! refused at complete when the bytes storage joined differ, and checked by the jobs
//! after upload where storage keeps no whole-object SHA-256 (S3: see `s3.rs`).

mod common;

use common::{random_bytes, TestServer, MIB};
use partway::core::wire::{CompleteUploadRequest, CompleteUploadResponse, UploadState};
use partway::core::Checksum;

/// Sends `data` in 5 MiB parts and completes it claiming `claim` as its SHA-256; the
/// upload's id and the answer to complete.
async fn upload_claiming(
    server: &TestServer,
    token: &str,
    data: &[u8],
    claim: Checksum,
) -> (String, common::Answer) {
    let created = server.create(token, "claim.bin", data, 5 * MIB).await;
    let parts = server.put_all(&created, data).await;
    let req = CompleteUploadRequest {
        parts,
        crc64nvme: None,
        sha256: Some(claim),
    };
    let id = created.upload_id.0;
    let answer = server.complete_request(token, &id, &req).await;
    (id, answer)
}

#[tokio::test]
async fn a_right_claim_is_recorded_beside_the_servers_own_sha256() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((11 * MIB + 3) as usize);
    let (_, answer) = upload_claiming(&server, &token, &data, Checksum::of(&data)).await;
    let done: CompleteUploadResponse = answer.parse();
    let hex = Checksum::of(&data).to_hex();
    assert_eq!(done.file.client_sha256.as_deref(), Some(hex.as_str()));
    assert_eq!(done.file.sha256.as_deref(), Some(hex.as_str()));
    // The checks after upload agree, and keep both.
    let ran = partway_server::jobs::run_due(&server.state, partway_server::unix_now_i64())
        .await
        .expect("runs");
    assert_eq!(ran, 1);
    let file = server
        .state
        .db
        .file(&done.file.id, "alice")
        .await
        .expect("db")
        .expect("file")
        .info;
    assert_eq!(file.processing, partway::core::wire::Processing::Done);
    assert_eq!(
        (file.sha256.as_deref(), file.client_sha256.as_deref()),
        (Some(hex.as_str()), Some(hex.as_str()))
    );
}

#[tokio::test]
async fn a_wrong_claim_is_refused_and_the_upload_starts_over() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((6 * MIB) as usize);
    // What a file changed on disk between its parts and its whole read looks like.
    let mut changed = data.clone();
    changed[7] ^= 1;
    let (id, refused) = upload_claiming(&server, &token, &data, Checksum::of(&changed)).await;
    refused.assert_error(400, "checksum_mismatch");
    assert!(refused.json()["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("changed while it was sent")));
    // No file, and the upload is over: the parts belong to another version of the file.
    let status = server.upload_status(&token, &id).await;
    assert_eq!(status.state, UploadState::Aborted);
    let listed: partway::core::wire::FileList = server
        .api(axum::http::Method::GET, "/api/files", Some(&token), None)
        .await
        .parse();
    assert!(listed.files.is_empty());
    // The same file sent again with its right claim is stored.
    let (_, answer) = upload_claiming(&server, &token, &data, Checksum::of(&data)).await;
    let done: CompleteUploadResponse = answer.parse();
    assert_eq!(done.file.size, data.len() as u64);
}

#[tokio::test]
async fn a_claim_that_is_not_a_sha256_is_a_clear_400() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes(1000);
    let created = server.create(&token, "a.bin", &data, 1000).await;
    let parts = server.put_all(&created, &data).await;
    let mut body = serde_json::to_value(CompleteUploadRequest {
        parts,
        crc64nvme: None,
        sha256: None,
    })
    .expect("json");
    body["sha256"] = "not base64 of 32 bytes".into();
    server
        .api(
            axum::http::Method::POST,
            &format!("/api/uploads/{}/complete", created.upload_id.0),
            Some(&token),
            Some(body),
        )
        .await
        .assert_error(400, "invalid_request");
}
