//! The table of lingering keys (keys a PutObject URL may still write to after their
//! upload ended), on SQLite, or on PostgreSQL when tests/run sets
//! `PARTWAY_TEST_POSTGRES_URL`. The sweep deleting them from Garage is in s3.rs.

mod common;

use common::TestServer;

#[tokio::test]
async fn a_lingering_key_is_due_at_its_latest_time_and_forgotten_once_deleted() {
    let server = TestServer::new().await;
    let db = &server.state.db;
    db.linger_key("a", 100).await.expect("linger");
    db.linger_key("b", 50).await.expect("linger");
    // A URL signed later moves the time on; an earlier one never brings it back.
    db.linger_key("a", 200).await.expect("linger");
    db.linger_key("a", 150).await.expect("linger");
    assert_eq!(db.due_lingering_keys(199, 10).await.expect("due"), ["b"]);
    assert_eq!(
        db.due_lingering_keys(200, 10).await.expect("due"),
        ["b", "a"]
    );
    assert_eq!(db.due_lingering_keys(200, 1).await.expect("due"), ["b"]);
    // Remembered again for later while it was being deleted: kept.
    db.linger_key("b", 300).await.expect("linger");
    db.forget_lingering_key("b", 200).await.expect("forget");
    db.forget_lingering_key("a", 200).await.expect("forget");
    assert!(db
        .due_lingering_keys(299, 10)
        .await
        .expect("due")
        .is_empty());
    assert_eq!(db.due_lingering_keys(300, 10).await.expect("due"), ["b"]);
}
