//! The local backend's signed URLs: checksums, signatures, expiry and CORS, as S3
//! would answer them.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{local_path, TestServer, PUBLIC_URL, SECRET};
use futures_util::StreamExt;
use partway::core::wire::{CreateUploadResponse, SignedPart};
use partway::core::{Checksum, PartNumber, PartSum, SignedUrl};
use partway_server::stats::PutStats;
use partway_server::storage::local::LocalStorage;
use std::sync::Arc;

const DATA: &[u8] = b"exactly these bytes";

async fn one_part_upload(server: &TestServer) -> SignedPart {
    let token = server.token("alice");
    let created: CreateUploadResponse = server
        .create(&token, "f.txt", DATA, DATA.len() as u64)
        .await;
    created.parts[0].clone()
}

/// The part with its URL rewritten by `edit`.
fn edited(part: &SignedPart, edit: impl FnOnce(&str) -> String) -> SignedPart {
    SignedPart {
        url: SignedUrl::new(edit(part.url.expose())),
        ..part.clone()
    }
}

#[tokio::test]
async fn a_good_put_answers_an_etag() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    let answer = server.put_part(&part, DATA, true).await;
    assert_eq!(answer.status, StatusCode::OK);
    let etag = answer.headers["etag"].to_str().expect("ascii");
    assert_eq!(etag, format!("\"{}\"", &Checksum::of(DATA).to_hex()[..32]));
    // Sending the same part again replaces it.
    assert_eq!(
        server.put_part(&part, DATA, true).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_bytes_are_checksum_mismatch() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    let wrong = b"exactly those bytes";
    assert_eq!(wrong.len(), DATA.len());
    server
        .put_part(&part, wrong, true)
        .await
        .assert_error(400, "checksum_mismatch");
    // Nothing was kept.
    let uploads = server.dir.path().join("storage/uploads");
    let dir = std::fs::read_dir(uploads)
        .expect("dir")
        .next()
        .expect("one upload")
        .expect("entry");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(files, ["part_count"]);
}

#[tokio::test]
async fn missing_checksum_header_is_400() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    server
        .put_part(&part, DATA, false)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn a_different_checksum_header_is_signature_invalid() {
    let server = TestServer::new().await;
    let mut part = one_part_upload(&server).await;
    part.headers.insert(
        "x-amz-checksum-sha256".into(),
        Checksum::of(b"other").to_base64(),
    );
    server
        .put_part(&part, DATA, true)
        .await
        .assert_error(403, "signature_invalid");
}

#[tokio::test]
async fn wrong_lengths_are_400() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    server
        .put_part(&part, &DATA[..5], true)
        .await
        .assert_error(400, "invalid_request");
    let longer = [DATA, b"!"].concat();
    server
        .put_part(&part, &longer, true)
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn tampered_signature_is_403() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    let tampered = edited(&part, |url| {
        let (rest, sig) = url.rsplit_once("sig=").expect("sig");
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        format!("{rest}sig={flipped}{}", &sig[1..])
    });
    server
        .put_part(&tampered, DATA, true)
        .await
        .assert_error(403, "signature_invalid");
    let unsigned = edited(&part, |url| {
        url.split("&sig=").next().expect("url").to_string()
    });
    server
        .put_part(&unsigned, DATA, true)
        .await
        .assert_error(403, "signature_invalid");
}

#[tokio::test]
async fn tampered_part_number_or_length_is_403() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    let other_part = edited(&part, |url| url.replacen("/1?", "/2?", 1));
    server
        .put_part(&other_part, DATA, true)
        .await
        .assert_error(403, "signature_invalid");
    let len = DATA.len();
    let other_len = edited(&part, |url| {
        url.replacen(&format!("len={len}"), &format!("len={}", len + 1), 1)
    });
    server
        .put_part(&other_len, &[DATA, b"!"].concat(), true)
        .await
        .assert_error(403, "signature_invalid");
    let no_checksum = edited(&part, |url| {
        let start = url.find("&sha256=").expect("sha256");
        let end = url[start + 1..].find('&').expect("more") + start + 1;
        format!("{}{}", &url[..start], &url[end..])
    });
    server
        .put_part(&no_checksum, DATA, false)
        .await
        .assert_error(403, "signature_invalid");
}

#[tokio::test]
async fn expired_url_is_403() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    // The storage upload id is the URL's second-to-last path segment.
    let path = local_path(part.url.expose());
    let upload_id = path
        .split('?')
        .next()
        .expect("path")
        .split('/')
        .nth(3)
        .expect("id")
        .to_string();
    // The same secret signs the same URLs: sign one that expired a minute ago.
    let other_root = tempfile::tempdir().expect("tempdir");
    let signer = LocalStorage::new(
        other_root.path(),
        PUBLIC_URL,
        SECRET.as_bytes(),
        Arc::new(PutStats::default()),
    )
    .expect("storage");
    let past = partway_server_now() - 60;
    let expired = signer
        .sign_part_until(
            &upload_id,
            PartNumber(1),
            DATA.len() as u64,
            Some(PartSum::Sha256(Checksum::of(DATA))),
            past,
        )
        .expect("signs");
    assert_eq!(expired.expires_in, 0);
    server
        .put_part(&expired, DATA, true)
        .await
        .assert_error(403, "url_expired");
    // While one signed for later works.
    let later = signer
        .sign_part_until(
            &upload_id,
            PartNumber(1),
            DATA.len() as u64,
            Some(PartSum::Sha256(Checksum::of(DATA))),
            past + 3600,
        )
        .expect("signs");
    assert_eq!(
        server.put_part(&later, DATA, true).await.status,
        StatusCode::OK
    );
}

fn partway_server_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[tokio::test]
async fn tampered_download_url_is_403() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let created = server
        .create(&token, "d.txt", DATA, DATA.len() as u64)
        .await;
    let parts = server.put_all(&created, DATA).await;
    let done: partway::core::wire::CompleteUploadResponse = server
        .complete(&token, &created.upload_id.0, parts)
        .await
        .parse();
    assert_eq!(server.download(&done.download_url).await.body, DATA);
    let renamed = done.download_url.replacen("name=d.txt", "name=e.txt", 1);
    server
        .download(&renamed)
        .await
        .assert_error(403, "signature_invalid");
}

#[tokio::test]
async fn cors_preflight_allows_the_checksum_header_and_exposes_etag() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri(local_path(part.url.expose()))
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-checksum-sha256",
        )
        .body(Body::empty())
        .expect("request");
    let answer = server.send(req).await;
    assert!(answer.status.is_success(), "{}", answer.status);
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_ascii_lowercase())
    };
    assert_eq!(header("access-control-allow-origin").as_deref(), Some("*"));
    assert!(header("access-control-allow-methods")
        .expect("methods")
        .contains("put"));
    assert!(header("access-control-allow-headers")
        .expect("headers")
        .contains("x-amz-checksum-sha256"));

    // The PUT itself, and its errors, expose what the widget needs to read.
    let put = |bytes: &'static [u8]| {
        let mut req =
            Request::put(local_path(part.url.expose())).header("origin", "http://localhost:8080");
        for (k, v) in &part.headers {
            req = req.header(k, v);
        }
        req.body(Body::from(bytes)).expect("request")
    };
    let ok = server.send(put(DATA)).await;
    let exposed = ok.headers["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    let failed = server.send(put(b"exactly those bytes")).await;
    assert_eq!(failed.status, StatusCode::BAD_REQUEST);
    assert_eq!(failed.headers["access-control-allow-origin"], "*");
}

/// A stored two-part upload (6 MiB in 5 MiB parts) of `user`: token, id, parts, data.
async fn two_parts(
    server: &TestServer,
    user: &str,
) -> (
    String,
    String,
    Vec<partway::core::wire::CompletedPart>,
    Vec<u8>,
) {
    let token = server.token(user);
    let data = common::random_bytes((6 * common::MIB) as usize);
    let created = server
        .create(&token, "two.bin", &data, 5 * common::MIB)
        .await;
    let parts = server.put_all(&created, &data).await;
    (token, created.upload_id.0, parts, data)
}

fn upload_dir(server: &TestServer, storage_id: &str) -> std::path::PathBuf {
    server
        .dir
        .path()
        .join("storage")
        .join("uploads")
        .join(storage_id)
}

async fn storage_id(server: &TestServer, user: &str, id: &str) -> String {
    server
        .state
        .db
        .upload(&partway::core::UploadId(id.into()), user)
        .await
        .expect("db")
        .expect("row")
        .storage_upload_id
}

#[tokio::test]
async fn a_part_arriving_while_completing_or_after_abort_is_refused_in_json() {
    let server = TestServer::new().await;
    let part = one_part_upload(&server).await;
    let dir = server.dir.path().join("storage").join("uploads");
    let upload = std::fs::read_dir(&dir)
        .expect("uploads")
        .next()
        .expect("one")
        .expect("entry");
    // Being joined: the marker the assembly leaves while it runs.
    std::fs::write(upload.path().join("completing"), b"").expect("marker");
    let answer = server.put_part(&part, DATA, true).await;
    answer.assert_error(409, "upload_not_active");
    // Gone (completed or cancelled): 404, not a 500 of a missing directory.
    std::fs::remove_dir_all(upload.path()).expect("removed");
    let answer = server.put_part(&part, DATA, true).await;
    answer.assert_error(404, "not_found");
}

#[tokio::test]
async fn complete_refuses_a_part_that_changed_on_disk_and_the_upload_stays_open() {
    let server = TestServer::new().await;
    let (token, id, parts, data) = two_parts(&server, "carol").await;
    let sid = storage_id(&server, "carol", &id).await;
    let part1 = upload_dir(&server, &sid).join("1.part");
    let mut bytes = std::fs::read(&part1).expect("part");
    bytes[1000] ^= 0xff;
    std::fs::write(&part1, &bytes).expect("corrupted");
    server
        .complete(&token, &id, parts)
        .await
        .assert_error(400, "checksum_mismatch");
    assert_eq!(
        server.upload_status(&token, &id).await.state,
        partway::core::wire::UploadState::Active,
        "the claim is handed back"
    );
    // The person sends the part again, and the file completes intact.
    let created_again: partway::core::wire::SignPartsResponse = server
        .api(
            Method::POST,
            &format!("/api/uploads/{id}/parts"),
            Some(&token),
            Some(serde_json::json!({"parts": common::checksums(&data, 5 * common::MIB)[..1]})),
        )
        .await
        .parse();
    let answer = server
        .put_part(
            &created_again.parts[0],
            &data[..(5 * common::MIB) as usize],
            true,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let etag = answer.headers["etag"].to_str().expect("etag").to_string();
    let mut parts = server.upload_status(&token, &id).await.parts;
    parts.sort_by_key(|p| p.part_number);
    let named = parts
        .iter()
        .map(|p| partway::core::wire::CompletedPart {
            part_number: p.part_number,
            etag: if p.part_number.0 == 1 {
                partway::core::ETag(etag.clone())
            } else {
                p.etag.clone()
            },
        })
        .collect();
    let done = server.complete(&token, &id, named).await;
    assert_eq!(
        done.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&done.body)
    );
    let file: partway::core::wire::CompleteUploadResponse = done.parse();
    assert_eq!(server.download(&file.download_url).await.body, data);
}

#[tokio::test]
async fn a_part_body_that_stalls_is_given_up_with_408() {
    let server = TestServer::with(|c| c.body_idle_timeout = 1).await;
    let part = one_part_upload(&server).await;
    // Half the bytes, then nothing, for ever.
    let half = axum::body::Bytes::copy_from_slice(&DATA[..5]);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(half) })
        .chain(futures_util::stream::pending());
    let mut req = Request::builder()
        .method(Method::PUT)
        .uri(local_path(part.url.expose()))
        .header("content-length", DATA.len());
    for (k, v) in &part.headers {
        req = req.header(k, v);
    }
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        server.send(req.body(Body::from_stream(stream)).expect("request")),
    )
    .await
    .expect("answered, not held for ever");
    answer.assert_error(408, "invalid_request");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
