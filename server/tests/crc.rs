//! The full-object CRC-64/NVME mode through the local backend: each part checked
//! against its signed CRC, the whole file against the client's combined one, the mode
//! and value recorded in `FileInfo`.

mod common;

use axum::http::{Method, StatusCode};
use common::{random_bytes, TestServer, MIB};
use partway::core::wire::{CompleteUploadResponse, CreateUploadResponse, FileList, UploadStatus};
use partway::core::{ChecksumMode, Crc64};
use partway_server::storage::StorageError;
use serde_json::json;

const CRC: ChecksumMode = ChecksumMode::Crc64nvme;

#[tokio::test]
async fn a_crc_upload_is_checked_whole_and_records_its_crc() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((12 * MIB + 5) as usize);
    let created = server
        .create_in(CRC, &token, "film.mov", &data, 5 * MIB)
        .await;
    assert_eq!(created.checksum, CRC);
    assert!(created.parts[0]
        .headers
        .contains_key("x-amz-checksum-crc64nvme"));
    let parts = server.put_all(&created, &data).await;
    let status = server.upload_status(&token, &created.upload_id.0).await;
    assert_eq!(status.checksum, CRC);
    assert!(status.parts.iter().all(|p| p.crc64nvme.is_some()));

    let whole = Crc64::of(&data);
    let wrong = Crc64(whole.0 ^ 1);
    server
        .complete_with(&token, &created.upload_id.0, parts.clone(), Some(wrong))
        .await
        .assert_error(400, "checksum_mismatch");
    // Nothing was lost: the right CRC completes the same upload.
    let answer = server
        .complete_with(&token, &created.upload_id.0, parts, Some(whole))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let done: CompleteUploadResponse = answer.parse();
    assert_eq!(done.file.checksum_mode, CRC);
    assert_eq!(
        done.file.checksum.as_deref(),
        Some(whole.to_base64().as_str())
    );
    let listed: FileList = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await
        .parse();
    assert_eq!(listed.files[0].checksum_mode, CRC);
    let download = server.download(&done.download_url).await;
    assert_eq!(Crc64::of(&download.body), whole);
}

#[tokio::test]
async fn storage_refuses_a_part_whose_bytes_do_not_have_the_signed_crc() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes(1000);
    let created = server.create_in(CRC, &token, "a.bin", &data, 1000).await;
    let mut other = data.clone();
    other[500] ^= 1;
    server
        .put_part(&created.parts[0], &other, true)
        .await
        .assert_error(400, "checksum_mismatch");
    // Without the signed header the URL is refused as it is for SHA-256.
    server
        .put_part(&created.parts[0], &data, false)
        .await
        .assert_error(400, "invalid_request");
    let ok = server.put_part(&created.parts[0], &data, true).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        ok.headers["x-amz-checksum-crc64nvme"]
            .to_str()
            .expect("ascii"),
        Crc64::of(&data).to_base64()
    );
}

#[tokio::test]
async fn without_the_clients_crc_the_server_combines_storages() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((5 * MIB + 1) as usize);
    let created = server.create_in(CRC, &token, "b.bin", &data, 5 * MIB).await;
    let parts = server.put_all(&created, &data).await;
    let done: CompleteUploadResponse = server
        .complete_with(&token, &created.upload_id.0, parts, None)
        .await
        .parse();
    assert_eq!(
        done.file.checksum.as_deref(),
        Some(Crc64::of(&data).to_base64().as_str())
    );
}

#[tokio::test]
async fn a_part_in_the_other_mode_is_refused() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((10 * MIB) as usize);
    let sha_parts = common::checksums(&data, 5 * MIB);
    let created = server.create_in(CRC, &token, "c.bin", &data, 5 * MIB).await;
    server
        .api(
            Method::POST,
            &format!("/api/uploads/{}/parts", created.upload_id),
            Some(&token),
            Some(json!({ "parts": sha_parts })),
        )
        .await
        .assert_error(400, "invalid_request");
    // Nor may one create name a mode and send parts of the other.
    server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(json!({
                "name": "d.bin", "size": data.len(), "part_size": 5 * MIB,
                "checksum": "crc64nvme", "parts": sha_parts,
            })),
        )
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn the_server_default_applies_when_the_client_names_no_mode() {
    let server = TestServer::with(|c| c.checksum = CRC).await;
    let token = server.token("alice");
    let created: CreateUploadResponse = server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(json!({"name": "e.bin", "size": 10, "part_size": 10})),
        )
        .await
        .parse();
    assert_eq!(created.checksum, CRC);
    // Parts sent along decide for a client that predates the choice.
    let data = random_bytes(10);
    let created: CreateUploadResponse = server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(json!({
                "name": "f.bin", "size": 10, "part_size": 10,
                "parts": common::checksums(&data, 10),
            })),
        )
        .await
        .parse();
    assert_eq!(created.checksum, ChecksumMode::Sha256);
    let status: UploadStatus = server.upload_status(&token, &created.upload_id.0).await;
    assert_eq!(status.checksum, ChecksumMode::Sha256);
}

#[tokio::test]
async fn the_local_backend_itself_checks_the_whole_object() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = random_bytes((5 * MIB + 9) as usize);
    let created = server.create_in(CRC, &token, "g.bin", &data, 5 * MIB).await;
    let parts = server.put_all(&created, &data).await;
    let row = server
        .state
        .db
        .upload(&created.upload_id, "alice")
        .await
        .expect("db")
        .expect("row");
    let storage = &server.state.storage;
    let whole = Crc64::of(&data);
    let refused = storage
        .complete(
            &row.storage_key,
            &row.storage_upload_id,
            &parts,
            Some(Crc64(whole.0 ^ 1)),
        )
        .await;
    assert!(
        matches!(refused, Err(StorageError::ChecksumMismatch(_))),
        "{refused:?}"
    );
    let joined = storage
        .complete(
            &row.storage_key,
            &row.storage_upload_id,
            &parts,
            Some(whole),
        )
        .await
        .expect("the right CRC joins the parts");
    assert_eq!(joined.checksum, Some(whole.to_base64()));
    let again = storage
        .stat_object(&row.storage_key, CRC)
        .await
        .expect("stat")
        .expect("the object");
    assert_eq!(again.checksum, Some(whole.to_base64()));
}
