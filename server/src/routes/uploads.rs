//! `/api/uploads`: start, sign, inspect, complete and abort multipart uploads.

use crate::auth::AuthUser;
use crate::db::{FileRow, Holding, UploadRow, UserLimits};
use crate::error::ApiError;
use crate::json::Json;
use crate::openapi::Refusals;
use crate::path::Path;
use crate::quota::Limits;
use crate::storage::PartToSign;
use crate::{policy, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use partway::core::wire::ErrorBody;
use partway::core::wire::{
    CompleteUploadRequest, CompleteUploadResponse, CreateUploadRequest, CreateUploadResponse,
    PartChecksum, SignPartsRequest, SignPartsResponse, SignedPart, UploadState, UploadStatus,
};
use partway::core::{ChecksumMode, FileId, Plan, UploadId};
use std::collections::HashSet;
use std::time::Duration;

/// The upload routes, relative to `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/uploads", post(create))
        .route("/uploads/{id}", get(status).delete(abort))
        .route("/uploads/{id}/parts", post(sign))
        .route("/uploads/{id}/complete", post(complete))
}

/// `POST /api/uploads`: checks the file and its plan, starts the multipart upload and
/// signs the parts whose checksums came along.
#[utoipa::path(
    post,
    path = "/api/uploads",
    operation_id = "createUpload",
    tag = "uploads",
    request_body = CreateUploadRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The upload, with the first parts' signed URLs.", body = CreateUploadResponse),
        (status = 400, description = "A malformed or inconsistent request: `invalid_request`.", body = ErrorBody),
        (status = 403, description = "Over the user's quota: `quota_exceeded`.", body = ErrorBody),
        (status = 413, description = "Larger than the server allows: `file_too_large`.", body = ErrorBody),
        (status = 415, description = "A type the server does not accept: `type_not_allowed`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(req): Json<CreateUploadRequest>,
) -> Result<(StatusCode, Json<CreateUploadResponse>), ApiError> {
    let mut answers = create_batch(&state, &user, vec![Ok(req)]).await;
    let response = answers
        .pop()
        .unwrap_or_else(|| Err(ApiError::internal("the upload got no answer")))?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// Starts uploads for `user` (one for `POST /api/uploads`, a batch's otherwise): each is
/// checked and started in storage, in order, then all are recorded in one transaction,
/// each counted against the quota the next is checked by, which spares the database a
/// commit per file.
pub(crate) async fn create_batch(
    state: &AppState,
    user: &str,
    requests: Vec<Result<CreateUploadRequest, ApiError>>,
) -> Vec<Result<CreateUploadResponse, ApiError>> {
    let mut started = Vec::with_capacity(requests.len());
    for req in requests {
        started.push(match req {
            Ok(req) => start_upload(state, user.to_string(), req).await,
            Err(e) => Err(e),
        });
    }
    let rows: Vec<&UploadRow> = started.iter().flatten().map(|s| &s.row).collect();
    let mut recorded = match state
        .db
        .insert_uploads_if(
            user,
            &rows,
            |own| counts_stored(state, own),
            |held, own, row| admit(state, held, own, row),
        )
        .await
    {
        Ok(answers) => answers,
        // Nothing was recorded: every upload of the batch fails alike.
        Err(e) => {
            let detail = e.to_string();
            rows.iter()
                .map(|_| Err(ApiError::internal(&detail)))
                .collect()
        }
    }
    .into_iter();
    let mut answers = Vec::with_capacity(started.len());
    for s in started {
        answers.push(match s {
            Ok(s) => {
                let recorded = recorded.next().unwrap_or_else(|| {
                    Err(ApiError::internal("an upload of the batch got no answer"))
                });
                finish_create(state, s, recorded).await
            }
            Err(e) => Err(e),
        });
    }
    answers
}

/// An upload checked and started in storage, not yet recorded.
struct Started {
    row: UploadRow,
    plan: Plan,
    parts: Vec<PartChecksum>,
    /// Storage was not asked for anything (see [`crate::storage::Storage::starts_for_free`]).
    free: bool,
}

/// Checks the file and its plan and starts the upload in storage.
async fn start_upload(
    state: &AppState,
    user: String,
    req: CreateUploadRequest,
) -> Result<Started, ApiError> {
    policy::check_name(&req.name)?;
    policy::check_size(req.size, &state.config)?;
    let content_type = policy::normalise_type(&req.content_type)?;
    policy::check_type(&content_type, &state.config)?;
    let plan = Plan::with_part_size(req.size, req.part_size)
        .map_err(|e| ApiError::invalid(format!("The upload plan was refused: {e}.")))?;
    // Named, else that of the parts sent, else the server's.
    let mode = req
        .checksum
        .or(req.parts.first().map(|p| p.sum.mode()))
        .unwrap_or(state.config.checksum);
    check_parts(&plan, &req.parts, mode)?;
    // Refused early, before storage is asked for anything; checked again, under the
    // user's lock, when the upload is recorded. Where storage is not asked, the second
    // check alone refuses the same, with two fewer reads per small file.
    let free = state.storage.starts_for_free(req.size, plan.part_count);
    if !free {
        let limits = Limits::of(&state.db.user_limits(&user).await?, &state.config);
        let held = state.db.holding(&user, limits.counts_stored()).await?;
        limits.admit(&held, req.size)?;
    }

    // The key is ours, never the file's name: names are untrusted and may collide.
    let key = uuid::Uuid::new_v4().simple().to_string();
    let storage_upload_id = state
        .storage
        .create_upload(&key, &content_type, req.size, plan.part_count, mode)
        .await?;
    let now = crate::unix_now_i64();
    let row = UploadRow {
        id: uuid::Uuid::now_v7().to_string(),
        owner: user,
        name: req.name,
        size: req.size,
        content_type,
        last_modified: req.last_modified,
        part_size: plan.part_size,
        part_count: plan.part_count,
        storage_key: key,
        storage_upload_id,
        state: UploadState::Active,
        checksum_mode: mode,
        parts: Vec::new(),
        expected_checksum: None,
        client_sha256: None,
        file_id: None,
        created_at: now,
        updated_at: now,
    };
    Ok(Started {
        row,
        plan,
        parts: req.parts,
        free,
    })
}

fn counts_stored(state: &AppState, own: &UserLimits) -> bool {
    Limits::of(own, &state.config).counts_stored()
}

fn admit(
    state: &AppState,
    held: &Holding,
    own: &UserLimits,
    row: &UploadRow,
) -> Result<(), ApiError> {
    Limits::of(own, &state.config).admit(held, row.size)
}

/// Answers for an upload started in storage, once recording it was `recorded`: its
/// first parts signed, or, refused, nothing left of it in storage.
async fn finish_create(
    state: &AppState,
    started: Started,
    recorded: Result<(), ApiError>,
) -> Result<CreateUploadResponse, ApiError> {
    let Started {
        row,
        plan,
        parts,
        free,
    } = started;
    if let Err(e) = recorded {
        // Don't leave an upload in storage that nothing refers to (one that started for
        // free left nothing there: no URL was signed for it yet).
        if !free {
            let _ = state
                .storage
                .abort(&row.storage_key, &row.storage_upload_id)
                .await;
        }
        return Err(e);
    }
    let parts = sign_parts(state, &row, &plan, &parts).await?;
    Ok(CreateUploadResponse {
        upload_id: UploadId(row.id),
        part_size: plan.part_size,
        part_count: plan.part_count,
        parts,
        checksum: row.checksum_mode,
    })
}

/// `POST /api/uploads/{id}/parts`: signs a batch of parts of an active upload.
#[utoipa::path(
    post,
    path = "/api/uploads/{id}/parts",
    operation_id = "signParts",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id.")),
    request_body = SignPartsRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One signed URL per part asked for.", body = SignPartsResponse),
        (status = 400, description = "A malformed or inconsistent request: `invalid_request`.", body = ErrorBody),
        (status = 404, description = "No such upload or file for this user: `not_found`.", body = ErrorBody),
        (status = 409, description = "The upload is completed or cancelled: `upload_not_active`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn sign(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Json(req): Json<SignPartsRequest>,
) -> Result<Json<SignPartsResponse>, ApiError> {
    let upload = find_upload(&state, &id, &user).await?;
    require_active(&upload)?;
    let plan = plan_of(&upload)?;
    check_parts(&plan, &req.parts, upload.checksum_mode)?;
    let parts = sign_parts(&state, &upload, &plan, &req.parts).await?;
    // Signing is activity: the sweep of abandoned uploads measures idleness from here.
    state
        .db
        .touch_upload(&upload.id, crate::unix_now_i64())
        .await?;
    Ok(Json(SignPartsResponse { parts }))
}

/// `GET /api/uploads/{id}`: where the upload stands and, while active, the parts
/// storage holds (asked of storage, which is the truth for resuming).
#[utoipa::path(
    get,
    path = "/api/uploads/{id}",
    operation_id = "uploadStatus",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Where the upload stands, and the parts storage holds.", body = UploadStatus),
        (status = 404, description = "No such upload or file for this user: `not_found`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let upload = find_upload(&state, &id, &user).await?;
    let parts = match upload.state {
        UploadState::Active => {
            state
                .storage
                .list_parts(&upload.storage_key, &upload.storage_upload_id)
                .await?
        }
        // Storage is joining them, or freed them: nothing is left to resume.
        UploadState::Completing | UploadState::Completed | UploadState::Aborted => Vec::new(),
    };
    Ok(Json(UploadStatus {
        upload_id: UploadId(upload.id),
        state: upload.state,
        part_size: upload.part_size,
        part_count: upload.part_count,
        parts,
        checksum: upload.checksum_mode,
    }))
}

/// `POST /api/uploads/{id}/complete`: joins the parts and records the file, as the
/// saga of `crate::complete`. A repeat, or a race, answers with the same file, so a
/// client that lost the first answer can ask again.
#[utoipa::path(
    post,
    path = "/api/uploads/{id}/complete",
    operation_id = "completeUpload",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id.")),
    request_body = CompleteUploadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stored file and a download URL; the same for a repeat.", body = CompleteUploadResponse),
        (status = 400, description = "A malformed request, parts that do not match storage (`part_mismatch`) or a whole-file checksum that differs (`checksum_mismatch`).", body = ErrorBody),
        (status = 404, description = "No such upload or file for this user: `not_found`.", body = ErrorBody),
        (status = 409, description = "The upload is completed or cancelled: `upload_not_active`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Json(req): Json<CompleteUploadRequest>,
) -> Result<Json<CompleteUploadResponse>, ApiError> {
    complete_one(&state, &user, &id, req).await.map(Json)
}

/// Completes one upload of `user`: the work of `POST /api/uploads/{id}/complete`,
/// alone or in a batch.
pub(crate) async fn complete_one(
    state: &AppState,
    user: &str,
    id: &str,
    req: CompleteUploadRequest,
) -> Result<CompleteUploadResponse, ApiError> {
    // Bounded: a claim that goes back to active is tried once more, then answered.
    for _ in 0..2 {
        let upload = find_upload(state, id, user).await?;
        match upload.state {
            UploadState::Completed => return completed_answer(state, &upload).await,
            UploadState::Aborted => return Err(not_active(&upload)),
            UploadState::Completing => {
                settle(state, upload).await?;
                continue;
            }
            UploadState::Active => {}
        }
        let plan = plan_of(&upload)?;
        let checked = match state
            .storage
            .list_parts(&upload.storage_key, &upload.storage_upload_id)
            .await
        {
            Ok(stored) => crate::complete::check_parts(&plan, &req.parts, &stored)
                .and_then(|()| match upload.checksum_mode {
                    ChecksumMode::Sha256 => Ok(state
                        .storage
                        .expected_checksum(&upload.storage_upload_id, &stored)),
                    ChecksumMode::Crc64nvme => {
                        crate::complete::whole_crc(&plan, &stored, req.crc64nvme)
                            .map(|crc| Some(crc.to_base64()))
                    }
                })
                .map(|expected| (expected, stored)),
            Err(e) => Err(e.into()),
        };
        let (expected_checksum, stored) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                // A racing complete or abort may have consumed the parts since: answer
                // as the upload now stands, not with a part mismatch.
                if find_upload(state, id, user).await?.state != UploadState::Active {
                    continue;
                }
                return Err(e);
            }
        };
        let claimed = crate::complete::claim_and_finish(
            state.clone(),
            upload,
            req.parts.clone(),
            expected_checksum,
            req.sha256.map(|c| c.to_hex()),
            stored,
        );
        match claimed.await? {
            Some(file) => return download_answer(state, file).await,
            // Another request claimed it (or aborted it) first: answer as it ends.
            None => continue,
        }
    }
    let upload = find_upload(state, id, user).await?;
    match upload.state {
        UploadState::Completed => completed_answer(state, &upload).await,
        UploadState::Aborted => Err(not_active(&upload)),
        // Still moving (a claim handed back, another taken): the client asks again.
        UploadState::Active | UploadState::Completing => Err(busy()),
    }
}

/// Waits (bounded) for another request's claim to end; a claim gone stale is taken over
/// and the saga run again.
async fn settle(state: &AppState, mut upload: UploadRow) -> Result<(), ApiError> {
    for _ in 0..300 {
        if upload.state != UploadState::Completing {
            return Ok(());
        }
        let (claimed_at, now) = (upload.updated_at, crate::unix_now_i64());
        if now - claimed_at > crate::complete::STALE_CLAIM_SECS {
            // Its claimant died between the claim and the commit; of the requests (and
            // sweeps) that find it so, only the one that takes the claim over runs it.
            if state
                .db
                .take_over_claim(&upload.id, claimed_at, now)
                .await?
            {
                let taken = UploadRow {
                    updated_at: now,
                    ..upload
                };
                let _ = crate::complete::finish_detached(state.clone(), taken).await;
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        upload = state
            .db
            .upload_by_id(&upload.id)
            .await?
            .ok_or_else(|| ApiError::NotFound("There is no such upload.".into()))?;
    }
    Err(busy())
}

/// Another request is completing the upload: the client asks again (503 is retried).
fn busy() -> ApiError {
    ApiError::Unavailable("This upload is being completed; ask again in a moment.".into())
}

/// `DELETE /api/uploads/{id}`: aborts; storage frees the parts. Aborting twice is fine;
/// a completed upload, or one being completed, is not undone (delete the file instead).
#[utoipa::path(
    delete,
    path = "/api/uploads/{id}",
    operation_id = "abortUpload",
    tag = "uploads",
    params(("id" = String, Path, description = "The upload's id.")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Cancelled; storage freed the parts. Cancelling twice is fine."),
        (status = 404, description = "No such upload or file for this user: `not_found`.", body = ErrorBody),
        (status = 409, description = "The upload is completed or cancelled: `upload_not_active`.", body = ErrorBody),
        Refusals,
    )
)]
pub(crate) async fn abort(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let upload = find_upload(&state, &id, &user).await?;
    match upload.state {
        UploadState::Aborted => Ok(StatusCode::NO_CONTENT),
        UploadState::Completed | UploadState::Completing => Err(not_active(&upload)),
        UploadState::Active => {
            // Only the request that moves it out of `active` touches storage: an abort
            // racing a complete must not free the parts, or the object, under it.
            let now = crate::unix_now_i64();
            if state.db.abort_upload(&upload, now).await? {
                let freed = state
                    .storage
                    .abort(&upload.storage_key, &upload.storage_upload_id)
                    .await;
                if let Err(e) = freed {
                    // Storage still holds the parts: reopen, so that a repeated cancel
                    // or the sweep tries again instead of leaking them.
                    state.db.reopen_aborted(&upload.id, now).await?;
                    return Err(e.into());
                }
                crate::lingering::after_abort(&state, &upload.storage_key, now).await?;
                return Ok(StatusCode::NO_CONTENT);
            }
            let now = find_upload(&state, &id, &user).await?;
            match now.state {
                UploadState::Aborted => Ok(StatusCode::NO_CONTENT),
                _ => Err(not_active(&now)),
            }
        }
    }
}

async fn find_upload(state: &AppState, id: &str, user: &str) -> Result<UploadRow, ApiError> {
    state
        .db
        .upload(&UploadId(id.to_string()), user)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such upload.".into()))
}

fn require_active(upload: &UploadRow) -> Result<(), ApiError> {
    match upload.state {
        UploadState::Active => Ok(()),
        _ => Err(not_active(upload)),
    }
}

fn not_active(upload: &UploadRow) -> ApiError {
    let what = match upload.state {
        UploadState::Completed => "already completed",
        UploadState::Completing => "being completed",
        _ => "cancelled",
    };
    ApiError::UploadNotActive(format!(
        "This upload was {what}; start a new one to send the file again."
    ))
}

fn plan_of(upload: &UploadRow) -> Result<Plan, ApiError> {
    Plan::with_part_size(upload.size, upload.part_size).map_err(ApiError::internal)
}

/// Part numbers must be in the plan, each at most once, each with a checksum of the
/// upload's mode.
fn check_parts(plan: &Plan, parts: &[PartChecksum], mode: ChecksumMode) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for p in parts {
        let n = p.part_number;
        if p.sum.mode() != mode {
            return Err(ApiError::invalid(format!(
                "Part {n} carries a {} checksum, but this upload's parts carry {mode}.",
                p.sum.mode()
            )));
        }
        if n.0 == 0 || n.0 > plan.part_count {
            return Err(ApiError::invalid(format!(
                "Part {n} is not in this upload, which has parts 1 to {}.",
                plan.part_count
            )));
        }
        if !seen.insert(n) {
            return Err(ApiError::invalid(format!("Part {n} was asked for twice.")));
        }
    }
    Ok(())
}

async fn sign_parts(
    state: &AppState,
    upload: &UploadRow,
    plan: &Plan,
    parts: &[PartChecksum],
) -> Result<Vec<SignedPart>, ApiError> {
    let ttl = Duration::from_secs(state.config.url_ttl);
    let mut signed = Vec::with_capacity(parts.len());
    for p in parts {
        let len = plan.range(p.part_number).len();
        signed.push(
            state
                .storage
                .sign_part(
                    &PartToSign {
                        key: &upload.storage_key,
                        upload_id: &upload.storage_upload_id,
                        content_type: &upload.content_type,
                        part: p.part_number,
                        len,
                        checksum: Some(p.sum),
                    },
                    ttl,
                )
                .await?,
        );
        state.metrics.parts_signed.inc();
    }
    Ok(signed)
}

/// The answer for an upload that is already complete.
async fn completed_answer(
    state: &AppState,
    upload: &UploadRow,
) -> Result<CompleteUploadResponse, ApiError> {
    let file_id = upload
        .file_id
        .clone()
        .ok_or_else(|| ApiError::internal("completed upload without file"))?;
    let file = state
        .db
        .file(&FileId(file_id), &upload.owner)
        .await?
        .ok_or_else(|| ApiError::NotFound("The file of this upload was deleted.".into()))?;
    download_answer(state, file).await
}

async fn download_answer(
    state: &AppState,
    file: FileRow,
) -> Result<CompleteUploadResponse, ApiError> {
    // A repeated complete must not sign what the checks after upload quarantined.
    crate::routes::files::refuse_quarantined(&file)?;
    let ttl = state.config.download_ttl;
    let download_url = state
        .storage
        .sign_download(&file.storage_key, &file.info.name, Duration::from_secs(ttl))
        .await?;
    Ok(CompleteUploadResponse {
        file: file.info,
        download_url,
        expires_in: ttl,
    })
}
