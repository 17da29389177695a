//! Completing an upload as a saga that a crash, a timeout or a second request cannot
//! break: `active → completing` (a conditional claim) → storage joins the parts →
//! `completing → completed` with the file row, in one transaction.
//!
//! Storage's step is irreversible and runs detached from any request, so a client that
//! disconnects cannot cut it between storage and the commit. It is idempotent: an
//! object already joined by an earlier, interrupted run counts as done. Whoever finds
//! the claim stale (the sweep, or a repeated complete) runs the saga again.

use crate::db::{FileRow, UploadRow};
use crate::error::ApiError;
use crate::storage::StorageError;
use crate::AppState;
use partway::core::wire::{CompletedPart, FileInfo, Processing, StoredPart};
use partway::core::{ChecksumMode, Crc64, FileId, Plan};

/// A claim older than this (seconds) belongs to a claimant that died. Generous: the local
/// backend copies, hashes and fsyncs the whole file while it holds the claim, and a
/// takeover of a claim still running would join the parts twice.
pub const STALE_CLAIM_SECS: i64 = 3600;

/// Checks the parts a client names against the plan and against what storage holds,
/// once, before anything irreversible: every part 1..=n, each stored with the ETag the
/// client names and exactly the planned size.
pub fn check_parts(
    plan: &Plan,
    named: &[CompletedPart],
    stored: &[StoredPart],
) -> Result<(), ApiError> {
    crate::storage::check_part_order(named)?;
    if named.len() != plan.part_count as usize {
        return Err(ApiError::PartMismatch(format!(
            "This upload has {} parts, but {} were listed.",
            plan.part_count,
            named.len()
        )));
    }
    for part in named {
        let n = part.part_number;
        let Some(held) = stored.iter().find(|s| s.part_number == n) else {
            return Err(ApiError::PartMismatch(format!(
                "Part {n} has not been stored; send it again."
            )));
        };
        if !crate::storage::same_etag(&held.etag.0, &part.etag.0) {
            return Err(ApiError::PartMismatch(format!(
                "Part {n}'s ETag does not match the part storage holds; send that part again."
            )));
        }
        let planned = plan.range(n).len();
        if held.size != planned {
            return Err(ApiError::PartMismatch(format!(
                "Part {n} is {} bytes, but this upload's part {n} is {planned}; send it again.",
                held.size
            )));
        }
    }
    if let Some(extra) = stored.iter().find(|s| s.part_number.0 > plan.part_count) {
        return Err(ApiError::PartMismatch(format!(
            "Storage holds part {}, which is not in this upload.",
            extra.part_number
        )));
    }
    Ok(())
}

/// The whole file's CRC-64/NVME for an upload in that mode: combined from the CRCs
/// storage lists for the parts (each checked by storage against its bytes), and equal to
/// the client's when it sent one. A storage that lists none takes the client's word,
/// which it then checks against the joined object.
pub fn whole_crc(
    plan: &Plan,
    stored: &[StoredPart],
    claimed: Option<Crc64>,
) -> Result<Crc64, ApiError> {
    let listed = plan
        .parts()
        .map(|n| {
            let part = stored.iter().find(|s| s.part_number == n)?;
            Some((part.crc64nvme?, part.size))
        })
        .collect::<Option<Vec<_>>>()
        .and_then(Crc64::of_parts);
    match (listed, claimed) {
        (Some(listed), Some(claimed)) if listed != claimed => {
            Err(ApiError::ChecksumMismatch(format!(
                "The file's CRC-64/NVME from its stored parts is {}, not the {} sent; \
                 send the file again.",
                listed.to_base64(),
                claimed.to_base64()
            )))
        }
        (Some(crc), _) | (None, Some(crc)) => Ok(crc),
        (None, None) => Err(ApiError::invalid(
            "This upload checks the whole file's CRC-64/NVME: send it as crc64nvme.",
        )),
    }
}

/// Runs storage's step and the commit for an upload this caller claimed (state
/// `completing`, its parts recorded). Returns the file, or why not; on a refusal by
/// storage the claim is handed back, on a wrong object the upload is given up.
pub async fn finish(state: AppState, upload: UploadRow) -> Result<FileRow, ApiError> {
    finish_listed(state, upload, None).await
}

/// [`finish`], with storage's listing of the parts that the caller took just now, which
/// storage is then not asked for again.
async fn finish_listed(
    state: AppState,
    upload: UploadRow,
    listed: Option<Vec<StoredPart>>,
) -> Result<FileRow, ApiError> {
    let now = crate::unix_now_i64();
    // Whether the object was found already joined rather than joined just now.
    let mut found = false;
    let mode = upload.checksum_mode;
    let full_object = match mode {
        ChecksumMode::Sha256 => None,
        ChecksumMode::Crc64nvme => Some(
            upload
                .expected_checksum
                .as_deref()
                .and_then(|c| Crc64::from_base64(c).ok())
                .ok_or_else(|| ApiError::internal("a CRC upload was claimed without its CRC"))?,
        ),
    };
    let (key, id, parts) = (
        &upload.storage_key,
        &upload.storage_upload_id,
        &upload.parts,
    );
    let completed = match &listed {
        Some(listed) => {
            state
                .storage
                .complete_listed(key, id, parts, full_object, listed)
                .await
        }
        None => state.storage.complete(key, id, parts, full_object).await,
    };
    let joined = match completed {
        Ok(joined) => joined,
        Err(refusal) => match state.storage.stat_object(&upload.storage_key, mode).await {
            // An earlier run joined it and was cut before the commit.
            Ok(Some(joined)) => {
                found = true;
                joined
            }
            Ok(None) => {
                match refusal {
                    StorageError::PartMismatch(_) | StorageError::ChecksumMismatch(_) => {
                        // The parts are as they were: the client may send them again.
                        state.db.release_claim(&upload.id, now).await?;
                    }
                    StorageError::NotFound(_) => {
                        // Storage holds neither the upload nor an object (a lifecycle
                        // rule, an operator): it can never finish.
                        state.db.abort_claimed(&upload.id, now).await?;
                        crate::lingering::after_abort(&state, &upload.storage_key, now).await?;
                        return Err(ApiError::UploadNotActive(
                            "Storage no longer holds this upload; start it again.".into(),
                        ));
                    }
                    StorageError::Failed(_) => {
                        // Storage broke or could not be reached, and may or may not
                        // have joined the parts: the claim stays, for the next complete
                        // (or the sweep) to run the step again right away.
                        state.db.expire_claim(&upload.id, upload.updated_at).await?;
                    }
                }
                return Err(refusal.into());
            }
            Err(failed) => {
                state.db.expire_claim(&upload.id, upload.updated_at).await?;
                return Err(failed.into());
            }
        },
    };
    let wrong = if joined.size != upload.size {
        Some(ApiError::PartMismatch(format!(
            "The parts add up to {} bytes, but the file has {}; the upload was cancelled.",
            joined.size, upload.size
        )))
    } else {
        // Only an object found already joined is in question: one storage joined just
        // now from the checked parts is theirs, whatever form its checksum takes.
        let foreign = match (found, &upload.expected_checksum, &joined.checksum) {
            (true, Some(want), got) if got.as_ref() != Some(want) => {
                Some(ApiError::PartMismatch(format!(
                    "Storage holds an object with checksum {}, not the {want} of these \
                     parts; the upload was cancelled.",
                    got.as_deref().unwrap_or("none")
                )))
            }
            _ => None,
        };
        // Parts sent from one version of the file and a whole-file SHA-256 read from
        // another (it changed on disk meanwhile) make no file: it is sent again whole.
        foreign.or_else(|| match (&upload.client_sha256, &joined.sha256) {
            (Some(claim), Some(sha256)) if claim != sha256 => {
                Some(ApiError::ChecksumMismatch(format!(
                    "The stored file's SHA-256 is {sha256}, not the {claim} the client \
                     read; the file changed while it was sent, and the upload was cancelled."
                )))
            }
            _ => None,
        })
    };
    if let Some(refusal) = wrong {
        // A wrong object never becomes a file.
        state.storage.delete_object(&upload.storage_key).await?;
        state.db.abort_claimed(&upload.id, now).await?;
        crate::lingering::after_abort(&state, &upload.storage_key, now).await?;
        return Err(refusal);
    }
    let file = FileRow {
        info: FileInfo {
            id: FileId(uuid::Uuid::now_v7().to_string()),
            name: upload.name.clone(),
            size: joined.size,
            content_type: upload.content_type.clone(),
            sha256: joined.sha256,
            client_sha256: upload.client_sha256.clone(),
            checksum: joined.checksum,
            checksum_mode: mode,
            // The jobs after upload (verifying, sniffing the type) run next.
            processing: Processing::Pending,
            detected_type: None,
            processing_note: None,
            has_thumbnail: false,
            created_at: now,
        },
        storage_key: upload.storage_key.clone(),
        thumbnail_key: None,
    };
    if state.db.commit_completion(&upload, &file).await? {
        state.metrics.files_completed.inc();
        state.metrics.bytes_completed.inc_by(file.info.size);
        return Ok(file);
    }
    // Another run of the saga committed first: its file is the file.
    let now = state
        .db
        .upload_by_id(&upload.id)
        .await?
        .ok_or_else(|| ApiError::internal("a completed upload vanished"))?;
    let file_id = now
        .file_id
        .ok_or_else(|| ApiError::internal("a completed upload has no file"))?;
    state
        .db
        .file(&FileId(file_id), &upload.owner)
        .await?
        .ok_or_else(|| ApiError::NotFound("The file of this upload was deleted.".into()))
}

/// Runs `finish` on its own task, so that the caller going away (a client that
/// disconnects) cannot cut it.
pub async fn finish_detached(state: AppState, upload: UploadRow) -> Result<FileRow, ApiError> {
    tokio::spawn(finish(state, upload))
        .await
        .map_err(|e| ApiError::internal(format_args!("the complete task failed: {e}")))?
}

/// Claims an active upload for completing with `parts` and runs the saga, all on its
/// own task: a request dropped right after the claim must not leave the claim without
/// a claimant. `None` if the upload was no longer active (another request claimed or
/// aborted it).
pub async fn claim_and_finish(
    state: AppState,
    upload: UploadRow,
    parts: Vec<CompletedPart>,
    expected_checksum: Option<String>,
    client_sha256: Option<String>,
    listed: Vec<StoredPart>,
) -> Result<Option<FileRow>, ApiError> {
    let task = async move {
        let now = crate::unix_now_i64();
        let claimed = state
            .db
            .claim_completion(
                &upload.id,
                &parts,
                expected_checksum.as_deref(),
                client_sha256.as_deref(),
                now,
            )
            .await?;
        if !claimed {
            return Ok(None);
        }
        let claimed = UploadRow {
            state: partway::core::wire::UploadState::Completing,
            parts,
            expected_checksum,
            client_sha256,
            updated_at: now,
            ..upload
        };
        finish_listed(state, claimed, Some(listed)).await.map(Some)
    };
    tokio::spawn(task)
        .await
        .map_err(|e| ApiError::internal(format_args!("the complete task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use partway::core::{ETag, PartNumber};

    fn stored(n: u32, etag: &str, size: u64) -> StoredPart {
        StoredPart {
            part_number: PartNumber(n),
            etag: ETag(etag.into()),
            size,
            sha256: None,
            crc64nvme: None,
        }
    }

    fn named(n: u32, etag: &str) -> CompletedPart {
        CompletedPart {
            part_number: PartNumber(n),
            etag: ETag(etag.into()),
        }
    }

    #[test]
    fn parts_are_checked_against_the_plan_and_storage() {
        const M: u64 = 5 * 1024 * 1024;
        let plan = Plan::with_part_size(2 * M + 2, M).expect("plan"); // M, M, 2
        let held = vec![
            stored(1, "\"a\"", M),
            stored(2, "\"b\"", M),
            stored(3, "\"c\"", 2),
        ];
        let all = vec![named(1, "a"), named(2, "\"b\""), named(3, "c")];
        assert!(check_parts(&plan, &all, &held).is_ok());
        assert!(check_parts(&plan, &all[..2], &held).is_err(), "too few");
        let shuffled = [named(2, "b"), named(1, "a"), named(3, "c")];
        assert!(
            check_parts(&plan, &shuffled, &held).is_err(),
            "out of order"
        );
        assert!(
            check_parts(&plan, &all, &held[..2]).is_err(),
            "one not stored"
        );
        let wrong_etag = vec![named(1, "a"), named(2, "x"), named(3, "c")];
        assert!(check_parts(&plan, &wrong_etag, &held).is_err());
        let oversized = vec![stored(1, "a", M), stored(2, "b", M), stored(3, "c", M)];
        assert!(
            check_parts(&plan, &all, &oversized).is_err(),
            "a part past its size"
        );
        let mut extra = held.clone();
        extra.push(stored(4, "d", 1));
        assert!(
            check_parts(&plan, &all, &extra).is_err(),
            "a part outside the plan"
        );
    }
}
