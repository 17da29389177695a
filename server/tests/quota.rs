//! Quotas: what a user stores and is uploading, reserved at create, settled at complete,
//! freed by abort and the sweep, and never over-committed by creates that race.

mod common;

use axum::http::Method;
use common::{random_bytes, TestServer, MIB};
use partway::core::wire::Usage;
use partway_server::db::UserLimits;
use serde_json::json;

/// `DELETE path` as `token`, asserting the 204.
async fn delete(server: &TestServer, token: &str, path: &str) {
    let answer = server.api(Method::DELETE, path, Some(token), None).await;
    assert_eq!(
        answer.status,
        204,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

async fn usage(server: &TestServer, token: &str) -> Usage {
    let answer = server
        .api(Method::GET, "/api/usage", Some(token), None)
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.parse()
}

fn create_body(name: &str, size: u64) -> serde_json::Value {
    json!({"name": name, "size": size, "part_size": 5 * MIB, "content_type": ""})
}

/// `POST /api/uploads` of a file of `size` bytes, with no part signed yet.
async fn start(server: &TestServer, token: &str, name: &str, size: u64) -> common::Answer {
    server
        .api(
            Method::POST,
            "/api/uploads",
            Some(token),
            Some(create_body(name, size)),
        )
        .await
}

#[tokio::test]
async fn bytes_are_reserved_at_create_settled_at_complete_and_freed_by_abort() {
    let server = TestServer::with(|c| c.quota_bytes = 3000).await;
    let token = server.token("alice");
    let empty = usage(&server, &token).await;
    assert_eq!(
        (empty.used_bytes, empty.reserved_bytes, empty.max_bytes),
        (0, 0, Some(3000))
    );

    // 1000 bytes stored, 1500 reserved: 500 left.
    let stored = random_bytes(1000);
    server.upload(&token, "a.bin", &stored, 1000).await;
    let pending = start(&server, &token, "b.bin", 1500).await;
    assert_eq!(pending.status, 201);
    let now = usage(&server, &token).await;
    assert_eq!(
        (
            now.used_bytes,
            now.used_files,
            now.reserved_bytes,
            now.reserved_files
        ),
        (1000, 1, 1500, 1)
    );
    let refused = start(&server, &token, "c.bin", 501).await;
    refused.assert_error(403, "quota_exceeded");
    let message = refused.json()["error"]["message"].to_string();
    assert!(
        message.contains("only 500 B of your 2.9 KiB quota is left"),
        "{message}"
    );
    assert!(message.contains("in progress hold 1.5 KiB"), "{message}");
    // Someone else has a quota of their own.
    let bob = server.token("bob");
    let theirs = start(&server, &bob, "c.bin", 2000).await;
    assert_eq!(theirs.status, 201);

    // Cancelling the pending upload frees its reservation.
    let id = pending.json()["upload_id"]
        .as_str()
        .expect("id")
        .to_string();
    delete(&server, &token, &format!("/api/uploads/{id}")).await;
    assert_eq!(usage(&server, &token).await.reserved_bytes, 0);
    let fits = start(&server, &token, "c.bin", 2000).await;
    assert_eq!(fits.status, 201);

    // Deleting a file frees its bytes.
    let file_id = server.state.db.files("alice").await.expect("files")[0]
        .info
        .id
        .0
        .clone();
    delete(&server, &token, &format!("/api/files/{file_id}")).await;
    let after = usage(&server, &token).await;
    assert_eq!((after.used_bytes, after.used_files), (0, 0));
}

#[tokio::test]
async fn the_sweep_frees_what_abandoned_uploads_reserved() {
    let server = TestServer::with(|c| c.quota_bytes = 10 * MIB).await;
    let token = server.token("alice");
    let answer = start(&server, &token, "a.bin", 6 * MIB).await;
    assert_eq!(answer.status, 201);
    let again = start(&server, &token, "b.bin", 6 * MIB).await;
    again.assert_error(403, "quota_exceeded");
    let later = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs(),
    )
    .expect("fits")
        + 30 * 86_400;
    let swept = partway_server::sweep::sweep_once(&server.state, later)
        .await
        .expect("sweeps");
    assert_eq!(swept, 1);
    assert_eq!(usage(&server, &token).await.reserved_bytes, 0);
    let now = start(&server, &token, "b.bin", 6 * MIB).await;
    assert_eq!(now.status, 201);
}

#[tokio::test]
async fn a_users_own_limits_replace_the_servers_and_count_files_too() {
    let server = TestServer::with(|c| c.quota_bytes = 100).await;
    let limits = UserLimits {
        max_bytes: Some(10 * MIB),
        max_files: Some(2),
    };
    server
        .state
        .db
        .set_limits("carol", &limits)
        .await
        .expect("set");
    let token = server.token("carol");
    let seen = usage(&server, &token).await;
    assert_eq!((seen.max_bytes, seen.max_files), (Some(10 * MIB), Some(2)));
    for name in ["a.bin", "b.bin"] {
        let answer = start(&server, &token, name, 1000).await;
        assert_eq!(answer.status, 201);
    }
    let third = start(&server, &token, "c.bin", 1).await;
    third.assert_error(403, "quota_exceeded");
    assert!(third.json()["error"]["message"]
        .to_string()
        .contains("allows 2 files"));
    // Others still get the server's 100 bytes.
    let dave = server.token("dave");
    let big = start(&server, &dave, "a.bin", 101).await;
    big.assert_error(403, "quota_exceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_never_take_more_than_the_quota() {
    // Room for exactly 5 files of 1 MiB; 20 creates at once, in 5 rounds.
    let server = TestServer::with(|c| c.quota_bytes = 5 * MIB).await;
    for round in 0..5 {
        let user = format!("racer-{round}");
        let token = server.token(&user);
        let answers = futures_util::future::join_all((0..20).map(|i| {
            let (server, token) = (&server, token.clone());
            async move { start(server, &token, &format!("{i}.bin"), MIB).await }
        }))
        .await;
        let created = answers.iter().filter(|a| a.status == 201).count();
        for refused in answers.iter().filter(|a| a.status != 201) {
            refused.assert_error(403, "quota_exceeded");
        }
        assert_eq!(
            created, 5,
            "round {round}: {created} creates passed a quota of 5"
        );
        let held = usage(&server, &token).await;
        assert_eq!(held.reserved_bytes, 5 * MIB);
    }
}

#[tokio::test]
async fn an_operator_sets_and_reads_a_users_limits_from_the_command_line() {
    use partway_server::config::{Command, QuotaAction};
    let server = TestServer::new().await;
    let config = &server.state.config;
    let set = Command::Quota {
        action: QuotaAction::Set {
            user: "erin".into(),
            bytes: Some(4096),
            files: None,
        },
    };
    let shown = partway_server::run_command(config, &set)
        .await
        .expect("set");
    let shown: Usage = serde_json::from_str(&shown).expect("json");
    assert_eq!((shown.max_bytes, shown.max_files), (Some(4096), None));
    let token = server.token("erin");
    assert_eq!(usage(&server, &token).await.max_bytes, Some(4096));
    let show = Command::Quota {
        action: QuotaAction::Show {
            user: "erin".into(),
        },
    };
    assert!(partway_server::run_command(config, &show)
        .await
        .expect("show")
        .contains("4096"));
}
