//! Development-only routes (`--dev`): act as any user, and read the part-PUT counters.
//! Mounted only in dev mode, so without it these paths answer 404.

use crate::auth::is_valid_user_id;
use crate::error::ApiError;
use crate::json::Json;
use crate::stats::PutStatsSnapshot;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use partway::core::wire::ErrorBody;
use partway::core::wire::{DevTokenRequest, TokenResponse};

/// The dev routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/token", post(token))
        .route("/dev/stats", get(stats))
        .route("/dev/stats/reset", post(reset))
}

/// `POST /api/dev/token` `{"user": "alice"}` → `{"token": "..."}`.
#[utoipa::path(
    post,
    path = "/api/dev/token",
    operation_id = "devToken",
    tag = "dev",
    request_body = DevTokenRequest,
    responses(
        (status = 200, description = "A token for the user (dev mode only).", body = TokenResponse),
        (status = 400, description = "A malformed or inconsistent request: `invalid_request`.", body = ErrorBody),
        (status = 429, description = "Too many requests, or uploads in progress: `rate_limited` or `too_many_uploads`; see `Retry-After`.", body = ErrorBody),
        (status = 500, description = "Something broke on the server: `internal`; details are in its log.", body = ErrorBody),
    )
)]
pub(crate) async fn token(
    State(state): State<AppState>,
    Json(req): Json<DevTokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    if !is_valid_user_id(&req.user) {
        return Err(ApiError::invalid(
            "A user id is 1 to 64 letters, digits, dots, dashes or underscores.",
        ));
    }
    // The router is only mounted with --dev, so the dev key is there.
    let token = state
        .keys
        .issue_dev(&req.user)
        .ok_or_else(|| ApiError::NotFound("Dev mode is off.".into()))??;
    Ok(Json(TokenResponse { token }))
}

/// `GET /api/dev/stats`: part PUTs in flight, the most at once, and the total.
async fn stats(State(state): State<AppState>) -> Json<PutStatsSnapshot> {
    Json(state.stats.snapshot())
}

/// `POST /api/dev/stats/reset`: restarts the maximum and the total (204).
async fn reset(State(state): State<AppState>) -> StatusCode {
    state.stats.reset();
    StatusCode::NO_CONTENT
}
