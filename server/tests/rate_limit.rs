//! Rate limits per user and per client address: 429 `rate_limited` with `Retry-After`,
//! one bucket each, and CORS headers on the refusal so that a page can read it.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use common::TestServer;

/// `GET /api/files` as `token` from `address` (the proxy header the server trusts).
async fn files_from(server: &TestServer, token: Option<&str>, address: &str) -> common::Answer {
    let mut req = Request::builder()
        .method(Method::GET)
        .uri("/api/files")
        // What a proxy that appends writes: the client's claim, then the real address.
        .header("x-forwarded-for", format!("10.9.9.9, {address}"))
        .header(header::ORIGIN, "https://site.example");
    if let Some(token) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    server.send(req.body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn a_user_past_their_rate_waits_and_others_go_on() {
    let server = TestServer::with(|c| {
        c.rate_limit_user = 1;
        c.rate_limit_address = 0;
    })
    .await;
    let (alice, bob) = (server.token("alice"), server.token("bob"));
    // A burst of ten seconds' worth passes, from any address.
    for i in 0..10 {
        let answer = files_from(&server, Some(&alice), &format!("192.0.2.{i}")).await;
        assert_eq!(answer.status, 200);
    }
    let refused = files_from(&server, Some(&alice), "192.0.2.99").await;
    refused.assert_error(429, "rate_limited");
    let wait: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    assert!(
        refused
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "a page could not read the refusal"
    );
    assert_eq!(
        files_from(&server, Some(&bob), "192.0.2.1").await.status,
        200
    );
}

#[tokio::test]
async fn an_address_past_its_rate_is_refused_before_the_token_is_checked() {
    let server = TestServer::with(|c| {
        c.rate_limit_user = 0;
        c.rate_limit_address = 1;
        c.client_address_header = Some("x-forwarded-for".into());
    })
    .await;
    // Guessing tokens from one address: refused as unauthorized, then slowed down.
    for _ in 0..10 {
        files_from(&server, Some("forged"), "198.51.100.7")
            .await
            .assert_error(401, "unauthorized");
    }
    files_from(&server, Some("forged"), "198.51.100.7")
        .await
        .assert_error(429, "rate_limited");
    // Another address, and the same user from it, go on.
    let token = server.token("alice");
    assert_eq!(
        files_from(&server, Some(&token), "198.51.100.8")
            .await
            .status,
        200
    );
}
