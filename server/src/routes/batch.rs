//! `/api/uploads/batch`: many small files start, and end, in one call each instead of
//! one call per file. Each item is the single call's work and gets the single call's
//! answer, refusal included, so a batch changes how many requests there are, not what
//! any of them means.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::Json;
use crate::openapi::Refusals;
use crate::routes::uploads::{complete_one, create_batch};
use crate::AppState;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use futures_util::stream::{self, StreamExt};
use partway::core::wire::{
    BatchResponse, BatchResult, CompleteUploadResponse, CompleteUploadsRequest,
    CreateUploadResponse, CreateUploadsRequest, ErrorBody, MAX_BATCH,
};

/// Completes run this many at once: each waits on storage and the database, not on
/// this server's CPU (at 8, a batch of 16 small files took 160 ms; at 32, 112 ms).
const COMPLETES_AT_ONCE: usize = 32;

/// The batch routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/uploads/batch", post(create_many))
        .route("/uploads/batch/complete", post(complete_many))
}

/// `POST /api/uploads/batch`: starts each upload as `POST /api/uploads` would, in order.
#[utoipa::path(
    post,
    path = "/api/uploads/batch",
    operation_id = "createUploads",
    tag = "uploads",
    request_body = CreateUploadsRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per upload, in the order asked: `{\"ok\": …}` with what `createUpload` answers, or the `status`, `error` and `retry_after` it would have refused with.", body = BatchResponse<CreateUploadResponse>),
        (status = 400, description = "No uploads, or more than 100: `invalid_request`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn create_many(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(req): Json<CreateUploadsRequest>,
) -> Result<Json<BatchResponse<CreateUploadResponse>>, ApiError> {
    check_count(req.uploads.len())?;
    let admitted = req
        .uploads
        .into_iter()
        .enumerate()
        .map(|(i, item)| admit(&state, &user, i).map(|()| item))
        .collect();
    let results = create_batch(&state, &user, admitted)
        .await
        .into_iter()
        .map(into_result)
        .collect();
    Ok(Json(BatchResponse { results }))
}

/// `POST /api/uploads/batch/complete`: completes each upload as
/// `POST /api/uploads/{id}/complete` would.
#[utoipa::path(
    post,
    path = "/api/uploads/batch/complete",
    operation_id = "completeUploads",
    tag = "uploads",
    request_body = CompleteUploadsRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per upload, in the order asked: `{\"ok\": …}` with what `completeUpload` answers, or the `status`, `error` and `retry_after` it would have refused with.", body = BatchResponse<CompleteUploadResponse>),
        (status = 400, description = "No uploads, or more than 100: `invalid_request`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn complete_many(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(req): Json<CompleteUploadsRequest>,
) -> Result<Json<BatchResponse<CompleteUploadResponse>>, ApiError> {
    check_count(req.uploads.len())?;
    // Admitted in order, before any runs, so that a rate limit refuses the same items
    // whatever order they finish in.
    let admitted: Vec<_> = req
        .uploads
        .into_iter()
        .enumerate()
        .map(|(i, item)| (admit(&state, &user, i), item))
        .collect();
    let (state, user) = (&state, user.as_str());
    let results = stream::iter(admitted)
        .map(|(admitted, item)| async move {
            let result = match admitted {
                Ok(()) => complete_one(state, user, &item.upload_id.0, item.request).await,
                Err(e) => Err(e),
            };
            into_result(result)
        })
        .buffered(COMPLETES_AT_ONCE)
        .collect()
        .await;
    Ok(Json(BatchResponse { results }))
}

fn check_count(n: usize) -> Result<(), ApiError> {
    if n == 0 || n > MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "A batch carries 1 to {MAX_BATCH} uploads; this one carried {n}."
        )));
    }
    Ok(())
}

/// The rate limit counts every item as a request: the request itself let the first in.
fn admit(state: &AppState, user: &str, index: usize) -> Result<(), ApiError> {
    if index == 0 {
        return Ok(());
    }
    state.limits.check_user(user)
}

fn into_result<T>(result: Result<T, ApiError>) -> BatchResult<T> {
    match result {
        Ok(ok) => BatchResult::Done { ok },
        Err(e) => e.into_batch_result(),
    }
}
