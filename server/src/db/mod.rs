//! The metadata database: every SQL statement of the server lives here.
//!
//! SQLite (the embedded default) or PostgreSQL (for several server instances), chosen
//! by the URL's scheme. Both run the same statements through sqlx's `Any` driver: they
//! avoid engine-specific syntax, use `$n` placeholders (which SQLite also reads), and
//! store every number as BIGINT.

mod events;
mod jobs;
mod lingering;

pub use events::CHANNEL;
pub use jobs::{JobKind, JobRow};

use crate::error::ApiError;
use partway::core::wire::{
    CompletedPart, EventKind, FileInfo, Processing, RemoteEvent, UploadState, UploadSummary,
};
use partway::core::{ChecksumMode, FileId, UploadId};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

/// The database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    /// Where listings are read: a replica, or the primary itself.
    read_pool: AnyPool,
    /// Whether it is PostgreSQL (which announces events to other instances).
    postgres: bool,
    /// Wakes the event streams of this instance: the user with news, `None` for all.
    wake: tokio::sync::broadcast::Sender<Option<String>>,
}

/// One row of `uploads`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadRow {
    /// The upload's id.
    pub id: String,
    /// The user who started it.
    pub owner: String,
    /// The file's name, only for showing.
    pub name: String,
    /// The file's size.
    pub size: u64,
    /// Its MIME type.
    pub content_type: String,
    /// `File.lastModified`, in milliseconds.
    pub last_modified: Option<u64>,
    /// Part size of the plan.
    pub part_size: u64,
    /// Part count of the plan.
    pub part_count: u32,
    /// Where storage keeps the object (server-generated, never the file name).
    pub storage_key: String,
    /// Storage's id for the multipart upload.
    pub storage_upload_id: String,
    /// Where it stands.
    pub state: UploadState,
    /// How storage checks the bytes.
    pub checksum_mode: ChecksumMode,
    /// The parts named at complete.
    pub parts: Vec<CompletedPart>,
    /// The checksum storage must report for the joined object, when the backend can
    /// say in advance (set at the claim).
    pub expected_checksum: Option<String>,
    /// The whole file's SHA-256 (hex) as the client read it, when it sent one at
    /// complete (set at the claim).
    pub client_sha256: Option<String>,
    /// The file it produced, once completed.
    pub file_id: Option<String>,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Last activity (seconds since the epoch); while completing, when it was claimed.
    pub updated_at: i64,
}

/// What a user stores and reserves (uploads in progress count at their declared size).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    /// Bytes of stored files.
    pub used_bytes: u64,
    /// Stored files.
    pub used_files: u64,
    /// Bytes of uploads in progress.
    pub reserved_bytes: u64,
    /// Uploads in progress.
    pub reserved_files: u64,
}

/// A user's own limits, set by an operator; `None` where the server's default applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserLimits {
    /// Most bytes stored and reserved together.
    pub max_bytes: Option<u64>,
    /// Most files stored and in progress together.
    pub max_files: Option<u64>,
}

/// One row of `files`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    /// What the API shows.
    pub info: FileInfo,
    /// Where storage keeps it.
    pub storage_key: String,
    /// Where storage keeps its thumbnail, if it has one.
    pub thumbnail_key: Option<String>,
}

impl Db {
    /// Opens and migrates the database at `url`: `sqlite://PATH` (the file is created
    /// if missing) or `postgres://USER:PASSWORD@HOST/DB`.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers go on while a write commits; the busy timeout
                        // makes concurrent writers wait instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Db {
            read_pool: pool.clone(),
            pool,
            postgres: !sqlite,
            // Only a nudge to look: a stream that lags behind checks the database anyway.
            wake: tokio::sync::broadcast::channel(256).0,
        })
    }

    /// The same database, its listings read from the replica at `url` (never migrated:
    /// a replica follows the primary's schema).
    pub async fn with_read_replica(self, url: &str) -> Result<Db, sqlx::Error> {
        let read_pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Db { read_pool, ..self })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Records a new, active upload.
    pub async fn insert_upload(&self, u: &UploadRow) -> Result<(), ApiError> {
        insert_upload_in(&self.pool, u).await
    }

    /// Records new, active uploads of `owner`, in order, each if `allowed` says the user
    /// may hold it with the ones before it that were allowed, deciding on what the user
    /// stores and reserves at that moment: creates of one user check one transaction at a
    /// time (their `users` row is locked until it commits), so that concurrent creates, on
    /// any number of instances, cannot together pass a limit. Stored files are summed
    /// only where `counts_stored` says a limit needs them. One answer per upload; an
    /// error of the database fails them all (nothing is recorded).
    pub async fn insert_uploads_if(
        &self,
        owner: &str,
        uploads: &[&UploadRow],
        counts_stored: impl FnOnce(&UserLimits) -> bool,
        allowed: impl Fn(&Holding, &UserLimits, &UploadRow) -> Result<(), ApiError>,
    ) -> Result<Vec<Result<(), ApiError>>, ApiError> {
        let mut tx = self.pool.begin().await?;
        // The lock: a write to the user's row, created if missing, held until commit (a
        // row lock on PostgreSQL, the database's write lock on SQLite).
        let row = sqlx::query(
            "INSERT INTO users (id) VALUES ($1)
             ON CONFLICT (id) DO UPDATE SET id = excluded.id
             RETURNING max_bytes, max_files",
        )
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
        let limits = limits_of(&row)?;
        let mut holding = holding_in(&mut *tx, owner, counts_stored(&limits)).await?;
        let mut answers = Vec::with_capacity(uploads.len());
        for u in uploads {
            debug_assert_eq!(u.owner, owner, "one user's uploads");
            let answer = allowed(&holding, &limits, u);
            if answer.is_ok() {
                insert_upload_in(&mut *tx, u).await?;
                let event = upload_event(EventKind::UploadCreated, u);
                self.record_event(&mut tx, owner, event, u.created_at)
                    .await?;
                // What holding_in would now read: the upload is active.
                holding.reserved_bytes += u.size;
                holding.reserved_files += 1;
            }
            answers.push(answer);
        }
        if answers.iter().any(Result::is_ok) {
            tx.commit().await?;
            self.wake(Some(owner));
        } else {
            tx.rollback().await?;
        }
        Ok(answers)
    }

    /// What `owner` stores and reserves now, and their own limits.
    pub async fn usage(&self, owner: &str) -> Result<(Holding, UserLimits), ApiError> {
        Ok((
            holding_in(&self.pool, owner, true).await?,
            self.user_limits(owner).await?,
        ))
    }

    /// What `owner` reserves now, and what they store when `stored` (else 0).
    pub async fn holding(&self, owner: &str, stored: bool) -> Result<Holding, ApiError> {
        holding_in(&self.pool, owner, stored).await
    }

    /// `owner`'s own limits, as an operator set them.
    pub async fn user_limits(&self, owner: &str) -> Result<UserLimits, ApiError> {
        let row = sqlx::query("SELECT max_bytes, max_files FROM users WHERE id = $1")
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map_or(Ok(UserLimits::default()), limits_of)
    }

    /// Sets `owner`'s own limits (`None`: the server's default).
    pub async fn set_limits(&self, owner: &str, limits: &UserLimits) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO users (id, max_bytes, max_files) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET max_bytes = $2, max_files = $3",
        )
        .bind(owner)
        .bind(limits.max_bytes.map(to_i64))
        .bind(limits.max_files.map(to_i64))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The upload `id`, if `owner` started it.
    pub async fn upload(&self, id: &UploadId, owner: &str) -> Result<Option<UploadRow>, ApiError> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = $1 AND owner = $2")
            .bind(&id.0)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| upload_from_row(&r)).transpose()
    }

    /// Marks an active upload aborted, and tells the user's devices; false if it was
    /// not active.
    pub async fn abort_upload(&self, upload: &UploadRow, now: i64) -> Result<bool, ApiError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE uploads SET state = 'aborted', updated_at = $2
             WHERE id = $1 AND state = 'active'",
        )
        .bind(&upload.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.commit_with_event(tx, done.rows_affected() == 1, upload, now)
            .await
    }

    /// Commits `tx`, with an `upload.aborted` event for `upload` if `aborted`.
    async fn commit_with_event(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        aborted: bool,
        upload: &UploadRow,
        now: i64,
    ) -> Result<bool, ApiError> {
        if !aborted {
            tx.rollback().await?;
            return Ok(false);
        }
        let event = upload_event(EventKind::UploadAborted, upload);
        self.record_event(&mut tx, &upload.owner, event, now)
            .await?;
        tx.commit().await?;
        self.wake(Some(&upload.owner));
        Ok(true)
    }

    /// Claims an active upload for completing with `parts`; false (and nothing changed)
    /// if it was not active. The claimant alone runs storage's step.
    pub async fn claim_completion(
        &self,
        id: &str,
        parts: &[CompletedPart],
        expected_checksum: Option<&str>,
        client_sha256: Option<&str>,
        now: i64,
    ) -> Result<bool, ApiError> {
        let parts_json = serde_json::to_string(parts).map_err(ApiError::internal)?;
        let done = sqlx::query(
            "UPDATE uploads SET state = 'completing', parts = $2, updated_at = $3,
                 expected_checksum = $4, client_sha256 = $5
             WHERE id = $1 AND state = 'active'",
        )
        .bind(id)
        .bind(parts_json)
        .bind(now)
        .bind(expected_checksum)
        .bind(client_sha256)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks an active upload aborted if it is still idle since before `before`, and
    /// tells the user's devices; false if it moved meanwhile (a complete claimed it, a
    /// part was signed).
    pub async fn abort_idle_upload(
        &self,
        upload: &UploadRow,
        before: i64,
        now: i64,
    ) -> Result<bool, ApiError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE uploads SET state = 'aborted', updated_at = $3
             WHERE id = $1 AND state = 'active' AND updated_at < $2",
        )
        .bind(&upload.id)
        .bind(before)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.commit_with_event(tx, done.rows_affected() == 1, upload, now)
            .await
    }

    /// Reopens an upload whose abort storage refused, so that it is tried again (the
    /// parts are still there); false if it was not aborted.
    pub async fn reopen_aborted(&self, id: &str, now: i64) -> Result<bool, ApiError> {
        self.move_state(id, "aborted", "active", now).await
    }

    /// Takes over a claim found stale: only the caller that moves its time from
    /// `claimed_at` to `now` runs the saga again.
    pub async fn take_over_claim(
        &self,
        id: &str,
        claimed_at: i64,
        now: i64,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE uploads SET updated_at = $3
             WHERE id = $1 AND state = 'completing' AND updated_at = $2",
        )
        .bind(id)
        .bind(claimed_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a claim stale at once (its storage step failed, not refused): the next
    /// complete, or the sweep, takes it over and runs the step again, instead of
    /// waiting out `STALE_CLAIM_SECS`. False if the claim moved on meanwhile.
    pub async fn expire_claim(&self, id: &str, claimed_at: i64) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE uploads SET updated_at = 0
             WHERE id = $1 AND state = 'completing' AND updated_at = $2",
        )
        .bind(id)
        .bind(claimed_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hands a claimed upload back (storage refused its parts, which are unchanged);
    /// false if it was not completing.
    pub async fn release_claim(&self, id: &str, now: i64) -> Result<bool, ApiError> {
        self.move_state(id, "completing", "active", now).await
    }

    /// Gives a claimed upload up (storage joined a wrong object, now deleted); false if
    /// it was not completing.
    pub async fn abort_claimed(&self, id: &str, now: i64) -> Result<bool, ApiError> {
        self.move_state(id, "completing", "aborted", now).await
    }

    async fn move_state(&self, id: &str, from: &str, to: &str, now: i64) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE uploads SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2",
        )
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a claimed upload completed and records its file, atomically. Returns false
    /// (and changes nothing) if it was no longer completing, so that a saga run twice
    /// records one file.
    pub async fn commit_completion(
        &self,
        upload: &UploadRow,
        file: &FileRow,
    ) -> Result<bool, ApiError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE uploads SET state = 'completed', file_id = $2, updated_at = $3
             WHERE id = $1 AND state = 'completing'",
        )
        .bind(&upload.id)
        .bind(&file.info.id.0)
        .bind(file.info.created_at)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let f = &file.info;
        sqlx::query(
            "INSERT INTO files (id, owner, name, storage_key, size, content_type, sha256,
                upload_id, created_at, checksum, checksum_mode, processing, client_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&f.id.0)
        .bind(&upload.owner)
        .bind(&f.name)
        .bind(&file.storage_key)
        .bind(to_i64(f.size))
        .bind(&f.content_type)
        .bind(&f.sha256)
        .bind(&upload.id)
        .bind(f.created_at)
        .bind(&f.checksum)
        .bind(f.checksum_mode.as_str())
        .bind(f.processing.as_str())
        .bind(&f.client_sha256)
        .execute(&mut *tx)
        .await?;
        if f.processing == Processing::Pending {
            // In the same transaction: a file is never stored without its checks queued.
            self.enqueue_in(
                &mut tx,
                JobKind::ProcessFile,
                &f.id,
                &upload.owner,
                f.created_at,
            )
            .await?;
        }
        let event = RemoteEvent {
            // The upload too: the device that sent it knows the file by its upload.
            upload: upload_event(EventKind::FileCreated, upload).upload,
            ..file_event(EventKind::FileCreated, f.clone())
        };
        self.record_event(&mut tx, &upload.owner, event, f.created_at)
            .await?;
        tx.commit().await?;
        self.wake(Some(&upload.owner));
        Ok(true)
    }

    /// Uploads claimed for completing before `before` whose claimant never finished (a
    /// crash, a timeout), oldest first, at most `limit` of them.
    pub async fn stale_completions(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<UploadRow>, ApiError> {
        let rows = sqlx::query(
            "SELECT * FROM uploads WHERE state = 'completing' AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(upload_from_row).collect()
    }

    /// The upload `id`, whoever started it (for the sweep's saga).
    pub async fn upload_by_id(&self, id: &str) -> Result<Option<UploadRow>, ApiError> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| upload_from_row(&r)).transpose()
    }

    /// Notes activity on an upload (parts were signed).
    pub async fn touch_upload(&self, id: &str, now: i64) -> Result<(), ApiError> {
        sqlx::query("UPDATE uploads SET updated_at = $2 WHERE id = $1 AND state = 'active'")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Active uploads with no activity since `before` (seconds since the epoch), oldest
    /// first, at most `limit` of them.
    pub async fn idle_uploads(&self, before: i64, limit: i64) -> Result<Vec<UploadRow>, ApiError> {
        let rows = sqlx::query(
            "SELECT * FROM uploads WHERE state = 'active' AND updated_at < $1 ORDER BY updated_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(upload_from_row).collect()
    }

    /// The file `id`, if `owner` has it.
    pub async fn file(&self, id: &FileId, owner: &str) -> Result<Option<FileRow>, ApiError> {
        let row = sqlx::query("SELECT * FROM files WHERE id = $1 AND owner = $2")
            .bind(&id.0)
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| file_from_row(&r)).transpose()
    }

    /// The files of `owner`, newest first (ids are time-ordered, which breaks ties
    /// within one second).
    pub async fn files(&self, owner: &str) -> Result<Vec<FileRow>, ApiError> {
        let rows =
            sqlx::query("SELECT * FROM files WHERE owner = $1 ORDER BY created_at DESC, id DESC")
                .bind(owner)
                .fetch_all(&self.read_pool)
                .await?;
        rows.iter().map(file_from_row).collect()
    }

    /// Deletes `owner`'s file, and tells their devices; false if it was gone already.
    pub async fn delete_file(&self, file: &FileInfo, owner: &str) -> Result<bool, ApiError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM files WHERE id = $1 AND owner = $2")
            .bind(&file.id.0)
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let event = file_event(EventKind::FileDeleted, file.clone());
        self.record_event(&mut tx, owner, event, crate::unix_now_i64())
            .await?;
        tx.commit().await?;
        self.wake(Some(owner));
        Ok(true)
    }
}

async fn insert_upload_in<'e, E>(executor: E, u: &UploadRow) -> Result<(), ApiError>
where
    E: Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO uploads (id, owner, name, size, content_type, last_modified, part_size,
            part_count, storage_key, storage_upload_id, state, parts, file_id, created_at,
            updated_at, checksum_mode)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, $12, $12, $13)",
    )
    .bind(&u.id)
    .bind(&u.owner)
    .bind(&u.name)
    .bind(to_i64(u.size))
    .bind(&u.content_type)
    .bind(u.last_modified.map(to_i64))
    .bind(to_i64(u.part_size))
    .bind(i64::from(u.part_count))
    .bind(&u.storage_key)
    .bind(&u.storage_upload_id)
    .bind(state_name(u.state))
    .bind(u.created_at)
    .bind(u.checksum_mode.as_str())
    .execute(executor)
    .await?;
    Ok(())
}

async fn holding_in<'e, E>(executor: E, owner: &str, stored: bool) -> Result<Holding, ApiError>
where
    E: Executor<'e, Database = sqlx::Any>,
{
    // CAST: PostgreSQL sums BIGINTs into NUMERIC. The stored sums read only what an index
    // covers, but they grow with the user's files: skipped where no limit needs them.
    const WITH_STORED: &str = "SELECT
            (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE owner = $1),
            (SELECT COUNT(*) FROM files WHERE owner = $1),
            (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads
                WHERE owner = $1 AND state IN ('active', 'completing')),
            (SELECT COUNT(*) FROM uploads
                WHERE owner = $1 AND state IN ('active', 'completing'))";
    const IN_PROGRESS: &str = "SELECT CAST(0 AS BIGINT), CAST(0 AS BIGINT),
            (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM uploads
                WHERE owner = $1 AND state IN ('active', 'completing')),
            (SELECT COUNT(*) FROM uploads
                WHERE owner = $1 AND state IN ('active', 'completing'))";
    let sql = if stored { WITH_STORED } else { IN_PROGRESS };
    let row = sqlx::query(sql).bind(owner).fetch_one(executor).await?;
    Ok(Holding {
        used_bytes: to_u64(row.try_get(0)?),
        used_files: to_u64(row.try_get(1)?),
        reserved_bytes: to_u64(row.try_get(2)?),
        reserved_files: to_u64(row.try_get(3)?),
    })
}

fn limits_of(row: &AnyRow) -> Result<UserLimits, ApiError> {
    let max_bytes: Option<i64> = row.try_get("max_bytes")?;
    let max_files: Option<i64> = row.try_get("max_files")?;
    Ok(UserLimits {
        max_bytes: max_bytes.map(to_u64),
        max_files: max_files.map(to_u64),
    })
}

fn upload_from_row(r: &AnyRow) -> Result<UploadRow, ApiError> {
    let state: String = r.try_get("state")?;
    let parts: Option<String> = r.try_get("parts")?;
    let parts = match parts {
        Some(json) => serde_json::from_str(&json).map_err(ApiError::internal)?,
        None => Vec::new(),
    };
    let last_modified: Option<i64> = r.try_get("last_modified")?;
    let part_count: i64 = r.try_get("part_count")?;
    Ok(UploadRow {
        id: r.try_get("id")?,
        owner: r.try_get("owner")?,
        name: r.try_get("name")?,
        size: to_u64(r.try_get("size")?),
        content_type: r.try_get("content_type")?,
        last_modified: last_modified.map(to_u64),
        part_size: to_u64(r.try_get("part_size")?),
        part_count: u32::try_from(part_count).map_err(ApiError::internal)?,
        storage_key: r.try_get("storage_key")?,
        storage_upload_id: r.try_get("storage_upload_id")?,
        state: parse_state(&state)?,
        checksum_mode: parse_mode(&r.try_get::<String, _>("checksum_mode")?)?,
        parts,
        expected_checksum: r.try_get("expected_checksum")?,
        client_sha256: r.try_get("client_sha256")?,
        file_id: r.try_get("file_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn file_from_row(r: &AnyRow) -> Result<FileRow, ApiError> {
    let thumbnail_key: Option<String> = r.try_get("thumbnail_key")?;
    Ok(FileRow {
        info: FileInfo {
            id: FileId(r.try_get("id")?),
            name: r.try_get("name")?,
            size: to_u64(r.try_get("size")?),
            content_type: r.try_get("content_type")?,
            sha256: r.try_get("sha256")?,
            client_sha256: r.try_get("client_sha256")?,
            checksum: r.try_get("checksum")?,
            checksum_mode: parse_mode(&r.try_get::<String, _>("checksum_mode")?)?,
            processing: parse_processing(&r.try_get::<String, _>("processing")?),
            detected_type: r.try_get("detected_type")?,
            processing_note: r.try_get("processing_note")?,
            has_thumbnail: thumbnail_key.is_some(),
            created_at: r.try_get("created_at")?,
        },
        storage_key: r.try_get("storage_key")?,
        thumbnail_key,
    })
}

/// An event about an upload (numbered when written).
fn upload_event(kind: EventKind, u: &UploadRow) -> RemoteEvent {
    RemoteEvent {
        id: 0,
        kind,
        file: None,
        upload: Some(UploadSummary {
            id: UploadId(u.id.clone()),
            name: u.name.clone(),
            size: u.size,
        }),
    }
}

/// An event about a file (numbered when written).
fn file_event(kind: EventKind, file: FileInfo) -> RemoteEvent {
    RemoteEvent {
        id: 0,
        kind,
        file: Some(file),
        upload: None,
    }
}

fn parse_processing(s: &str) -> Processing {
    [
        Processing::Pending,
        Processing::Done,
        Processing::Quarantined,
        Processing::Failed,
    ]
    .into_iter()
    .find(|p| p.as_str() == s)
    .unwrap_or(Processing::Unknown)
}

fn parse_mode(s: &str) -> Result<ChecksumMode, ApiError> {
    ChecksumMode::parse(s)
        .ok_or_else(|| ApiError::internal(format_args!("unknown checksum mode {s:?}")))
}

fn state_name(state: UploadState) -> &'static str {
    match state {
        UploadState::Active => "active",
        UploadState::Completing => "completing",
        UploadState::Completed => "completed",
        UploadState::Aborted => "aborted",
    }
}

fn parse_state(s: &str) -> Result<UploadState, ApiError> {
    match s {
        "active" => Ok(UploadState::Active),
        "completing" => Ok(UploadState::Completing),
        "completed" => Ok(UploadState::Completed),
        "aborted" => Ok(UploadState::Aborted),
        other => Err(ApiError::internal(format_args!(
            "unknown upload state {other:?}"
        ))),
    }
}

/// Sizes are at most 5 TiB, far inside `i64`; SQL integers are signed.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
