//! `/metrics` in Prometheus' text format, and a request id on every answer.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::{random_bytes, TestServer, MIB};
use serde_json::json;

#[tokio::test]
async fn an_upload_and_a_refusal_show_in_the_metrics() {
    let server = TestServer::with(|c| c.quota_bytes = 100 * MIB).await;
    let token = server.token("alice");
    let data = random_bytes((10 * MIB + 7) as usize);
    server.upload(&token, "a.bin", &data, 5 * MIB).await;
    let body =
        json!({"name": "big.bin", "size": 200 * MIB, "part_size": 5 * MIB, "content_type": ""});
    server
        .api(Method::POST, "/api/uploads", Some(&token), Some(body))
        .await
        .assert_error(403, "quota_exceeded");

    let answer = server
        .send(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body).expect("utf-8");
    for line in [
        r#"partway_http_requests_total{method="POST",route="/api/uploads",status="201"} 1"#,
        r#"partway_http_requests_total{method="POST",route="/api/uploads",status="403"} 1"#,
        r#"partway_http_requests_total{method="PUT",route="/storage/parts/{upload_id}/{part}",status="200"} 3"#,
        r#"partway_api_errors_total{code="quota_exceeded"} 1"#,
        "partway_parts_signed_total 3",
        "partway_files_completed_total 1",
        "partway_bytes_completed_total 10485767",
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    assert!(text.contains("partway_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_the_callers() {
    let server = TestServer::new().await;
    let fresh = server
        .send(
            Request::get("/api/files")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let id = fresh.headers["x-request-id"].to_str().expect("ascii");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given = server
        .send(
            Request::get("/healthz")
                .header("x-request-id", "trace-me-42")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(given.headers["x-request-id"], "trace-me-42");
    // Random paths share one label.
    let lost = server
        .send(
            Request::get("/no/such/thing")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(lost.status, 404);
}
