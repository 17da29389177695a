//! The job queue's table: jobs are added in the transaction that makes them due, claimed
//! with a lease by any instance's worker, and finished, retried or given up.

use super::{to_u64, Db};
use crate::error::ApiError;
use partway::core::wire::{EventKind, FileInfo, RemoteEvent};
use partway::core::FileId;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// The checks after upload: the object verified in storage, its type sniffed.
    ProcessFile,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::ProcessFile => "process_file",
        }
    }
}

/// A claimed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    /// The job's id.
    pub id: String,
    /// What it does.
    pub kind: JobKind,
    /// The file it is about.
    pub file_id: FileId,
    /// The file's owner.
    pub owner: String,
    /// Claims so far, this one included.
    pub attempts: u32,
    /// Until when this claim holds: what finishing, retrying or dropping the job must
    /// still find, or another worker has taken it since.
    pub lease: i64,
}

impl Db {
    /// Queues a job inside `tx`, due at once.
    pub(super) async fn enqueue_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        kind: JobKind,
        file: &FileId,
        owner: &str,
        now: i64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, file_id, owner, attempts, run_at, created_at)
             VALUES ($1, $2, $3, $4, 0, $5, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(kind.as_str())
        .bind(&file.0)
        .bind(owner)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Claims the job due longest, for `lease` seconds: no other worker takes it until
    /// the lease runs out (its worker died) or it is retried. `None` if none is due.
    pub async fn claim_job(&self, now: i64, lease: i64) -> Result<Option<JobRow>, ApiError> {
        // Bounded: a claim lost to another worker is tried again a few times.
        for _ in 0..5 {
            let due = sqlx::query(
                "SELECT id FROM jobs WHERE run_at <= $1
                   AND (locked_until IS NULL OR locked_until < $1)
                 ORDER BY run_at LIMIT 1",
            )
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
            let Some(due) = due else { return Ok(None) };
            let id: String = due.try_get("id")?;
            // Conditional: of the workers that saw the job free, one takes it.
            let claimed = sqlx::query(
                "UPDATE jobs SET locked_until = $2, attempts = attempts + 1
                 WHERE id = $1 AND run_at <= $3 AND (locked_until IS NULL OR locked_until < $3)
                 RETURNING id, kind, file_id, owner, attempts, locked_until",
            )
            .bind(&id)
            .bind(now.saturating_add(lease))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = claimed {
                return job_from_row(&row).map(Some);
            }
        }
        Ok(None)
    }

    /// Ends a job with the file's outcome (and its thumbnail's key, if one was made),
    /// and tells the owner's devices: the file updated, the job deleted and the event
    /// written in one transaction. False, and nothing recorded, if the claim was lost
    /// (its lease ran out and another worker took the job) or the file is gone.
    pub async fn finish_job(
        &self,
        job: &JobRow,
        file: &FileInfo,
        thumbnail_key: Option<&str>,
    ) -> Result<bool, ApiError> {
        let mut tx = self.pool.begin().await?;
        let held = sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_until = $2")
            .bind(&job.id)
            .bind(job.lease)
            .execute(&mut *tx)
            .await?;
        if held.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let updated = sqlx::query(
            "UPDATE files SET processing = $2, detected_type = $3, processing_note = $4,
                 thumbnail_key = $5, sha256 = $6
             WHERE id = $1",
        )
        .bind(&file.id.0)
        .bind(file.processing.as_str())
        .bind(&file.detected_type)
        .bind(&file.processing_note)
        .bind(thumbnail_key)
        .bind(&file.sha256)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            // Deleted while it was checked: the job ends, and no one is told of it.
            tx.commit().await?;
            return Ok(false);
        }
        let event = RemoteEvent {
            id: 0,
            kind: EventKind::FileProcessed,
            file: Some(file.clone()),
            upload: None,
        };
        self.record_event(&mut tx, &job.owner, event, crate::unix_now_i64())
            .await?;
        tx.commit().await?;
        self.wake(Some(&job.owner));
        Ok(true)
    }

    /// Drops a job whose file is gone (deleted while it waited), if the claim holds.
    pub async fn drop_job(&self, job: &JobRow) -> Result<(), ApiError> {
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_until = $2")
            .bind(&job.id)
            .bind(job.lease)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a failed job to run again at `run_at`, noting why it failed.
    pub async fn retry_job(&self, job: &JobRow, run_at: i64, error: &str) -> Result<(), ApiError> {
        sqlx::query(
            "UPDATE jobs SET run_at = $2, locked_until = NULL, last_error = $3
             WHERE id = $1 AND locked_until = $4",
        )
        .bind(&job.id)
        .bind(run_at)
        .bind(error)
        .bind(job.lease)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Jobs waiting or running: the queue's depth, for `/metrics`.
    pub async fn job_count(&self) -> Result<u64, ApiError> {
        let row = sqlx::query("SELECT COUNT(*) FROM jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(row.try_get(0)?))
    }
}

fn job_from_row(r: &AnyRow) -> Result<JobRow, ApiError> {
    let kind: String = r.try_get("kind")?;
    let kind = match kind.as_str() {
        "process_file" => JobKind::ProcessFile,
        other => {
            return Err(ApiError::internal(format_args!(
                "unknown job kind {other:?}"
            )))
        }
    };
    let attempts: i64 = r.try_get("attempts")?;
    Ok(JobRow {
        id: r.try_get("id")?,
        kind,
        file_id: FileId(r.try_get("file_id")?),
        owner: r.try_get("owner")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        lease: r.try_get("locked_until")?,
    })
}
