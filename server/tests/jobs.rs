//! Processing after upload: the job queue verifies each stored object and sniffs its
//! real type; a misfit is quarantined (not served); a job whose worker died is taken
//! again once its lease runs out.

mod common;

use axum::http::{Method, StatusCode};
use common::TestServer;
use partway::core::wire::{CompleteUploadResponse, EventKind, FileInfo, FileList, Processing};
use partway_server::jobs;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0";

/// Uploads `data` declared as `content_type`; the stored file.
async fn upload(
    server: &TestServer,
    token: &str,
    name: &str,
    content_type: &str,
    data: &[u8],
) -> FileInfo {
    let created = server.create_typed(token, name, content_type, data).await;
    let parts = server.put_all(&created, data).await;
    let done: CompleteUploadResponse = server
        .complete(token, &created.upload_id.0, parts)
        .await
        .parse();
    assert_eq!(
        done.file.processing,
        Processing::Pending,
        "checked after, not during"
    );
    done.file
}

/// `method` on `/api/files/{id}`.
async fn on_file(server: &TestServer, method: Method, id: &str, token: &str) -> common::Answer {
    server
        .api(method, &format!("/api/files/{id}"), Some(token), None)
        .await
}

async fn file_now(server: &TestServer, token: &str, id: &str) -> FileInfo {
    let list: FileList = server
        .api(Method::GET, "/api/files", Some(token), None)
        .await
        .parse();
    list.files
        .into_iter()
        .find(|f| f.id.0 == id)
        .expect("the file is listed")
}

#[tokio::test]
async fn a_file_whose_content_is_what_was_declared_is_processed_and_its_devices_told() {
    let server = TestServer::new().await;
    let token = server.token("erin");
    let file = upload(&server, &token, "dot.png", "image/png", PNG).await;
    assert_eq!(
        jobs::run_due(&server.state, partway_server::unix_now_i64())
            .await
            .expect("runs"),
        1
    );
    let now = file_now(&server, &token, &file.id.0).await;
    assert_eq!(now.processing, Processing::Done);
    assert_eq!(now.detected_type.as_deref(), Some("image/png"));
    let events = server
        .state
        .db
        .events_after("erin", 0, 100)
        .await
        .expect("events");
    let processed = events.last().expect("an event");
    assert_eq!(processed.kind, EventKind::FileProcessed);
    assert_eq!(processed.file.as_ref(), Some(&now));
    let shown = on_file(&server, Method::GET, &file.id.0, &token).await;
    assert_eq!(shown.status, StatusCode::OK);
    // Nothing is left to do.
    assert_eq!(
        jobs::run_due(&server.state, partway_server::unix_now_i64())
            .await
            .expect("runs"),
        0
    );
}

#[tokio::test]
async fn a_program_declared_as_an_image_is_quarantined_and_not_served() {
    let server = TestServer::new().await;
    let token = server.token("frank");
    let file = upload(&server, &token, "holiday.png", "image/png", EXE).await;
    jobs::run_due(&server.state, partway_server::unix_now_i64())
        .await
        .expect("runs");
    let now = file_now(&server, &token, &file.id.0).await;
    assert_eq!(now.processing, Processing::Quarantined);
    assert_eq!(
        now.detected_type.as_deref(),
        Some("application/vnd.microsoft.portable-executable")
    );
    assert!(now
        .processing_note
        .as_deref()
        .is_some_and(|n| n.contains("declared as image/png")));
    on_file(&server, Method::GET, &file.id.0, &token)
        .await
        .assert_error(409, "quarantined");
}

#[tokio::test]
async fn bytes_changed_in_storage_since_the_upload_are_quarantined() {
    let server = TestServer::new().await;
    let token = server.token("gina");
    let file = upload(
        &server,
        &token,
        "notes.txt",
        "text/plain",
        b"the original words",
    )
    .await;
    let row = server
        .state
        .db
        .file(&file.id, "gina")
        .await
        .expect("db")
        .expect("row");
    let local = server
        .dir
        .path()
        .join("storage")
        .join("objects")
        .join(&row.storage_key);
    std::fs::write(&local, b"THE ORIGINAL WORDS").expect("the object is on disk");
    jobs::run_due(&server.state, partway_server::unix_now_i64())
        .await
        .expect("runs");
    let now = file_now(&server, &token, &file.id.0).await;
    assert_eq!(now.processing, Processing::Quarantined);
    assert!(now
        .processing_note
        .as_deref()
        .is_some_and(|n| n.contains("other bytes")));
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_again_when_its_lease_runs_out() {
    let server = TestServer::with(|c| c.job_lease = 30).await;
    let token = server.token("hank");
    let file = upload(&server, &token, "dot.png", "image/png", PNG).await;
    let now = partway_server::unix_now_i64();
    // A worker claims the job and dies before finishing it.
    let claimed = server
        .state
        .db
        .claim_job(now, 30)
        .await
        .expect("db")
        .expect("a job");
    assert_eq!(claimed.attempts, 1);
    assert_eq!(
        jobs::run_due(&server.state, now + 10).await.expect("runs"),
        0,
        "leased"
    );
    assert_eq!(
        file_now(&server, &token, &file.id.0).await.processing,
        Processing::Pending
    );
    // After the lease, any worker (here: the server restarted) takes and finishes it.
    assert_eq!(
        jobs::run_due(&server.state, now + 31).await.expect("runs"),
        1
    );
    assert_eq!(
        file_now(&server, &token, &file.id.0).await.processing,
        Processing::Done
    );
}

#[tokio::test]
async fn a_file_deleted_before_its_checks_drops_the_job() {
    let server = TestServer::new().await;
    let token = server.token("ivy");
    let file = upload(&server, &token, "dot.png", "image/png", PNG).await;
    let gone = on_file(&server, Method::DELETE, &file.id.0, &token).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        jobs::run_due(&server.state, partway_server::unix_now_i64())
            .await
            .expect("runs"),
        1
    );
    assert_eq!(server.state.db.job_count().await.expect("db"), 0);
}

#[tokio::test]
async fn an_image_gets_a_thumbnail_and_a_broken_one_a_reason() {
    let server = TestServer::new().await;
    let token = server.token("jo");
    let picture = image::RgbImage::from_fn(600, 300, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encodes");
    let file = upload(&server, &token, "wide.png", "image/png", png.get_ref()).await;
    let broken = upload(&server, &token, "broken.png", "image/png", PNG).await;
    jobs::run_due(&server.state, partway_server::unix_now_i64())
        .await
        .expect("runs");

    let shown: partway::core::wire::FileDownload =
        on_file(&server, Method::GET, &file.id.0, &token)
            .await
            .parse();
    assert!(shown.file.has_thumbnail);
    let thumb = server
        .download(shown.thumbnail_url.as_deref().expect("a thumbnail URL"))
        .await;
    assert_eq!(thumb.status, StatusCode::OK);
    let decoded = image::load_from_memory(&thumb.body).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (256, 128));

    let now = file_now(&server, &token, &broken.id.0).await;
    assert_eq!(
        (now.processing, now.has_thumbnail),
        (Processing::Done, false)
    );
    assert!(now
        .processing_note
        .as_deref()
        .is_some_and(|n| n.starts_with("no thumbnail")));
    // Deleting the file deletes its thumbnail too.
    let gone = on_file(&server, Method::DELETE, &file.id.0, &token).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let after = server
        .download(shown.thumbnail_url.as_deref().expect("url"))
        .await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
}
