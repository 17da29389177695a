//! Keys that a signed URL can still write to after their upload ended.
//!
//! An S3 PutObject URL (a small file of one part, see `storage::s3`) works until it
//! expires, even once its upload was cancelled or its file deleted. It can only store
//! the same bytes at the same key again (length and checksum are signed), but nothing
//! would account for them: the key is remembered and deleted again by the sweep once
//! every URL signed for it has expired.

use crate::error::ApiError;
use crate::AppState;

/// Added to the URLs' lifetime, for clocks that differ between instances.
const MARGIN_SECS: i64 = 60;

/// Keys deleted per round of the sweep.
const BATCH: i64 = 100;

/// An upload was cancelled at `now`: no URL is signed for it any more.
pub async fn after_abort(state: &AppState, key: &str, now: i64) -> Result<(), ApiError> {
    linger(state, key, now, now).await
}

/// A file was deleted at `now`; its upload's URLs were all signed before it was created.
pub async fn after_delete(
    state: &AppState,
    key: &str,
    created_at: i64,
    now: i64,
) -> Result<(), ApiError> {
    linger(state, key, created_at, now).await
}

async fn linger(state: &AppState, key: &str, last_signed: i64, now: i64) -> Result<(), ApiError> {
    if !state.storage.urls_outlive_uploads() {
        return Ok(());
    }
    let ttl = i64::try_from(state.config.url_ttl).unwrap_or(i64::MAX);
    let expired = last_signed.saturating_add(ttl).saturating_add(MARGIN_SECS);
    if expired <= now {
        return Ok(());
    }
    state.db.linger_key(key, expired).await
}

/// Deletes the keys whose URLs have all expired by `now`; returns how many.
pub async fn sweep(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let mut deleted = 0;
    // Bounded: at most 100 batches a sweep; the next sweep takes the rest.
    for _ in 0..100 {
        let due = state.db.due_lingering_keys(now, BATCH).await?;
        let before = deleted;
        for key in &due {
            if let Err(e) = state.storage.delete_object(key).await {
                // Kept for the next sweep; the others go on.
                tracing::warn!(key, "could not delete a lingering key: {e}");
                continue;
            }
            state.db.forget_lingering_key(key, now).await?;
            deleted += 1;
        }
        // The last batch, or one storage refused whole: the next sweep tries again.
        if (due.len() as i64) < BATCH || deleted == before {
            break;
        }
    }
    Ok(deleted)
}
