//! `/api/files`: the caller's stored files, downloaded through signed URLs.

use crate::auth::AuthUser;
use crate::db::FileRow;
use crate::error::ApiError;
use crate::json::Json;
use crate::openapi::Refusals;
use crate::path::Path;
use crate::AppState;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use partway::core::wire::ErrorBody;
use partway::core::wire::{FileDownload, FileList, Processing};
use partway::core::{Checksum, FileId};
use std::time::Duration;

/// The file routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files", get(list))
        .route("/files/{id}", get(show).delete(delete))
}

/// `GET /api/files`: the caller's files, newest first. The answer has an `ETag` (a hash
/// of the list), and a caller that sends it back in `If-None-Match` gets 304 while the
/// list is unchanged: a page polling its list costs no body.
#[utoipa::path(
    get,
    path = "/api/files",
    operation_id = "listFiles",
    tag = "files",
    params(("If-None-Match" = Option<String>, Header, description = "The ETag of a list already held.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's files, newest first, with an `ETag`.", body = FileList),
        (status = 304, description = "Unchanged since the list whose `ETag` was sent."),
        Refusals,
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let files = state
        .db
        .files(&user)
        .await?
        .into_iter()
        .map(|f| f.info)
        .collect();
    let body = serde_json::to_vec(&FileList { files }).map_err(ApiError::internal)?;
    let etag = format!("\"{}\"", Checksum::of(&body).to_hex());
    let etag = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let unchanged = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| {
            given
                .split(',')
                .any(|tag| tag.trim() == "*" || tag.trim().trim_start_matches("W/") == etag)
        });
    let cache = [
        (ETAG, etag),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((
        cache,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response())
}

/// `GET /api/files/{id}`: one file, with a freshly signed download URL.
#[utoipa::path(
    get,
    path = "/api/files/{id}",
    operation_id = "getFile",
    tag = "files",
    params(("id" = String, Path, description = "The file's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file and a signed download URL.", body = FileDownload),
        (status = 404, description = "No such upload or file for this user: `not_found`.", body = ErrorBody),
        (status = 409, description = "The file is quarantined: `quarantined`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<FileDownload>, ApiError> {
    let file = state
        .db
        .file(&FileId(id), &user)
        .await?
        .ok_or_else(no_such_file)?;
    refuse_quarantined(&file)?;
    let ttl = state.config.download_ttl;
    let download_url = state
        .storage
        .sign_download(&file.storage_key, &file.info.name, Duration::from_secs(ttl))
        .await?;
    let thumbnail_url = match &file.thumbnail_key {
        Some(key) => Some(
            state
                .storage
                .sign_download(key, "thumbnail.png", Duration::from_secs(ttl))
                .await?,
        ),
        None => None,
    };
    Ok(Json(FileDownload {
        file: file.info,
        download_url,
        expires_in: ttl,
        thumbnail_url,
    }))
}

/// `DELETE /api/files/{id}`: forgets the file and deletes its object.
#[utoipa::path(
    delete,
    path = "/api/files/{id}",
    operation_id = "deleteFile",
    tag = "files",
    params(("id" = String, Path, description = "The file's id.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted, from the database and from storage."),
        (status = 404, description = "No such upload or file for this user: `not_found`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = FileId(id);
    let file = state.db.file(&id, &user).await?.ok_or_else(no_such_file)?;
    // The row goes first: a file the database forgot is invisible, whereas an object
    // deleted under a live row would be a broken link.
    if state.db.delete_file(&file.info, &user).await? {
        let now = crate::unix_now_i64();
        crate::lingering::after_delete(&state, &file.storage_key, file.info.created_at, now)
            .await?;
        state.storage.delete_object(&file.storage_key).await?;
        if let Some(thumb) = &file.thumbnail_key {
            state.storage.delete_object(thumb).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A quarantined file is kept for an operator, never served.
pub(crate) fn refuse_quarantined(file: &FileRow) -> Result<(), ApiError> {
    if file.info.processing != Processing::Quarantined {
        return Ok(());
    }
    Err(ApiError::Quarantined(format!(
        "This file is quarantined and not served: {}.",
        file.info
            .processing_note
            .as_deref()
            .unwrap_or("its content is not what was declared")
    )))
}

fn no_such_file() -> ApiError {
    ApiError::NotFound("There is no such file.".into())
}
