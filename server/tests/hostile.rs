//! Hostile input, case by case: each answer is the JSON error contract with the right
//! status and code, and nothing was created.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::{TestServer, MIB};
use serde_json::{json, Value};

/// A create that must be refused, and how.
struct Refused {
    what: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
}

fn create(name: &str, content_type: &str) -> Value {
    json!({"name": name, "size": 3, "part_size": 3, "content_type": content_type})
}

/// What the user has: no upload should ever be left behind by a refused call.
async fn nothing_created(server: &TestServer, token: &str) {
    let files = server
        .api(Method::GET, "/api/files", Some(token), None)
        .await;
    assert_eq!(files.json(), json!({"files": []}));
    let uploads = std::fs::read_dir(server.dir.path().join("storage").join("uploads"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(uploads, 0, "storage holds an upload");
}

#[tokio::test]
async fn creates_with_hostile_names_and_types_are_refused() {
    let server = TestServer::new().await;
    let token = server.token("mallory");
    let long_type = format!("application/{}", "x".repeat(100_000));
    let cases = [
        Refused {
            what: "header injection in the type",
            body: create("a.txt", "text/plain\r\nSet-Cookie: a=b"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "injection after an allowed family",
            body: create("a.png", "image/png\r\nX-Injected: 1"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a 100,000-character type",
            body: create("a.bin", &long_type),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a type without a subtype",
            body: create("a.bin", "text"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a wildcard type",
            body: create("a.bin", "*/*"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a space inside the type",
            body: create("a.bin", "text/pl ain"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a parameter without a value",
            body: create("a.bin", "text/plain; charset"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a non-ASCII type",
            body: create("a.bin", "tëxt/plain"),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a right-to-left override in the name",
            body: create("invoice\u{202E}fdp.exe", ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a zero-width space in the name",
            body: create("a\u{200B}b.txt", ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a byte order mark in the name",
            body: create("\u{FEFF}a.txt", ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a tag character in the name",
            body: create("a\u{E0041}.txt", ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a newline in the name",
            body: create("a\nb.txt", ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "an empty name",
            body: create("", ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a name of 256 characters",
            body: create(&"n".repeat(256), ""),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a negative size",
            body: json!({"name": "a", "size": -1, "part_size": 3}),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a size over the limit",
            body: json!({"name": "a", "size": 11u64 << 30, "part_size": 64 * MIB}),
            status: 413,
            code: "file_too_large",
        },
        Refused {
            what: "a part size of zero",
            body: json!({"name": "a", "size": 3, "part_size": 0}),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a part number past the plan",
            body: json!({"name": "a", "size": 3, "part_size": 3, "parts": [{"part_number": 9, "sha256": partway::core::Checksum::of(b"x")}]}),
            status: 400,
            code: "invalid_request",
        },
        Refused {
            what: "a checksum that is not base64 SHA-256",
            body: json!({"name": "a", "size": 3, "part_size": 3, "parts": [{"part_number": 1, "sha256": "abc"}]}),
            status: 400,
            code: "invalid_request",
        },
    ];
    for case in &cases {
        let answer = server
            .api(
                Method::POST,
                "/api/uploads",
                Some(&token),
                Some(case.body.clone()),
            )
            .await;
        assert_eq!(
            answer.status.as_u16(),
            case.status,
            "{}: {}",
            case.what,
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.code(), case.code, "{}", case.what);
    }
    nothing_created(&server, &token).await;
}

#[tokio::test]
async fn a_valid_type_is_stored_in_its_normal_form() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let answer = server
        .api(
            Method::POST,
            "/api/uploads",
            Some(&token),
            Some(create("a.txt", "Text/Plain; Charset=UTF-8; x=y")),
        )
        .await;
    assert_eq!(
        answer.status.as_u16(),
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let id = answer.json()["upload_id"].as_str().expect("id").to_string();
    let row = server
        .state
        .db
        .upload(&partway::core::UploadId(id), "alice")
        .await
        .expect("db")
        .expect("row");
    assert_eq!(row.content_type, "text/plain; charset=utf-8");
}

#[tokio::test]
async fn unreadable_ids_and_wrong_methods_answer_json() {
    let server = TestServer::new().await;
    let token = server.token("mallory");
    let raw = |method: Method, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request")
    };
    let cases = [
        (
            "an id that is not UTF-8",
            raw(Method::GET, "/api/uploads/%FF%FE"),
            404,
            "not_found",
        ),
        (
            "a file id that is not UTF-8",
            raw(Method::GET, "/api/files/%C3%28"),
            404,
            "not_found",
        ),
        (
            "a delete of an id that is not UTF-8",
            raw(Method::DELETE, "/api/uploads/%FF"),
            404,
            "not_found",
        ),
        (
            "an unknown upload",
            raw(Method::GET, "/api/uploads/nope"),
            404,
            "not_found",
        ),
        (
            "an unknown API route",
            raw(Method::GET, "/api/nope"),
            404,
            "not_found",
        ),
        (
            "a wrong method on the API",
            raw(Method::PUT, "/api/uploads"),
            405,
            "invalid_request",
        ),
        (
            "a wrong method on a part URL",
            raw(Method::DELETE, "/storage/parts/abc/1"),
            405,
            "invalid_request",
        ),
        (
            "a POST to a part URL",
            raw(Method::POST, "/storage/parts/abc/1"),
            405,
            "invalid_request",
        ),
        (
            "a part URL with a non-UTF-8 id",
            raw(Method::PUT, "/storage/parts/%FF/1"),
            404,
            "not_found",
        ),
        (
            "a part URL without a signature",
            raw(Method::PUT, "/storage/parts/abc/1"),
            403,
            "signature_invalid",
        ),
        (
            "a part URL with part zero",
            raw(Method::PUT, "/storage/parts/abc/0"),
            403,
            "signature_invalid",
        ),
        (
            "a wrong method on an object URL",
            raw(Method::PUT, "/storage/objects/abc"),
            405,
            "invalid_request",
        ),
        (
            "an object URL with a non-UTF-8 key",
            raw(Method::GET, "/storage/objects/%FF"),
            404,
            "not_found",
        ),
    ];
    for (what, req, status, code) in cases {
        let answer = server.send(req).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{what}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(
            answer
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(answer.code(), code, "{what}");
    }
    nothing_created(&server, &token).await;
}

#[tokio::test]
async fn a_user_cannot_hold_more_uploads_open_than_allowed() {
    let server = TestServer::with(|c| c.max_active_uploads = 2).await;
    let start = |token: String| {
        let server = &server;
        async move {
            server
                .api(
                    Method::POST,
                    "/api/uploads",
                    Some(&token),
                    Some(create("a.bin", "")),
                )
                .await
        }
    };
    let token = server.token("hoarder");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let answer = start(token.clone()).await;
        assert_eq!(answer.status.as_u16(), 201);
        ids.push(answer.json()["upload_id"].as_str().expect("id").to_string());
    }
    let third = start(token.clone()).await;
    third.assert_error(429, "too_many_uploads");
    assert_eq!(third.headers["retry-after"], "10");
    // Someone else is not held back by it.
    assert_eq!(
        start(server.token("someone-else")).await.status.as_u16(),
        201
    );
    // Once one ends, the next may start.
    let path = format!("/api/uploads/{}", ids[0]);
    let cancelled = server.api(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(cancelled.status.as_u16(), 204);
    assert_eq!(start(token).await.status.as_u16(), 201);
}

/// One call that must be refused: what, how it is sent, and the answer.
struct Call {
    what: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    status: u16,
    code: &'static str,
}

/// The state every hostile call must leave untouched: the uploads' states and the
/// files of both users.
async fn snapshot(server: &TestServer, ids: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let row = server
            .state
            .db
            .upload_by_id(id)
            .await
            .expect("db")
            .expect("row");
        out.push(format!("{id}: {:?} {:?}", row.state, row.parts));
    }
    for user in ["victim", "mallory"] {
        let files = server.state.db.files(user).await.expect("files");
        out.push(format!("{user}: {} files", files.len()));
    }
    out
}

#[tokio::test]
async fn hostile_calls_on_uploads_and_files_change_nothing() {
    let server = TestServer::new().await;
    let victim = server.token("victim");
    let mallory = server.token("mallory");
    let data = common::random_bytes(1000);
    // An active upload of the victim, with its part stored; one completed; one aborted.
    let active = server.create(&victim, "v.bin", &data, 1000).await;
    let stored = server.put_all(&active, &data).await;
    let done = server.create(&victim, "d.bin", &data, 1000).await;
    let parts = server.put_all(&done, &data).await;
    let file: partway::core::wire::CompleteUploadResponse = server
        .complete(&victim, &done.upload_id.0, parts)
        .await
        .parse();
    let gone = server.create(&victim, "g.bin", &data, 1000).await;
    let path = format!("/api/uploads/{}", gone.upload_id.0);
    assert_eq!(
        server
            .api(Method::DELETE, &path, Some(&victim), None)
            .await
            .status
            .as_u16(),
        204
    );
    let (a, d, g) = (&active.upload_id.0, &done.upload_id.0, &gone.upload_id.0);
    let f = &file.file.id.0;
    let before = snapshot(&server, &[a, d, g]).await;

    let sum = partway::core::Checksum::of(&data);
    let etag = stored[0].etag.0.clone();
    let v = Some(victim.clone());
    let m = Some(mallory.clone());
    let call = |what, method, path: String, token: &Option<String>, body, status, code| Call {
        what,
        method,
        path,
        token: token.clone(),
        body,
        status,
        code,
    };
    let calls = vec![
        // Someone else's upload and file: as if they did not exist.
        call(
            "sign another user's upload",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &m,
            Some(json!({"parts": [{"part_number": 1, "sha256": sum}]})),
            404,
            "not_found",
        ),
        call(
            "read another user's upload",
            Method::GET,
            format!("/api/uploads/{a}"),
            &m,
            None,
            404,
            "not_found",
        ),
        call(
            "complete another user's upload",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &m,
            Some(json!({"parts": [{"part_number": 1, "etag": etag}]})),
            404,
            "not_found",
        ),
        call(
            "cancel another user's upload",
            Method::DELETE,
            format!("/api/uploads/{a}"),
            &m,
            None,
            404,
            "not_found",
        ),
        call(
            "read another user's file",
            Method::GET,
            format!("/api/files/{f}"),
            &m,
            None,
            404,
            "not_found",
        ),
        call(
            "delete another user's file",
            Method::DELETE,
            format!("/api/files/{f}"),
            &m,
            None,
            404,
            "not_found",
        ),
        // No token, a forged one.
        call(
            "sign without a token",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &None,
            Some(json!({"parts": []})),
            401,
            "unauthorized",
        ),
        call(
            "complete without a token",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &None,
            Some(json!({"parts": []})),
            401,
            "unauthorized",
        ),
        call(
            "delete a file with a forged token",
            Method::DELETE,
            format!("/api/files/{f}"),
            &Some(format!("{victim}x")),
            None,
            401,
            "unauthorized",
        ),
        // Signing: numbers outside the plan, twice, malformed.
        call(
            "sign part 0",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &v,
            Some(json!({"parts": [{"part_number": 0, "sha256": sum}]})),
            400,
            "invalid_request",
        ),
        call(
            "sign part 2 of 1",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &v,
            Some(json!({"parts": [{"part_number": 2, "sha256": sum}]})),
            400,
            "invalid_request",
        ),
        call(
            "sign a part twice",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &v,
            Some(
                json!({"parts": [{"part_number": 1, "sha256": sum}, {"part_number": 1, "sha256": sum}]}),
            ),
            400,
            "invalid_request",
        ),
        call(
            "sign with a bad checksum",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &v,
            Some(json!({"parts": [{"part_number": 1, "sha256": "nope"}]})),
            400,
            "invalid_request",
        ),
        call(
            "sign without parts",
            Method::POST,
            format!("/api/uploads/{a}/parts"),
            &v,
            Some(json!({})),
            400,
            "invalid_request",
        ),
        call(
            "sign a completed upload",
            Method::POST,
            format!("/api/uploads/{d}/parts"),
            &v,
            Some(json!({"parts": [{"part_number": 1, "sha256": sum}]})),
            409,
            "upload_not_active",
        ),
        call(
            "sign a cancelled upload",
            Method::POST,
            format!("/api/uploads/{g}/parts"),
            &v,
            Some(json!({"parts": [{"part_number": 1, "sha256": sum}]})),
            409,
            "upload_not_active",
        ),
        // Completing: wrong lists.
        call(
            "complete with no parts",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &v,
            Some(json!({"parts": []})),
            400,
            "part_mismatch",
        ),
        call(
            "complete with a wrong ETag",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &v,
            Some(json!({"parts": [{"part_number": 1, "etag": "\"0000\""}]})),
            400,
            "part_mismatch",
        ),
        call(
            "complete with part 2 of 1",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &v,
            Some(json!({"parts": [{"part_number": 2, "etag": etag}]})),
            400,
            "part_mismatch",
        ),
        call(
            "complete with a part twice",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &v,
            Some(
                json!({"parts": [{"part_number": 1, "etag": etag}, {"part_number": 1, "etag": etag}]}),
            ),
            400,
            "part_mismatch",
        ),
        call(
            "complete with a malformed body",
            Method::POST,
            format!("/api/uploads/{a}/complete"),
            &v,
            Some(json!({"parts": "all"})),
            400,
            "invalid_request",
        ),
        call(
            "complete a cancelled upload",
            Method::POST,
            format!("/api/uploads/{g}/complete"),
            &v,
            Some(json!({"parts": [{"part_number": 1, "etag": etag}]})),
            409,
            "upload_not_active",
        ),
        // Cancelling what is done, unknown ids.
        call(
            "cancel a completed upload",
            Method::DELETE,
            format!("/api/uploads/{d}"),
            &v,
            None,
            409,
            "upload_not_active",
        ),
        call(
            "cancel an unknown upload",
            Method::DELETE,
            "/api/uploads/0190b1c2-0000-7000-8000-000000000000".into(),
            &v,
            None,
            404,
            "not_found",
        ),
        call(
            "read an unknown file",
            Method::GET,
            "/api/files/nope".into(),
            &v,
            None,
            404,
            "not_found",
        ),
        call(
            "an id of 10,000 characters",
            Method::GET,
            format!("/api/uploads/{}", "x".repeat(10_000)),
            &v,
            None,
            404,
            "not_found",
        ),
        call(
            "an id with a path in it",
            Method::GET,
            "/api/uploads/..%2F..%2Fsecret".into(),
            &v,
            None,
            404,
            "not_found",
        ),
    ];
    assert!(calls.len() >= 27);
    for c in calls {
        let answer = server
            .api(c.method.clone(), &c.path, c.token.as_deref(), c.body)
            .await;
        assert_eq!(
            answer.status.as_u16(),
            c.status,
            "{}: {}",
            c.what,
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.code(), c.code, "{}", c.what);
    }
    assert_eq!(
        snapshot(&server, &[a, d, g]).await,
        before,
        "a refused call changed something"
    );
}
