//! The `lingering_keys` table: storage keys to delete again once every URL signed for
//! them has expired (see [`crate::lingering`]).

use super::Db;
use crate::error::ApiError;
use sqlx::Row;

impl Db {
    /// Remembers `key` for deleting at `delete_at`; a later time replaces an earlier one.
    pub async fn linger_key(&self, key: &str, delete_at: i64) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO lingering_keys (storage_key, delete_at) VALUES ($1, $2)
             ON CONFLICT (storage_key) DO UPDATE SET delete_at = excluded.delete_at
             WHERE lingering_keys.delete_at < excluded.delete_at",
        )
        .bind(key)
        .bind(delete_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` keys due for deleting at `now`, the longest due first.
    pub async fn due_lingering_keys(&self, now: i64, limit: i64) -> Result<Vec<String>, ApiError> {
        let rows = sqlx::query(
            "SELECT storage_key FROM lingering_keys WHERE delete_at <= $1
             ORDER BY delete_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(ApiError::from))
            .collect()
    }

    /// Forgets `key` once it was deleted, unless it was remembered again meanwhile for a
    /// time after `now`.
    pub async fn forget_lingering_key(&self, key: &str, now: i64) -> Result<(), ApiError> {
        sqlx::query("DELETE FROM lingering_keys WHERE storage_key = $1 AND delete_at <= $2")
            .bind(key)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
