//! Finding where a picked file left off: its resume record, checked against what
//! storage still holds.

use crate::browser::api::Api;
use crate::browser::driver::{Launch, Resumable, Start};
use crate::browser::fingerprint::fingerprint;
use crate::browser::resume_store::{RecordKeeper, ResumeStore};
use crate::core::resume::{keepable_parts, parts_for_finishing, ResumeRecord};
use crate::core::wire::{CompletedPart, UploadState, UploadStatus};
use crate::core::{ChecksumMode, Failure, Note, Plan};
use std::rc::Rc;
use std::time::Duration;
use web_sys::File;

/// Decides how `file` starts: resumed from a record storage still backs, or fresh.
/// Every record that cannot be used is deleted, with a note saying so.
pub async fn prepare(
    file: File,
    plan: Plan,
    api: &Api,
    store: Option<Rc<ResumeStore>>,
    lifetime: Duration,
) -> Launch {
    let fresh = |file: File, resumable: Option<Resumable>, note: Option<Note>| Launch {
        file,
        plan,
        start: Start::Fresh,
        resumable,
        note,
    };
    // A file of one part keeps no record (see the engine): nothing to look up, and a
    // pick of many small files is spared two hashes and a database read each.
    if plan.is_single() {
        return fresh(file, None, None);
    }
    let (Some(store), Ok(fp)) = (store, fingerprint(&file).await) else {
        return fresh(file, None, None);
    };
    let endpoint = api.endpoint();
    let key = fp.key(&endpoint);
    let keeper = RecordKeeper::new(store.clone(), key.clone());
    let resumable = Some(Resumable {
        keeper,
        fingerprint: fp,
        endpoint,
        lifetime,
    });
    let record = match store.get(&key, js_sys::Date::now() as u64).await {
        Ok(Some(Ok(record))) => record,
        Ok(Some(Err(reason))) => {
            let _ = store.delete(&key).await;
            return fresh(file, resumable, Some(Note::Dropped(reason)));
        }
        Ok(None) | Err(_) => return fresh(file, resumable, None),
    };
    match resume_point(&record, api).await {
        Ok((plan, stored, checksum)) => {
            let note = Note::Resumed {
                stored: stored.len() as u32,
                count: plan.part_count,
            };
            Launch {
                file,
                plan,
                start: Start::Resume {
                    record,
                    stored,
                    checksum,
                },
                resumable,
                note: Some(note),
            }
        }
        Err(why) => {
            let _ = store.delete(&key).await;
            fresh(file, resumable, Some(why))
        }
    }
}

/// The plan and the stored parts of a recorded upload, from storage's own list.
async fn resume_point(
    record: &ResumeRecord,
    api: &Api,
) -> Result<(Plan, Vec<CompletedPart>, ChecksumMode), Note> {
    let gone = Note::Gone;
    let plan =
        Plan::with_part_size(record.fingerprint.size, record.part_size).map_err(|_| Note::Gone)?;
    let status = match check_with_retries(record, api).await {
        Ok(status) => status,
        Err(Failure::Status {
            status: 404 | 409 | 410,
            ..
        }) => return Err(gone),
        Err(_) => return Err(Note::Unchecked),
    };
    if status.part_count == plan.part_count
        && status.part_size == plan.part_size
        && matches!(
            status.state,
            UploadState::Completing | UploadState::Completed
        )
    {
        // The server is joining, or has joined, the parts this browser sent (the page
        // went away before the answer): asking `complete` again gets the file, whatever
        // the record lacks.
        let parts = parts_for_finishing(&plan, &record.parts);
        return Ok((plan, parts, status.checksum));
    }
    if status.state != UploadState::Active
        || status.part_count != plan.part_count
        || status.part_size != plan.part_size
    {
        return Err(gone);
    }
    let stored = keepable_parts(&plan, &record.parts, status.parts);
    Ok((plan, stored, status.checksum))
}

/// Asks the server for the upload's parts, riding out a server restart or a network
/// blip (bounded: 5 tries over about 15 s) before the record is given up. A definite
/// answer (4xx) is final at once.
async fn check_with_retries(record: &ResumeRecord, api: &Api) -> Result<UploadStatus, Failure> {
    let mut wait_ms = 1000;
    let mut last = Failure::Network;
    for _ in 0..5 {
        match api.status(&record.upload_id).await {
            Ok(status) => return Ok(status),
            Err(failure) if is_definite(&failure) => return Err(failure),
            Err(failure) => last = failure,
        }
        gloo_timers::future::TimeoutFuture::new(wait_ms).await;
        wait_ms *= 2;
    }
    Err(last)
}

/// A client error other than a timeout or a rate limit: asking again changes nothing.
fn is_definite(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Status {
            status: 400..=499,
            ..
        }
    ) && !matches!(
        failure,
        Failure::Status {
            status: 408 | 429,
            ..
        }
    )
}
