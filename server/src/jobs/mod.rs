//! Post-upload processing: a worker on every instance takes due jobs from the database
//! queue (`crate::db::JobRow`) and runs them. A job that fails is retried with backoff;
//! a worker that dies leaves its lease to run out, and the job is taken again.
//!
//! The one job today, after every complete: verify the object in storage (its size and
//! checksum as recorded), then sniff its real type from its first bytes; a file whose
//! content is not what was declared or allowed is quarantined (kept, not served); an
//! image gets a thumbnail.

pub mod sniff;
pub mod thumbnail;

use crate::db::{JobKind, JobRow};
use crate::error::ApiError;
use crate::AppState;
use partway::core::wire::{FileInfo, Processing};
use std::time::Duration;

/// Claims after which a job that keeps failing is given up (its file marked `failed`).
const MAX_ATTEMPTS: u32 = 8;
/// Jobs run per round, so one round stays bounded.
const ROUND: usize = 100;

/// Runs jobs forever: every due one, then a look again each second.
pub async fn run(state: AppState) {
    loop {
        match run_due(&state, crate::unix_now_i64()).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(1)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("job queue: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if let Ok(depth) = state.db.job_count().await {
            state
                .metrics
                .job_queue
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
    }
}

/// Runs the jobs due at `now`, up to a round's worth; returns how many ran.
pub async fn run_due(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let lease = i64::try_from(state.config.job_lease).unwrap_or(i64::MAX);
    let started = std::time::Instant::now();
    let mut ran = 0;
    while ran < ROUND {
        // The clock moves on while jobs run: each claim's lease counts from its own start.
        let at = now.saturating_add(i64::try_from(started.elapsed().as_secs()).unwrap_or(0));
        let Some(job) = state.db.claim_job(at, lease).await? else {
            break;
        };
        run_job(state, &job, at).await?;
        ran += 1;
    }
    Ok(ran)
}

async fn run_job(state: &AppState, job: &JobRow, now: i64) -> Result<(), ApiError> {
    let Some(file) = state.db.file(&job.file_id, &job.owner).await? else {
        // Deleted while it waited: nothing to check.
        return state.db.drop_job(job).await;
    };
    let outcome = match job.kind {
        JobKind::ProcessFile => process(state, &file.info, &file.storage_key).await,
    };
    let (done, thumbnail_key) = match outcome {
        Ok(done) => done,
        Err(e) if job.attempts >= MAX_ATTEMPTS => {
            state.metrics.jobs.with_label_values(&["failed"]).inc();
            let failed = FileInfo {
                processing: Processing::Failed,
                processing_note: Some(format!("the checks kept failing: {e}")),
                ..file.info
            };
            (failed, None)
        }
        Err(e) => {
            state.metrics.jobs.with_label_values(&["retried"]).inc();
            let backoff = 2i64.saturating_pow(job.attempts.min(10)).min(600);
            tracing::info!(job = %job.id, "job failed, again in {backoff} s: {e}");
            return state
                .db
                .retry_job(job, now.saturating_add(backoff), &e.to_string())
                .await;
        }
    };
    if done.processing != Processing::Failed {
        state
            .metrics
            .jobs
            .with_label_values(&[done.processing.as_str()])
            .inc();
    }
    let recorded = state
        .db
        .finish_job(job, &done, thumbnail_key.as_deref())
        .await?;
    if let (false, Some(thumb)) = (recorded, &thumbnail_key) {
        // A file deleted while it was checked leaves no thumbnail behind. (A claim lost
        // to another worker leaves it: that worker writes the same key.)
        if state.db.file(&job.file_id, &job.owner).await?.is_none() {
            state.storage.delete_object(thumb).await?;
        }
    }
    Ok(())
}

/// The checks of one stored file, and its thumbnail's key if one was made; `Err` for a
/// failure worth retrying (storage down).
async fn process(
    state: &AppState,
    file: &FileInfo,
    key: &str,
) -> Result<(FileInfo, Option<String>), ApiError> {
    let quarantined = |detected: Option<String>, why: String| {
        let file = FileInfo {
            processing: Processing::Quarantined,
            detected_type: detected,
            processing_note: Some(why),
            ..file.clone()
        };
        (file, None)
    };
    let Some(stored) = state.storage.stat_object(key, file.checksum_mode).await? else {
        // Not the file's fault: storage misconfigured, or (local storage) an instance
        // that does not hold the bytes took the job. Tried again; `failed` in the end.
        return Err(ApiError::internal("storage does not hold the file"));
    };
    let checksum_differs = matches!(
        (&file.checksum, &stored.checksum),
        (Some(recorded), Some(now)) if recorded != now
    );
    let sha_differs = matches!(
        (&file.sha256, &stored.sha256),
        (Some(recorded), Some(now)) if recorded != now
    );
    if stored.size != file.size || checksum_differs || sha_differs {
        return Ok(quarantined(
            None,
            "storage holds other bytes than were uploaded".into(),
        ));
    }
    // The client's claim of the whole file's SHA-256: S3 keeps no such checksum of a
    // multipart object, so the stored bytes are read once and hashed here. The read must
    // end well within the job's lease, or another worker would take the job meanwhile and
    // read again: past that it fails (retried, then `failed`; raise --job-lease).
    let mut file = file.clone();
    if let Some(claim) = file.client_sha256.clone() {
        let within = Duration::from_secs(state.config.job_lease.saturating_mul(3) / 4);
        let sha256 = match stored.sha256.or_else(|| file.sha256.clone()) {
            Some(sha256) => sha256,
            None => state
                .storage
                .object_sha256(key, within)
                .await?
                .ok_or_else(|| ApiError::internal("storage does not hold the file"))?,
        };
        if sha256 != claim {
            return Ok(quarantined(
                None,
                format!("the stored bytes' SHA-256 is {sha256}, not the {claim} the client read"),
            ));
        }
        file.sha256 = Some(sha256);
    }
    let file = &file;
    let head = state.storage.read_head(key, sniff::HEAD_LEN).await?;
    let config = &state.config;
    let allowed = |t: &str| crate::policy::check_type(t, config).is_ok();
    let detected = match sniff::judge(&file.content_type, &head, allowed) {
        sniff::Verdict::Fits { detected } => detected,
        sniff::Verdict::Misfit { detected, why } => return Ok(quarantined(detected, why)),
    };
    let (thumbnail_key, note) = match detected.as_deref().and_then(thumbnail::format_of) {
        Some(format) if file.size <= thumbnail::MAX_SOURCE => {
            make_thumbnail(state, key, file.size, format).await?
        }
        _ => (None, None),
    };
    let done = FileInfo {
        processing: Processing::Done,
        detected_type: detected,
        processing_note: note,
        has_thumbnail: thumbnail_key.is_some(),
        ..file.clone()
    };
    Ok((done, thumbnail_key))
}

/// Stores a thumbnail of the image at `key` beside it; its key, or why none was made.
async fn make_thumbnail(
    state: &AppState,
    key: &str,
    size: u64,
    format: image::ImageFormat,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let bytes = state.storage.read_head(key, size).await?;
    // Decoding is CPU work: off the async workers.
    let made = tokio::task::spawn_blocking(move || thumbnail::make(&bytes, format))
        .await
        .map_err(ApiError::internal)?;
    match made {
        Ok(png) => {
            let thumb_key = format!("{key}-thumb");
            state
                .storage
                .put_object(&thumb_key, png, "image/png")
                .await?;
            Ok((Some(thumb_key), None))
        }
        // A broken image is still the file that was uploaded: no thumbnail, and why.
        Err(why) => Ok((None, Some(format!("no thumbnail: {why}")))),
    }
}
