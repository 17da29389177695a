//! One file's row: name, size, bar, speed, time left, status, error and actions.

use crate::browser::uploader::Uploader;
use crate::core::wire::Processing;
use crate::core::{FileStatus, Hold};
use crate::ui::state::{FileItem, SharedUploader, WidgetState};
use crate::ui::widget::RetryRow;
use leptos::html::Li;
use leptos::prelude::*;

/// The row of one file, with the stable `data-testid` hooks of DESIGN.md.
#[component]
pub fn FileRow(item: FileItem) -> impl IntoView {
    let FileItem {
        key,
        id,
        name,
        view,
        relative_path,
        ..
    } = item;
    let state = expect_context::<WidgetState>();
    let retry_row = StoredValue::new(expect_context::<RetryRow>());
    // Stored so that the handlers are `Copy` and can be rebuilt whenever shown.
    let uploader = StoredValue::new(use_context::<SharedUploader>());
    let row = NodeRef::<Li>::new();
    let act = move |f: fn(&Uploader, usize)| {
        uploader.with_value(|u| {
            if let Some(u) = u {
                f(u, key);
            }
        })
    };
    // The button pressed goes away with the state it offered: keep focus on the row.
    let keep_focus = move || {
        if let Some(li) = row.get_untracked() {
            let _ = li.focus();
        }
    };
    let cancel = move |_| {
        act(Uploader::cancel);
        keep_focus();
    };
    let pause = move |_| act(Uploader::pause);
    let resume = move |_| act(Uploader::resume);
    let row_id = StoredValue::new(id);
    let retry = move |_| {
        retry_row.with_value(|r| row_id.with_value(|id| (r.0)(id)));
        keep_focus();
    };
    let status = move || view.with(|v| v.status);
    let percent = move || view.with(|v| v.percent());
    let active = move || {
        matches!(
            status(),
            FileStatus::Queued | FileStatus::Hashing | FileStatus::Uploading | FileStatus::Paused
        )
    };
    let can_pause = move || matches!(status(), FileStatus::Hashing | FileStatus::Uploading);
    // An offline hold lifts by itself; only a pause by the person offers "Resume".
    let can_resume = move || view.with(|v| v.hold == Some(Hold::Paused));
    let can_retry = move || {
        view.with(|v| v.status == FileStatus::Failed && v.error_code.is_some_and(|c| c.retryable()))
    };
    let note = move || {
        view.with(|v| match (&v.hold, &v.note) {
            (Some(Hold::Offline), _) => {
                Some(state.messages.with_untracked(|m| m.get("offline", &[])))
            }
            (_, Some(note)) => Some(state.messages.with_untracked(|m| m.note(note))),
            _ => None,
        })
    };
    let error = move || {
        view.with(|v| {
            let reason = v.error.as_ref()?;
            Some(
                state
                    .messages
                    .with_untracked(|m| m.failure(v.error_code, Some(reason))),
            )
        })
    };
    // The checks after upload, as the live feed reports them: "checking" only where the
    // element will hear the outcome.
    let processing = move || {
        view.with(|v| {
            let file = v.file.as_ref()?;
            let text = |key: &str, reason: &str| {
                state
                    .messages
                    .with_untracked(|m| m.get(key, &[("reason", reason)]))
            };
            let note = file.processing_note.as_deref().unwrap_or_default();
            match file.processing {
                Processing::Pending if state.live.get_untracked() => {
                    Some((false, text("processingPending", "")))
                }
                Processing::Quarantined => Some((true, text("processingQuarantined", note))),
                Processing::Failed => Some((true, text("processingFailed", note))),
                _ => None,
            }
        })
    };
    let quarantined = move || {
        view.with(|v| {
            v.file
                .as_ref()
                .is_some_and(|f| f.processing == Processing::Quarantined)
        })
    };
    let link = move || {
        view.with(|v| v.download_url.clone())
            .filter(|_| !quarantined())
    };
    // Labels follow the row's view, which a locale change notifies (see `attribute_changed`).
    let t = move |key: &'static str| {
        move || {
            view.track();
            state.messages.with_untracked(|m| m.get(key, &[]))
        }
    };
    let bar_name = {
        let name = name.clone();
        move || {
            view.track();
            state
                .messages
                .with_untracked(|m| m.get("progressOf", &[("name", &name)]))
        }
    };
    let download_name = name.clone();
    let shown_name = relative_path.unwrap_or_else(|| name.clone());

    view! {
        <li
            class="partway-file"
            part="row"
            node_ref=row
            tabindex="-1"
            data-testid="file-row"
            data-status=move || status().as_str()
            data-upload-id=move || view.with(|v| v.upload_id.clone())
            data-bytes-resent=move || view.with(|v| v.bytes_resent.to_string())
        >
            <div class="partway-file-head">
                <span class="partway-name" data-testid="file-name" title=shown_name.clone()>{shown_name.clone()}</span>
                <span class="partway-size">{move || view.with(|v| state.messages.with_untracked(|m| m.bytes(v.total)))}</span>
                <span class="partway-status">{move || state.messages.with_untracked(|m| m.status(status()))}</span>
            </div>
            <div
                class="partway-bar"
                part="progress"
                data-testid="file-progress"
                role="progressbar"
                aria-label=bar_name
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || percent().to_string()
            >
                <div class="partway-bar-fill" style:width=move || format!("{}%", percent())></div>
            </div>
            <div class="partway-file-foot">
                <span data-testid="file-speed">{move || view.with(|v| state.messages.with_untracked(|m| m.speed(v.speed)))}</span>
                <span data-testid="file-eta">{move || view.with(|v| state.messages.with_untracked(|m| m.eta(v.eta)))}</span>
                <Show when=can_pause>
                    <button type="button" part="button" data-testid="file-pause" on:click=pause>{t("pause")}</button>
                </Show>
                <Show when=can_resume>
                    <button type="button" part="button" data-testid="file-resume" on:click=resume>{t("resume")}</button>
                </Show>
                <Show when=active>
                    <button type="button" part="button" data-testid="file-cancel" on:click=cancel>{t("cancel")}</button>
                </Show>
                <Show when=can_retry>
                    <button type="button" part="button" data-testid="file-retry" on:click=retry>{t("retry")}</button>
                </Show>
                {move || link().map(|href| view! {
                    <a data-testid="file-link" href=href download=download_name.clone()>{t("download")}</a>
                })}
            </div>
            {move || processing().map(|(bad, message)| view! {
                <p class=if bad { "partway-error" } else { "partway-note" }
                    data-testid="file-processing">{message}</p>
            })}
            {move || note().map(|message| view! {
                <p class="partway-note" data-testid="file-note">{message}</p>
            })}
            {move || error().map(|message| view! {
                <p class="partway-error" data-testid="file-error">{message}</p>
            })}
        </li>
    }
}
