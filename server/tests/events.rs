//! `GET /api/events`: tickets, live delivery of a user's changes, replay after
//! `Last-Event-ID`, and the refusals.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{random_bytes, TestServer};
use http_body_util::BodyExt;
use partway::core::wire::{EventKind, EventTicket, RemoteEvent};
use std::time::Duration;
use tower::ServiceExt;

/// An open event stream, read frame by frame.
struct Stream {
    body: Body,
    buffer: String,
}

impl Stream {
    async fn open(
        server: &TestServer,
        query: &str,
        bearer: Option<&str>,
    ) -> Result<Stream, StatusCode> {
        let mut req = Request::builder().uri(format!("/api/events{query}"));
        if let Some(token) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let res = server
            .app()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        if res.status() != StatusCode::OK {
            return Err(res.status());
        }
        assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
        Ok(Stream {
            body: res.into_body(),
            buffer: String::new(),
        })
    }

    /// The next event (keep-alive comments skipped), waiting at most 10 s.
    async fn next(&mut self) -> RemoteEvent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block
                    .lines()
                    .any(|l| l.trim() == "event: ready" || l.trim() == "event:ready")
                {
                    continue;
                }
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if data.is_empty() {
                    continue;
                }
                let event: RemoteEvent =
                    serde_json::from_str(&data.join("\n")).expect("event JSON");
                assert!(
                    block.contains(&format!("id:{}", event.id))
                        || block.contains(&format!("id: {}", event.id)),
                    "{block}"
                );
                assert!(block.contains(event.kind.as_str()), "{block}");
                return event;
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .expect("an event within 10 s")
                .expect("the stream stays open")
                .expect("a frame");
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(&String::from_utf8_lossy(&data));
            }
        }
    }
}

async fn ticket(server: &TestServer, token: &str) -> String {
    let answer = server
        .api(Method::POST, "/api/events/ticket", Some(token), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let ticket: EventTicket = answer.parse();
    assert_eq!(ticket.expires_in, 60);
    ticket.ticket
}

#[tokio::test]
async fn a_stream_opened_with_a_ticket_hears_each_change_as_it_commits() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let ticket = ticket(&server, &token).await;
    let mut stream = Stream::open(&server, &format!("?ticket={ticket}"), None)
        .await
        .expect("opens");
    // Another user's changes are not alice's business.
    server
        .upload(&server.token("bob"), "bob.txt", b"bob", 3)
        .await;
    let data = random_bytes(1000);
    let done: partway::core::wire::CompleteUploadResponse =
        server.upload(&token, "a.txt", &data, 1000).await.parse();
    let created = stream.next().await;
    assert_eq!(created.kind, EventKind::UploadCreated);
    let upload = created.upload.expect("the upload");
    assert_eq!((upload.name.as_str(), upload.size), ("a.txt", 1000));
    let stored = stream.next().await;
    assert_eq!(stored.kind, EventKind::FileCreated);
    assert_eq!(stored.id, created.id + 1, "numbered in order");
    assert_eq!(stored.file.as_ref(), Some(&done.file));
    assert_eq!(
        stored.upload.map(|u| u.id),
        Some(upload.id),
        "the upload that stored it"
    );

    let gone = server
        .api(
            Method::DELETE,
            &format!("/api/files/{}", done.file.id),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let deleted = stream.next().await;
    assert_eq!(deleted.kind, EventKind::FileDeleted);
    assert_eq!(deleted.file.map(|f| f.id), Some(done.file.id));
}

#[tokio::test]
async fn a_reconnect_replays_what_came_after_the_last_event_seen() {
    let server = TestServer::new().await;
    let token = server.token("carol");
    for name in ["one.txt", "two.txt"] {
        server.upload(&token, name, b"hello", 5).await;
    }
    // Events 1-4: two uploads created, two files stored. Seen up to 2: 3 and 4 replay.
    let mut stream = Stream::open(&server, "?last_event_id=2", Some(&token))
        .await
        .expect("opens with a bearer token");
    let third = stream.next().await;
    assert_eq!((third.id, third.kind), (3, EventKind::UploadCreated));
    let fourth = stream.next().await;
    assert_eq!((fourth.id, fourth.kind), (4, EventKind::FileCreated));
    assert_eq!(fourth.file.map(|f| f.name).as_deref(), Some("two.txt"));
    // The header works as the parameter does; without either, only new changes come.
    let req = Request::builder()
        .uri("/api/events")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("last-event-id", "3")
        .body(Body::empty())
        .expect("request");
    let res = server.app().oneshot(req).await.expect("infallible");
    let mut from_header = Stream {
        body: res.into_body(),
        buffer: String::new(),
    };
    assert_eq!(from_header.next().await.id, 4);
    let mut fresh = Stream::open(&server, "", Some(&token))
        .await
        .expect("opens");
    server.upload(&token, "three.txt", b"x", 1).await;
    assert_eq!(fresh.next().await.id, 5);
}

#[tokio::test]
async fn forged_expired_and_misused_credentials_are_refused() {
    let server = TestServer::new().await;
    let token = server.token("dave");
    let open = |query: String, bearer: Option<String>| {
        let server = &server;
        async move { Stream::open(server, &query, bearer.as_deref()).await.err() }
    };
    assert_eq!(
        open(String::new(), None).await,
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        open("?ticket=forged".into(), None).await,
        Some(StatusCode::UNAUTHORIZED)
    );
    // A bearer token is no ticket, and a ticket no bearer token: their keys differ.
    assert_eq!(
        open(format!("?ticket={token}"), None).await,
        Some(StatusCode::UNAUTHORIZED)
    );
    let ticket = ticket(&server, &token).await;
    let as_bearer = server
        .api(Method::GET, "/api/files", Some(&ticket), None)
        .await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    let expired = server.state.keys.issue_ticket("dave", 0).expect("ticket");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        open(format!("?ticket={expired}"), None).await,
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        open("?last_event_id=soon".into(), Some(token.clone())).await,
        Some(StatusCode::BAD_REQUEST)
    );
}
