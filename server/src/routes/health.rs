//! `GET /healthz`: 200 once the database answers, so scripts know when to start.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use partway::core::wire::ErrorBody;

/// The health route.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(health))
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "The server can serve: `ok`.", body = String, content_type = "text/plain"),
        (status = 500, description = "Something broke on the server: `internal`; details are in its log.", body = ErrorBody),
    )
)]
pub(crate) async fn health(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.db.ping().await?;
    Ok("ok\n")
}
