//! `/api/usage`: what the caller stores and is uploading, against their quota.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::Json;
use crate::quota::Limits;
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use partway::core::wire::ErrorBody;
use partway::core::wire::Usage;

/// The usage route, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new().route("/usage", get(usage))
}

/// `GET /api/usage`.
#[utoipa::path(
    get,
    path = "/api/usage",
    operation_id = "getUsage",
    tag = "files",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What the caller stores and is uploading, against their quota.", body = Usage),
        (status = 401, description = "A missing, forged or expired token: `unauthorized`.", body = ErrorBody),
        (status = 429, description = "Too many requests, or uploads in progress: `rate_limited` or `too_many_uploads`; see `Retry-After`.", body = ErrorBody),
        (status = 500, description = "Something broke on the server: `internal`; details are in its log.", body = ErrorBody),
        (status = 503, description = "Busy (an upload being completed, a token provider unreachable): ask again after `Retry-After`.", body = ErrorBody),
    )
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Usage>, ApiError> {
    let (held, own) = state.db.usage(&user).await?;
    Ok(Json(Limits::of(&own, &state.config).usage(&held)))
}
