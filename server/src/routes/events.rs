//! `/api/events`: the caller's file changes as server-sent events, live, and replayed
//! from the database after a reconnect (`Last-Event-ID`), so a device that was away
//! misses nothing. A browser's `EventSource` cannot send an `Authorization` header, so
//! it opens the stream with a short-lived ticket instead.

use crate::auth::AuthUser;
use crate::db::Db;
use crate::error::ApiError;
use crate::json::Json;
use crate::openapi::Refusals;
use crate::AppState;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::Router;
use futures_util::{Stream, StreamExt};
use partway::core::wire::{ErrorBody, EventTicket, RemoteEvent};
use prometheus::IntGauge;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Seconds a ticket can open a stream: long enough to connect, short enough that one
/// seen in a log is useless.
const TICKET_TTL: u64 = 60;
/// Events read from the database at a time.
const PAGE: i64 = 100;
/// A stream with nothing to send looks in the database this often anyway: a wake-up
/// lost (a listener reconnecting) delays an event by at most this.
const RECHECK: Duration = Duration::from_secs(15);

/// The event routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(stream))
        .route("/events/ticket", post(ticket))
}

/// `POST /api/events/ticket`: a ticket that opens the caller's event stream.
#[utoipa::path(
    post,
    path = "/api/events/ticket",
    operation_id = "eventTicket",
    tag = "events",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A ticket for `GET /api/events?ticket=…`.", body = EventTicket),
        Refusals,
    )
)]
pub(crate) async fn ticket(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<EventTicket>, ApiError> {
    let ticket = state.keys.issue_ticket(&user, TICKET_TTL)?;
    Ok(Json(EventTicket {
        ticket,
        expires_in: TICKET_TTL,
    }))
}

/// Where a stream starts and who opens it, from the query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// A ticket from `POST /api/events/ticket`, for clients that cannot send a header.
    ticket: Option<String>,
    /// Replay the events after this one (as the `Last-Event-ID` header does).
    last_event_id: Option<String>,
}

/// `GET /api/events`: `text/event-stream` of the caller's changes (`file.created`,
/// `file.deleted`, `file.processed`, `upload.created`, `upload.aborted`), each with its
/// number as `id` and a [`RemoteEvent`] as `data`, after a first `ready` event whose
/// `id` is where the stream starts. Without `Last-Event-ID` it starts with the next
/// change; with one, it first replays every change after it (kept 7 days).
#[utoipa::path(
    get,
    path = "/api/events",
    operation_id = "events",
    tag = "events",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The last event seen: replay the ones after it."),
    ),
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "Server-sent events; each `data` is a RemoteEvent.", body = RemoteEvent, content_type = "text/event-stream"),
        (status = 400, description = "A `Last-Event-ID` that is not an event number: `invalid_request`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    StreamUser(user): StreamUser,
    Query(query): Query<StreamQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let asked = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(query.last_event_id.as_deref());
    let last = match asked {
        Some(id) => id.trim().parse::<u64>().map_err(|_| {
            ApiError::invalid("Last-Event-ID must be the number of an event this stream sent.")
        })?,
        None => state.db.last_event(&user).await?,
    };
    let cursor = Cursor {
        wake: state.db.wake_ups(),
        db: state.db.clone(),
        owner: user,
        last,
        queue: VecDeque::new(),
        _open: OpenStream::new(state.metrics.event_streams.clone()),
    };
    let mut closing = state.closing.clone();
    // First, where the stream starts: a client that drops before any change still
    // knows what to replay from when it reconnects.
    let ready = Event::default()
        .id(last.to_string())
        .event("ready")
        .data(format!("{{\"id\":{last}}}"));
    let events = futures_util::stream::once(async move { Ok(ready) });
    let events = events
        .chain(futures_util::stream::unfold(cursor, |mut c| async move {
            let event = c.next().await;
            Some((Ok(event), c))
        }))
        // A server shutting down ends its streams, or they would hold it up; clients
        // reconnect (to another instance) and replay what they missed.
        .take_until(async move {
            let _ = closing.wait_for(|closing| *closing).await;
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(RECHECK)))
}

/// Where one stream stands.
struct Cursor {
    db: Db,
    owner: String,
    /// The number of the last event sent.
    last: u64,
    wake: tokio::sync::broadcast::Receiver<Option<String>>,
    queue: VecDeque<RemoteEvent>,
    _open: OpenStream,
}

impl Cursor {
    /// The next event, waiting for one as long as it takes.
    async fn next(&mut self) -> Event {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.last = event.id;
                return sse(&event);
            }
            match self.db.events_after(&self.owner, self.last, PAGE).await {
                Ok(found) if !found.is_empty() => {
                    self.queue.extend(found);
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("reading events: {e}"),
            }
            self.wait().await;
        }
    }

    /// Until this user may have news, or [`RECHECK`] has passed.
    async fn wait(&mut self) {
        let deadline = tokio::time::sleep(RECHECK);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return,
                woken = self.wake.recv() => match woken {
                    Ok(Some(owner)) if owner != self.owner => continue,
                    // Ours, everyone's, or wake-ups lost to lag: look.
                    Ok(_) | Err(RecvError::Lagged(_)) => return,
                    Err(RecvError::Closed) => {
                        (&mut deadline).await;
                        return;
                    }
                },
            }
        }
    }
}

fn sse(event: &RemoteEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_default();
    Event::default()
        .id(event.id.to_string())
        .event(event.kind.as_str())
        .data(data)
}

/// Counts an open stream in `partway_event_streams` while it lives.
struct OpenStream(IntGauge);

impl OpenStream {
    fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        OpenStream(gauge)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The user a stream is for: from its `ticket`, else from a bearer token.
pub(crate) struct StreamUser(String);

impl FromRequestParts<AppState> for StreamUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let query = Query::<StreamQuery>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::invalid("The query of this call is malformed."))?;
        match &query.ticket {
            Some(ticket) => {
                let user = state.keys.verify_ticket(ticket)?;
                state.limits.check_user(&user)?;
                Ok(StreamUser(user))
            }
            None => Ok(StreamUser(
                AuthUser::from_request_parts(parts, state).await?.0,
            )),
        }
    }
}
