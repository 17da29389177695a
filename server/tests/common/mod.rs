//! A server on a temporary data directory, driven through `app(state).oneshot(...)`.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use partway::core::wire::{
    CompleteUploadRequest, CompletedPart, CreateUploadRequest, CreateUploadResponse, PartChecksum,
    SignedPart, UploadStatus,
};
use partway::core::{Checksum, ChecksumMode, Crc64, ETag, PartNumber, PartSum};
use partway_server::config::Config;
use partway_server::{app, build_state, AppState};
use serde_json::Value;
use tower::ServiceExt;

/// Where signed URLs point; stripped again to send them to the in-process app.
pub const PUBLIC_URL: &str = "http://partway.test";
/// The secret of test servers, so tests can sign URLs of their own.
pub const SECRET: &str = "test-secret";
pub const MIB: u64 = 1024 * 1024;

pub struct TestServer {
    pub state: AppState,
    pub dir: tempfile::TempDir,
}

/// An answer: status, headers, body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "unexpected body ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error.code` of an error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Asserts the status and the error code (and that there is a message for people).
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        let json = self.json();
        assert_eq!(self.status.as_u16(), status, "body: {json}");
        assert_eq!(json["error"]["code"], code, "body: {json}");
        assert!(!json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
    }
}

/// With `PARTWAY_TEST_POSTGRES_URL` set (tests/run does, after starting a cluster),
/// every test server gets a database of its own on that PostgreSQL server; without it,
/// a SQLite file in its temp dir. tests/run runs the whole suite both ways.
async fn fresh_postgres_database() -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("PARTWAY_TEST_POSTGRES_URL").ok()?;
    let name = format!("partway_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL at PARTWAY_TEST_POSTGRES_URL");
    // The name is ours (a uuid), not input: safe to put in the statement.
    let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"));
    sqlx::query(create)
        .execute(&mut conn)
        .await
        .expect("create database");
    conn.close().await.ok();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .expect("URL with a database name");
    Some(format!("{base}/{name}"))
}

impl TestServer {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A dev-mode server with `change` applied to its config.
    pub async fn with(change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::with_data_dir(dir.path());
        config.dev = true;
        config.public_url = Some(PUBLIC_URL.into());
        config.secret = Some(SECRET.into());
        config.database_url = fresh_postgres_database().await;
        change(&mut config);
        let state = build_state(&config).await.expect("state");
        TestServer { state, dir }
    }

    pub fn app(&self) -> Router {
        app(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.app().oneshot(req).await.expect("infallible");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// A request to the API, with a bearer token and a JSON body if given.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).expect("request")).await
    }

    pub fn token(&self, user: &str) -> String {
        self.state.keys.issue(user).expect("token")
    }

    /// Starts an upload of `data` with `part_size`, signing every part.
    pub async fn create(
        &self,
        token: &str,
        name: &str,
        data: &[u8],
        part_size: u64,
    ) -> CreateUploadResponse {
        self.create_in(ChecksumMode::Sha256, token, name, data, part_size)
            .await
    }

    /// [`TestApp::create`] with parts summed in `mode`.
    pub async fn create_in(
        &self,
        mode: ChecksumMode,
        token: &str,
        name: &str,
        data: &[u8],
        part_size: u64,
    ) -> CreateUploadResponse {
        let req = CreateUploadRequest {
            name: name.into(),
            size: data.len() as u64,
            content_type: "application/octet-stream".into(),
            last_modified: Some(1_700_000_000_000),
            part_size,
            parts: checksums_in(mode, data, part_size),
            checksum: Some(mode),
        };
        self.create_request(token, req).await
    }

    /// Starts a one-part upload of `data` declared as `content_type`.
    pub async fn create_typed(
        &self,
        token: &str,
        name: &str,
        content_type: &str,
        data: &[u8],
    ) -> CreateUploadResponse {
        let size = data.len() as u64;
        let req = CreateUploadRequest {
            name: name.into(),
            size,
            content_type: content_type.into(),
            last_modified: None,
            part_size: size,
            parts: checksums(data, size),
            checksum: None,
        };
        self.create_request(token, req).await
    }

    /// `POST /api/uploads` with `req`, asserting the 201.
    async fn create_request(&self, token: &str, req: CreateUploadRequest) -> CreateUploadResponse {
        let answer = self
            .api(
                Method::POST,
                "/api/uploads",
                Some(token),
                Some(serde_json::to_value(req).expect("json")),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.parse()
    }

    /// PUTs `bytes` to a signed part URL, with the signed headers if `with_headers`.
    pub async fn put_part(&self, part: &SignedPart, bytes: &[u8], with_headers: bool) -> Answer {
        let mut req = Request::builder()
            .method(Method::PUT)
            .uri(local_path(part.url.expose()));
        if with_headers {
            for (k, v) in &part.headers {
                req = req.header(k, v);
            }
        }
        self.send(req.body(Body::from(bytes.to_vec())).expect("request"))
            .await
    }

    /// PUTs every part of `data` and returns what complete needs.
    pub async fn put_all(&self, created: &CreateUploadResponse, data: &[u8]) -> Vec<CompletedPart> {
        let mut done = Vec::new();
        for part in &created.parts {
            let bytes = part_bytes(data, created.part_size, part.part_number);
            let answer = self.put_part(part, bytes, true).await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&answer.body)
            );
            let etag = answer.headers[header::ETAG]
                .to_str()
                .expect("etag")
                .to_string();
            done.push(CompletedPart {
                part_number: part.part_number,
                etag: ETag(etag),
            });
        }
        done
    }

    pub async fn complete(
        &self,
        token: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> Answer {
        self.complete_with(token, upload_id, parts, None).await
    }

    /// `complete`, claiming the whole file's CRC-64/NVME.
    pub async fn complete_with(
        &self,
        token: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        crc64nvme: Option<Crc64>,
    ) -> Answer {
        let req = CompleteUploadRequest {
            parts,
            crc64nvme,
            sha256: None,
        };
        self.complete_request(token, upload_id, &req).await
    }

    /// `POST /api/uploads/{id}/complete` with exactly this request.
    pub async fn complete_request(
        &self,
        token: &str,
        upload_id: &str,
        req: &CompleteUploadRequest,
    ) -> Answer {
        let body = serde_json::to_value(req).expect("json");
        self.api(
            Method::POST,
            &format!("/api/uploads/{upload_id}/complete"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// Uploads `data` whole (create, every part, complete) and asserts the 200.
    pub async fn upload(&self, token: &str, name: &str, data: &[u8], part_size: u64) -> Answer {
        let created = self.create(token, name, data, part_size).await;
        let parts = self.put_all(&created, data).await;
        let answer = self.complete(token, &created.upload_id.0, parts).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        answer
    }

    /// `GET /api/uploads/{id}`: what storage holds of an upload.
    pub async fn upload_status(&self, token: &str, upload_id: &str) -> UploadStatus {
        self.api(
            Method::GET,
            &format!("/api/uploads/{upload_id}"),
            Some(token),
            None,
        )
        .await
        .parse()
    }

    /// GETs a signed download URL.
    pub async fn download(&self, url: &str) -> Answer {
        let req = Request::builder()
            .uri(local_path(url))
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }
}

/// The path and query of a signed URL, for the in-process app.
pub fn local_path(url: &str) -> String {
    url.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("URL not under {PUBLIC_URL}: {url}"))
        .to_string()
}

pub fn part_bytes(data: &[u8], part_size: u64, part: PartNumber) -> &[u8] {
    let start = (part.index() as u64 * part_size) as usize;
    let end = (start + part_size as usize).min(data.len());
    &data[start..end]
}

pub fn checksums(data: &[u8], part_size: u64) -> Vec<PartChecksum> {
    checksums_in(ChecksumMode::Sha256, data, part_size)
}

/// Every part's checksum in `mode`.
pub fn checksums_in(mode: ChecksumMode, data: &[u8], part_size: u64) -> Vec<PartChecksum> {
    let count = data.len().div_ceil(part_size as usize).max(1);
    (0..count)
        .map(|i| {
            let n = PartNumber::from_index(i);
            let bytes = part_bytes(data, part_size, n);
            PartChecksum {
                part_number: n,
                sum: match mode {
                    ChecksumMode::Sha256 => PartSum::Sha256(Checksum::of(bytes)),
                    ChecksumMode::Crc64nvme => PartSum::Crc64nvme(Crc64::of(bytes)),
                },
            }
        })
        .collect()
}

/// `n` bytes that differ from position to position (and from run to run).
pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}
