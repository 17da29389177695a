//! The event log: each change to a user's files is written in the transaction that
//! makes it, numbered per user, and woken up to the streams that wait for it — on this
//! instance directly, on the others through PostgreSQL's `NOTIFY` (see
//! [`crate::events`]).

use super::{to_i64, to_u64, Db};
use crate::error::ApiError;
use partway::core::wire::RemoteEvent;
use sqlx::{Any, Row, Transaction};

/// The `NOTIFY` channel: its payload is the user whose stream has news.
pub const CHANNEL: &str = "partway_events";

impl Db {
    /// Writes `event` for `owner` inside `tx`, numbered after the user's last; the caller
    /// wakes the streams with [`Db::wake`] once `tx` commits.
    pub(super) async fn record_event(
        &self,
        tx: &mut Transaction<'static, Any>,
        owner: &str,
        mut event: RemoteEvent,
        now: i64,
    ) -> Result<(), ApiError> {
        // Also the user's lock, held to commit: one user's events are numbered in order.
        let row = sqlx::query(
            "INSERT INTO users (id, last_event) VALUES ($1, 1)
             ON CONFLICT (id) DO UPDATE SET last_event = users.last_event + 1
             RETURNING last_event",
        )
        .bind(owner)
        .fetch_one(&mut **tx)
        .await?;
        event.id = to_u64(row.try_get(0)?);
        let body = serde_json::to_string(&event).map_err(ApiError::internal)?;
        sqlx::query("INSERT INTO events (owner, seq, body, created_at) VALUES ($1, $2, $3, $4)")
            .bind(owner)
            .bind(to_i64(event.id))
            .bind(body)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        if self.postgres {
            // Delivered to every instance's listener when (and only if) `tx` commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(owner)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Tells this instance's streams of `owner` (or of everyone, for `None`) to look
    /// for new events.
    pub fn wake(&self, owner: Option<&str>) {
        // No receiver is not an error: nobody is listening.
        let _ = self.wake.send(owner.map(str::to_string));
    }

    /// Wake-ups: the user whose stream has news, `None` for everyone.
    pub fn wake_ups(&self) -> tokio::sync::broadcast::Receiver<Option<String>> {
        self.wake.subscribe()
    }

    /// Up to `limit` of `owner`'s events after number `after`, in order.
    pub async fn events_after(
        &self,
        owner: &str,
        after: u64,
        limit: i64,
    ) -> Result<Vec<RemoteEvent>, ApiError> {
        let rows = sqlx::query(
            "SELECT body FROM events WHERE owner = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(owner)
        .bind(to_i64(after))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body")?;
                serde_json::from_str(&body).map_err(ApiError::internal)
            })
            .collect()
    }

    /// The number of `owner`'s latest event (0 for none): where a new stream starts.
    pub async fn last_event(&self, owner: &str) -> Result<u64, ApiError> {
        let row = sqlx::query("SELECT last_event FROM users WHERE id = $1")
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => to_u64(r.try_get(0)?),
            None => 0,
        })
    }

    /// Deletes events written before `before` (seconds since the epoch); how many.
    pub async fn prune_events(&self, before: i64) -> Result<u64, ApiError> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// On PostgreSQL, hears the events other instances write and wakes this instance's
    /// streams; runs as long as the process, reconnecting after a failure.
    pub fn spawn_listener(&self, url: &str) {
        if !self.postgres {
            return;
        }
        let (db, url) = (self.clone(), url.to_string());
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => match listener.listen(CHANNEL).await {
                        Ok(()) => db.relay(&mut listener).await,
                        Err(e) => tracing::warn!("listening for events: {e}"),
                    },
                    Err(e) => tracing::warn!("connecting to listen for events: {e}"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }

    /// Wakes streams for every notification, until the listener fails.
    async fn relay(&self, listener: &mut sqlx::postgres::PgListener) {
        // Events written while nobody listened: every stream looks again.
        self.wake(None);
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => self.wake(Some(note.payload())),
                // The connection dropped and is being made again; notifications meanwhile
                // are lost, so everyone looks.
                Ok(None) => self.wake(None),
                Err(e) => {
                    tracing::warn!("receiving events: {e}");
                    return;
                }
            }
        }
    }
}
