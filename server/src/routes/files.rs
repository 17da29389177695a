//! `/api/files`: the caller's stored files, downloaded through signed URLs.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use partway::core::wire::{FileDownload, FileList};
use partway::core::FileId;
use std::time::Duration;

/// The file routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files", get(list))
        .route("/files/{id}", get(show).delete(delete))
}

/// `GET /api/files`: the caller's files, newest first.
async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<FileList>, ApiError> {
    let files = state
        .db
        .files(&user)
        .await?
        .into_iter()
        .map(|f| f.info)
        .collect();
    Ok(Json(FileList { files }))
}

/// `GET /api/files/{id}`: one file, with a freshly signed download URL.
async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<FileDownload>, ApiError> {
    let file = state
        .db
        .file(&FileId(id), &user)
        .await?
        .ok_or_else(no_such_file)?;
    let ttl = state.config.download_ttl;
    let download_url = state
        .storage
        .sign_download(&file.storage_key, &file.info.name, Duration::from_secs(ttl))
        .await?;
    Ok(Json(FileDownload {
        file: file.info,
        download_url,
        expires_in: ttl,
    }))
}

/// `DELETE /api/files/{id}`: forgets the file and deletes its object.
async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = FileId(id);
    let file = state.db.file(&id, &user).await?.ok_or_else(no_such_file)?;
    // The row goes first: a file the database forgot is invisible, whereas an object
    // deleted under a live row would be a broken link.
    if state.db.delete_file(&id, &user).await? {
        state.storage.delete_object(&file.storage_key).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

fn no_such_file() -> ApiError {
    ApiError::NotFound("There is no such file.".into())
}
