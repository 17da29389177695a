//! The sweep of abandoned uploads: an upload idle longer than `--abandon-after` is
//! aborted in storage (which frees its parts) and marked aborted, so parts never leak.
//! An upload whose complete was claimed but never committed (its server died between
//! storage's step and the commit) is completed, or handed back, by running the saga of
//! `crate::complete` again.
//!
//! Several server instances may sweep at once: aborting is idempotent in storage and
//! conditional in the database, so they cannot get in each other's way.

use crate::error::ApiError;
use crate::AppState;
use std::time::Duration;

/// Uploads handled per round, so one sweep stays short even after a long outage.
const BATCH: i64 = 100;

/// How long events are kept for replay: a device away longer reloads its list instead.
pub const EVENT_RETENTION_SECS: i64 = 7 * 24 * 3600;

/// Finishes stale completes, deletes the lingering keys whose URLs expired, then aborts
/// every upload idle since before `now - abandon_after`; returns how many uploads it
/// settled.
pub async fn sweep_once(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let mut swept = finish_stale_completes(state, now).await?;
    crate::lingering::sweep(state, now).await?;
    state
        .db
        .prune_events(now.saturating_sub(EVENT_RETENTION_SECS))
        .await?;
    let before = now.saturating_sub(i64::try_from(state.config.abandon_after).unwrap_or(i64::MAX));
    // Bounded: at most 100 batches a sweep; the next sweep takes the rest.
    for _ in 0..100 {
        let idle = state.db.idle_uploads(before, BATCH).await?;
        if idle.is_empty() {
            break;
        }
        let mut stuck = 0;
        for upload in &idle {
            // The row first, conditionally: an upload claimed or signed since the
            // listing is left alone, and storage is only touched for one that is ours.
            if !state.db.abort_idle_upload(upload, before, now).await? {
                continue;
            }
            let aborted = state
                .storage
                .abort(&upload.storage_key, &upload.storage_upload_id)
                .await;
            if let Err(e) = aborted {
                // One upload storage refuses to abort must not stop the sweep for all
                // the others: reopen it (its parts are still there), marked touched so
                // the next rounds move past it, and try it again in a later sweep.
                tracing::warn!(upload = %upload.id, "could not abort an abandoned upload: {e}");
                state.db.reopen_aborted(&upload.id, now).await?;
                stuck += 1;
                continue;
            }
            crate::lingering::after_abort(state, &upload.storage_key, now).await?;
            swept += 1;
        }
        if stuck == idle.len() {
            break;
        }
    }
    Ok(swept)
}

/// Runs the complete saga again for uploads claimed longer than
/// [`STALE_CLAIM_SECS`](crate::complete::STALE_CLAIM_SECS) ago; returns how many it
/// completed.
async fn finish_stale_completes(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let stale = state
        .db
        .stale_completions(now - crate::complete::STALE_CLAIM_SECS, BATCH)
        .await?;
    let mut done = 0;
    for upload in stale {
        let id = upload.id.clone();
        // Another instance may be taking it over too: one wins.
        if !state
            .db
            .take_over_claim(&id, upload.updated_at, now)
            .await?
        {
            continue;
        }
        // The claim is now this sweep's, as of `now`: a failure must expire that one.
        let taken = crate::db::UploadRow {
            updated_at: now,
            ..upload
        };
        match crate::complete::finish(state.clone(), taken).await {
            Ok(_) => done += 1,
            // Still claimed (storage unreachable) or handed back: a later round retries.
            Err(e) => tracing::warn!(upload = %id, "could not finish a stale complete: {e}"),
        }
    }
    Ok(done)
}

/// Sweeps every `--sweep-interval` seconds until the process ends.
pub async fn run(state: AppState) {
    let every = Duration::from_secs(state.config.sweep_interval.max(1));
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        match sweep_once(&state, crate::unix_now_i64()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("swept {n} abandoned uploads"),
            Err(e) => tracing::warn!("sweep of abandoned uploads failed: {e}"),
        }
    }
}
