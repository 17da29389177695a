//! The API's gatekeeping: health, dev mode, tokens, and the checks on new uploads.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{TestServer, MIB};
use partway_server::auth::AuthKeys;
use serde_json::json;

/// Every authenticated call, with a body where it needs one.
fn api_calls() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    let create = json!({"name": "a.txt", "size": 3, "part_size": 3});
    vec![
        (Method::POST, "/api/uploads", Some(create)),
        (
            Method::POST,
            "/api/uploads/x/parts",
            Some(json!({"parts": []})),
        ),
        (Method::GET, "/api/uploads/x", None),
        (
            Method::POST,
            "/api/uploads/x/complete",
            Some(json!({"parts": []})),
        ),
        (Method::DELETE, "/api/uploads/x", None),
        (Method::GET, "/api/files", None),
        (Method::GET, "/api/files/x", None),
        (Method::DELETE, "/api/files/x", None),
    ]
}

async fn assert_all_unauthorized(server: &TestServer, token: Option<&str>) {
    for (method, path, body) in api_calls() {
        let answer = server.api(method.clone(), path, token, body).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        answer.assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::new().await;
    let answer = server.api(Method::GET, "/healthz", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn dev_token_works_in_dev_mode() {
    let server = TestServer::new().await;
    let answer = server
        .api(
            Method::POST,
            "/api/dev/token",
            None,
            Some(json!({"user": "alice"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let token = answer.json()["token"].as_str().expect("token").to_string();
    let files = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await;
    assert_eq!(files.status, StatusCode::OK);
    assert_eq!(files.json(), json!({"files": []}));
    let bad = server
        .api(
            Method::POST,
            "/api/dev/token",
            None,
            Some(json!({"user": "a/b"})),
        )
        .await;
    bad.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn dev_routes_are_absent_without_dev() {
    let server = TestServer::with(|c| c.dev = false).await;
    let answer = server
        .api(
            Method::POST,
            "/api/dev/token",
            None,
            Some(json!({"user": "alice"})),
        )
        .await;
    answer.assert_error(404, "not_found");
    let stats = server.api(Method::GET, "/api/dev/stats", None, None).await;
    stats.assert_error(404, "not_found");
}

#[tokio::test]
async fn dev_stats_count_part_puts() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let data = b"hello".to_vec();
    let created = server.create(&token, "h.txt", &data, 5).await;
    server.put_all(&created, &data).await;
    let stats = server
        .api(Method::GET, "/api/dev/stats", None, None)
        .await
        .json();
    assert_eq!(
        stats,
        json!({"part_puts_in_flight": 0, "part_puts_max_in_flight": 1, "part_puts_total": 1})
    );
    let reset = server
        .api(Method::POST, "/api/dev/stats/reset", None, None)
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    let stats = server
        .api(Method::GET, "/api/dev/stats", None, None)
        .await
        .json();
    assert_eq!(stats["part_puts_total"], 0);
}

#[tokio::test]
async fn calls_without_a_token_are_unauthorized() {
    let server = TestServer::new().await;
    assert_all_unauthorized(&server, None).await;
}

#[tokio::test]
async fn calls_with_a_malformed_token_are_unauthorized() {
    let server = TestServer::new().await;
    assert_all_unauthorized(&server, Some("not-a-jwt")).await;
    // Not even a bearer header.
    let req = axum::http::Request::get("/api/files")
        .header("authorization", "Basic YWxpY2U6cHc=")
        .body(axum::body::Body::empty())
        .expect("request");
    server.send(req).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn calls_with_a_forged_token_are_unauthorized() {
    let server = TestServer::new().await;
    let forged = AuthKeys::new(b"another secret", 3600, 3600, false)
        .expect("keys")
        .issue("alice")
        .expect("token");
    assert_all_unauthorized(&server, Some(&forged)).await;
}

/// A token as a site's own login mints it: HS256 over `{sub, exp}` with the secret itself.
fn site_token(secret: &[u8], sub: &str, lives: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let exp = now + lives;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": sub, "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(secret).expect("a key"),
    )
    .expect("signs")
}

#[tokio::test]
async fn a_token_signed_with_the_configured_secret_is_accepted() {
    let server = TestServer::with(|c| c.secret = Some("the site's secret".into())).await;
    let token = site_token(b"the site's secret", "carol", 600);
    let files = server
        .api(Method::GET, "/api/files", Some(&token), None)
        .await;
    assert_eq!(files.status, StatusCode::OK);
    let other = site_token(b"not the secret", "carol", 600);
    assert_all_unauthorized(&server, Some(&other)).await;
}

#[tokio::test]
async fn a_token_that_lives_longer_than_the_maximum_is_refused() {
    let server = TestServer::with(|c| {
        c.secret = Some("s".into());
        c.max_token_lifetime = 3600;
        c.token_ttl = 600;
    })
    .await;
    let long = site_token(b"s", "carol", 2 * 3600);
    let answer = server
        .api(Method::GET, "/api/files", Some(&long), None)
        .await;
    answer.assert_error(401, "unauthorized");
    assert!(answer.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("3600"));
    assert_all_unauthorized(&server, Some(&long)).await;
}

#[tokio::test]
async fn dev_tokens_stop_working_without_dev_mode() {
    let dev = TestServer::with(|c| c.secret = Some("shared".into())).await;
    let token = dev
        .api(
            Method::POST,
            "/api/dev/token",
            None,
            Some(json!({"user": "alice"})),
        )
        .await
        .json()["token"]
        .as_str()
        .expect("token")
        .to_string();
    let production = TestServer::with(|c| {
        c.secret = Some("shared".into());
        c.dev = false;
    })
    .await;
    assert_all_unauthorized(&production, Some(&token)).await;
    // The same user with a site's token is fine there.
    let site = site_token(b"shared", "alice", 600);
    let files = production
        .api(Method::GET, "/api/files", Some(&site), None)
        .await;
    assert_eq!(files.status, StatusCode::OK);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let req = Request::get("/api/files")
            .header("authorization", format!("{scheme} {token}"))
            .body(Body::empty())
            .expect("request");
        assert_eq!(server.send(req).await.status, StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn calls_with_an_expired_token_are_unauthorized() {
    let server = TestServer::new().await;
    let expired = server
        .state
        .keys
        .issue_until("alice", 1_000_000)
        .expect("token");
    assert_all_unauthorized(&server, Some(&expired)).await;
}

#[tokio::test]
async fn unknown_api_routes_answer_json_404() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    server
        .api(Method::GET, "/api/nope", Some(&token), None)
        .await
        .assert_error(404, "not_found");
    server
        .api(Method::PUT, "/api/files", Some(&token), None)
        .await
        .assert_error(405, "invalid_request");
}

#[tokio::test]
async fn too_large_is_413() {
    let server = TestServer::with(|c| c.max_file_size = 10 * MIB).await;
    let token = server.token("alice");
    let body = json!({"name": "big.bin", "size": 10 * MIB + 1, "part_size": 5 * MIB});
    let answer = server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await;
    answer.assert_error(413, "file_too_large");
    assert_eq!(
        answer.json()["error"]["message"],
        "This file is 10.0 MiB; the limit is 10.0 MiB."
    );
}

#[tokio::test]
async fn type_outside_the_allowlist_is_415() {
    let server =
        TestServer::with(|c| c.allowed_types = vec!["image/*".into(), "application/pdf".into()])
            .await;
    let token = server.token("alice");
    let upload = |ct: &str| json!({"name": "x", "size": 3, "part_size": 3, "content_type": ct});
    let answer = server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(upload("text/plain")),
        )
        .await;
    answer.assert_error(415, "type_not_allowed");
    // An empty type counts as application/octet-stream, which is not allowed either.
    let answer = server
        .api(Method::POST, "/api/uploads", Some(&token), Some(upload("")))
        .await;
    answer.assert_error(415, "type_not_allowed");
    let answer = server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(upload("image/png")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_part_size_is_400() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let body = json!({"name": "x.bin", "size": 20 * MIB, "part_size": MIB});
    let answer = server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await;
    answer.assert_error(400, "invalid_request");
    let body = json!({"name": "x.bin", "size": 20 * MIB, "part_size": 0});
    let answer = server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await;
    answer.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn bad_names_and_part_numbers_are_400() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let body = json!({"name": "", "size": 3, "part_size": 3});
    server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await
        .assert_error(400, "invalid_request");
    let sum = partway::core::Checksum::of(b"abc");
    let body = json!({"name": "a", "size": 3, "part_size": 3, "parts": [{"part_number": 2, "sha256": sum}]});
    server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await
        .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn malformed_json_is_400_with_the_error_shape() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let req = axum::http::Request::post("/api/uploads")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"name\": \"a\", "))
        .expect("request");
    server.send(req).await.assert_error(400, "invalid_request");
    // Well-formed JSON of the wrong shape, too.
    let answer = server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(json!({"name": 3})),
        )
        .await;
    answer.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn static_dir_is_served_with_an_index_fallback() {
    let site = tempfile::tempdir().expect("tempdir");
    std::fs::write(site.path().join("index.html"), "<h1>demo</h1>").expect("write");
    std::fs::write(site.path().join("app.js"), "// js").expect("write");
    let dir = site.path().to_path_buf();
    let server = TestServer::with(move |c| c.static_dir = Some(dir)).await;
    let index = server.api(Method::GET, "/", None, None).await;
    assert_eq!(
        (index.status, index.body.as_slice()),
        (StatusCode::OK, b"<h1>demo</h1>".as_slice())
    );
    let js = server.api(Method::GET, "/app.js", None, None).await;
    assert_eq!(js.body, b"// js");
    let deep = server.api(Method::GET, "/some/page", None, None).await;
    assert_eq!(deep.body, b"<h1>demo</h1>");
    // The API keeps its own answers.
    server
        .api(Method::GET, "/api/nope", None, None)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        server.api(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_preflight_allows_the_authorization_header_from_other_origins() {
    let server = TestServer::new().await;
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/uploads")
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .body(Body::empty())
        .expect("request");
    let answer = server.send(req).await;
    assert!(answer.status.is_success(), "{}", answer.status);
    let allowed = answer
        .headers
        .get("access-control-allow-headers")
        .expect("allow-headers");
    assert!(allowed
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase()
        .contains("authorization"));
}

#[tokio::test]
async fn api_cors_can_be_limited_to_listed_origins() {
    let server = TestServer::with(|c| c.cors_origins = vec!["https://shop.example".into()]).await;
    let preflight = |origin: &'static str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/api/uploads")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .expect("request")
    };
    let ok = server.send(preflight("https://shop.example")).await;
    assert_eq!(
        ok.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().expect("ascii")),
        Some("https://shop.example")
    );
    let other = server.send(preflight("https://evil.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_file_list_answers_304_while_it_is_unchanged() {
    use axum::http::header::{ETAG, IF_NONE_MATCH};
    let server = TestServer::new().await;
    let token = server.token("alice");
    let list = |etag: Option<String>| {
        let token = token.clone();
        let server = &server;
        async move {
            let mut req = axum::http::Request::get("/api/files")
                .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"));
            if let Some(etag) = etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            server
                .send(req.body(axum::body::Body::empty()).expect("request"))
                .await
        }
    };
    let first = list(None).await;
    assert_eq!(first.status, 200);
    let etag = first.headers[ETAG].to_str().expect("ascii").to_string();
    let again = list(Some(etag.clone())).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.headers[ETAG], etag.as_str());
    // A new file changes the list, and its tag.
    let data = common::random_bytes(10);
    server
        .upload(&token, "new.txt", &data, common::MIB * 5)
        .await;
    let changed = list(Some(etag.clone())).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.headers[ETAG], etag.as_str());
    assert_eq!(changed.json()["files"][0]["name"], "new.txt");
}

#[tokio::test]
async fn file_listings_are_read_from_the_read_replica() {
    // A "replica" that holds a file the primary does not: the listing shows what the
    // replica holds, while writes still go to the primary.
    let replica_dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}",
        replica_dir.path().join("replica.db").display()
    );
    partway_server::db::Db::connect(&url)
        .await
        .expect("the replica's schema");
    let replica = sqlx::AnyPool::connect(&url).await.expect("replica");
    sqlx::query(
        "INSERT INTO files (id, owner, name, storage_key, size, content_type, created_at)
         VALUES ('f-replica', 'kim', 'from-replica.txt', 'k', 1, 'text/plain', 1)",
    )
    .execute(&replica)
    .await
    .expect("insert");
    let server = common::TestServer::with(|c| c.database_read_url = Some(url.clone())).await;
    let token = server.token("kim");
    server.upload(&token, "to-primary.txt", b"hi", 2).await;
    let listed: partway::core::wire::FileList = server
        .api(axum::http::Method::GET, "/api/files", Some(&token), None)
        .await
        .parse();
    let names: Vec<&str> = listed.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["from-replica.txt"]);
}
