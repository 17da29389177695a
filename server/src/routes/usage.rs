//! `/api/usage`: what the caller stores and is uploading, against their quota.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::Json;
use crate::openapi::Refusals;
use crate::quota::Limits;
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
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
        Refusals,
    )
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Usage>, ApiError> {
    let (held, own) = state.db.usage(&user).await?;
    Ok(Json(Limits::of(&own, &state.config).usage(&held)))
}
