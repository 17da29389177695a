//! Complete as a saga, under races and interruptions, with local storage (Garage's
//! runs are in s3.rs): 50 trials each of complete/complete and complete/abort, a
//! complete cut off mid-way, and a claim whose server died. After each, storage holds
//! exactly the recorded files: nothing orphaned, nothing missing.
//!
//! On SQLite, or on PostgreSQL when tests/run sets `PARTWAY_TEST_POSTGRES_URL`.

mod common;

use axum::http::{Method, StatusCode};
use common::{random_bytes, TestServer, MIB};
use partway::core::wire::{CompleteUploadResponse, CompletedPart, UploadState};
use partway::core::UploadId;
use std::time::Duration;

const TRIALS: usize = 50;

/// A stored, uncompleted upload of `size` bytes in 5 MiB parts; its id and parts.
async fn ready(server: &TestServer, token: &str, size: usize) -> (String, Vec<CompletedPart>) {
    let data = random_bytes(size);
    let created = server.create(token, "race.bin", &data, 5 * MIB).await;
    let parts = server.put_all(&created, &data).await;
    (created.upload_id.0, parts)
}

/// The upload's row, as the database holds it.
async fn row(server: &TestServer, id: &str, user: &str) -> partway_server::db::UploadRow {
    server
        .state
        .db
        .upload(&UploadId(id.into()), user)
        .await
        .expect("db")
        .expect("row")
}

/// Mostly one-part uploads, every fifth a three-part one.
fn trial_size(trial: usize) -> usize {
    if trial % 5 == 0 {
        (10 * MIB + 7) as usize
    } else {
        1000
    }
}

/// Objects in local storage, against file rows: they must be the same set.
async fn audit(server: &TestServer, users: &[&str]) {
    let objects = std::fs::read_dir(server.dir.path().join("storage").join("objects"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0);
    let mut files = 0;
    for user in users {
        files += server.state.db.files(user).await.expect("files").len();
    }
    assert_eq!(objects, files, "objects in storage vs files recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_completes_make_one_file_and_answer_it_twice() {
    let server = TestServer::new().await;
    let token = server.token("racer");
    for trial in 0..TRIALS {
        let size = trial_size(trial);
        let (id, parts) = ready(&server, &token, size).await;
        let (a, b) = tokio::join!(
            server.complete(&token, &id, parts.clone()),
            server.complete(&token, &id, parts.clone())
        );
        for answer in [&a, &b] {
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "trial {trial}: {}",
                String::from_utf8_lossy(&answer.body)
            );
        }
        let (a, b): (CompleteUploadResponse, CompleteUploadResponse) = (a.parse(), b.parse());
        assert_eq!(a.file.id, b.file.id, "trial {trial}: two files");
    }
    assert_eq!(
        server.state.db.files("racer").await.expect("files").len(),
        TRIALS
    );
    audit(&server, &["racer"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_racing_abort_ends_one_way_or_the_other() {
    let server = TestServer::new().await;
    let token = server.token("racer");
    let (mut completed, mut aborted) = (0, 0);
    for trial in 0..TRIALS {
        let size = trial_size(trial);
        let (id, parts) = ready(&server, &token, size).await;
        let path = format!("/api/uploads/{id}");
        let (done, cancel) = tokio::join!(
            server.complete(&token, &id, parts),
            server.api(Method::DELETE, &path, Some(&token), None)
        );
        let state = server.upload_status(&token, &id).await.state;
        match (done.status.as_u16(), cancel.status.as_u16()) {
            (200, 409) => {
                assert_eq!(state, UploadState::Completed, "trial {trial}");
                assert_eq!(cancel.code(), "upload_not_active");
                let file: CompleteUploadResponse = done.parse();
                let download = server.download(&file.download_url).await;
                assert_eq!(
                    download.status,
                    StatusCode::OK,
                    "trial {trial}: the object is gone"
                );
                assert_eq!(download.body.len(), size);
                completed += 1;
            }
            (409, 204) => {
                assert_eq!(state, UploadState::Aborted, "trial {trial}");
                assert_eq!(done.code(), "upload_not_active");
                aborted += 1;
            }
            other => panic!(
                "trial {trial}: complete {} / abort {}: {} {}",
                other.0,
                other.1,
                String::from_utf8_lossy(&done.body),
                String::from_utf8_lossy(&cancel.body)
            ),
        }
    }
    eprintln!("complete/abort: {completed} completed, {aborted} aborted of {TRIALS}");
    assert_eq!(completed + aborted, TRIALS);
    audit(&server, &["racer"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complete_whose_request_is_dropped_still_finishes() {
    let server = TestServer::new().await;
    let token = server.token("quitter");
    let mut cut_after_claim = 0;
    // The request is dropped ever later, until one is dropped after its claim.
    for wait_us in (0..40).map(|i| 50 * (1u64 << (i / 4))) {
        let (id, parts) = ready(&server, &token, (10 * MIB + 7) as usize).await;
        let _ = tokio::time::timeout(
            Duration::from_micros(wait_us),
            server.complete(&token, &id, parts.clone()),
        )
        .await;
        let state = server.upload_status(&token, &id).await.state;
        if state == UploadState::Active {
            // Dropped before the claim: nothing happened, and it can be completed.
            let answer = server.complete(&token, &id, parts).await;
            assert_eq!(answer.status, StatusCode::OK);
            continue;
        }
        cut_after_claim += 1;
        // The saga goes on without its request.
        let mut now = state;
        for _ in 0..100 {
            if now == UploadState::Completed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            now = server.upload_status(&token, &id).await.state;
        }
        assert_eq!(
            now,
            UploadState::Completed,
            "a dropped complete did not finish"
        );
        // And a repeat answers the same file.
        let again = server.complete(&token, &id, parts).await;
        assert_eq!(again.status, StatusCode::OK);
        if cut_after_claim == 3 {
            break;
        }
    }
    assert!(
        cut_after_claim > 0,
        "no request was ever dropped after its claim"
    );
    audit(&server, &["quitter"]).await;
}

#[tokio::test]
async fn a_storage_failure_during_complete_is_retried_by_the_next_complete() {
    let server = TestServer::new().await;
    let token = server.token("alice");
    let (id, parts) = ready(&server, &token, 1000).await;
    // A directory where the object must go: joining the parts fails like a full or
    // broken disk would, after the claim.
    let key = row(&server, &id, "alice").await.storage_key;
    let blocker = server.dir.path().join("storage").join("objects").join(key);
    std::fs::create_dir_all(blocker.join("in-the-way")).expect("mkdir");
    let failed = server.complete(&token, &id, parts.clone()).await;
    assert_eq!(
        failed.status,
        500,
        "{}",
        String::from_utf8_lossy(&failed.body)
    );
    assert_eq!(
        row(&server, &id, "alice").await.state,
        UploadState::Completing
    );
    // Storage is repaired; the client's retry finishes at once, not an hour later.
    std::fs::remove_dir_all(&blocker).expect("rm");
    let done = server.complete(&token, &id, parts).await;
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(
        row(&server, &id, "alice").await.state,
        UploadState::Completed
    );
    audit(&server, &["alice"]).await;
}

#[tokio::test]
async fn a_claim_whose_server_died_is_finished_by_the_sweep() {
    let server = TestServer::new().await;
    let token = server.token("phoenix");
    let (id, parts) = ready(&server, &token, (10 * MIB + 7) as usize).await;
    // A server claimed it and died before storage's step.
    let then = partway_server_now() - 2 * partway_server::complete::STALE_CLAIM_SECS;
    assert!(server
        .state
        .db
        .claim_completion(&id, &parts, None, None, then)
        .await
        .expect("claim"));
    assert_eq!(
        server.upload_status(&token, &id).await.state,
        UploadState::Completing
    );
    // An abort now must not free the parts under the claim.
    let cancel = server
        .api(
            Method::DELETE,
            &format!("/api/uploads/{id}"),
            Some(&token),
            None,
        )
        .await;
    cancel.assert_error(409, "upload_not_active");
    let settled = partway_server::sweep::sweep_once(&server.state, partway_server_now())
        .await
        .expect("sweep");
    assert_eq!(settled, 1);
    let upload = row(&server, &id, "phoenix").await;
    assert_eq!(upload.state, UploadState::Completed);
    let answer = server.complete(&token, &id, parts).await;
    assert_eq!(answer.status, StatusCode::OK);
    let file: CompleteUploadResponse = answer.parse();
    assert_eq!(file.file.size, 10 * MIB + 7);
    audit(&server, &["phoenix"]).await;
}

#[tokio::test]
async fn a_claim_cut_after_storage_joined_the_parts_is_committed_once() {
    let server = TestServer::new().await;
    let token = server.token("phoenix");
    let (id, parts) = ready(&server, &token, (10 * MIB + 7) as usize).await;
    let now = partway_server_now();
    assert!(server
        .state
        .db
        .claim_completion(
            &id,
            &parts,
            None,
            None,
            now - 2 * partway_server::complete::STALE_CLAIM_SECS
        )
        .await
        .expect("claim"));
    // Storage's step ran, then the server died before the commit.
    let upload = row(&server, &id, "phoenix").await;
    server
        .state
        .storage
        .complete(&upload.storage_key, &upload.storage_upload_id, &parts, None)
        .await
        .expect("storage joins");
    // A repeated complete finds the claim stale, sees the object is there, commits.
    let answer = server.complete(&token, &id, parts).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let file: CompleteUploadResponse = answer.parse();
    assert_eq!(file.file.size, 10 * MIB + 7);
    assert_eq!(
        server.state.db.files("phoenix").await.expect("files").len(),
        1
    );
    audit(&server, &["phoenix"]).await;
}

fn partway_server_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[tokio::test]
async fn a_claim_on_an_upload_storage_lost_ends_aborted_not_stuck() {
    let server = TestServer::new().await;
    let token = server.token("unlucky");
    let (id, parts) = ready(&server, &token, (10 * MIB + 7) as usize).await;
    let upload = row(&server, &id, "unlucky").await;
    // Storage lost the upload (an operator, a lifecycle rule) while it was claimed.
    std::fs::remove_dir_all(
        server
            .dir
            .path()
            .join("storage")
            .join("uploads")
            .join(&upload.storage_upload_id),
    )
    .expect("removed");
    let stale = partway_server_now() - 2 * partway_server::complete::STALE_CLAIM_SECS;
    assert!(server
        .state
        .db
        .claim_completion(&id, &parts, None, None, stale)
        .await
        .expect("claim"));
    let answer = server.complete(&token, &id, parts).await;
    answer.assert_error(409, "upload_not_active");
    assert_eq!(
        server.upload_status(&token, &id).await.state,
        UploadState::Aborted
    );
    audit(&server, &["unlucky"]).await;
}
