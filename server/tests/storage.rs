//! The local backend's signed URLs: checksums, signatures, expiry and CORS, as S3
//! would answer them.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{local_path, TestServer, PUBLIC_URL, SECRET};
use partway::core::wire::{CreateUploadResponse, SignedPart};
use partway::core::{Checksum, PartNumber, SignedUrl};
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
            Some(Checksum::of(DATA)),
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
            Some(Checksum::of(DATA)),
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
