//! One file's row: name, size, bar, speed, time left, status, error and actions.

use crate::browser::uploader::Uploader;
use crate::core::{format, FileStatus, Hold};
use crate::ui::widget::{FileItem, SharedUploader};
use leptos::prelude::*;

/// The row of one file, with the stable `data-testid` hooks of DESIGN.md.
#[component]
pub fn FileRow(item: FileItem) -> impl IntoView {
    let FileItem { key, name, view } = item;
    // Stored so that the cancel handler is `Copy` and can be rebuilt whenever shown.
    let uploader = StoredValue::new(use_context::<SharedUploader>());
    let act = move |f: fn(&Uploader, usize)| {
        uploader.with_value(|u| {
            if let Some(u) = u {
                f(u, key);
            }
        })
    };
    let cancel = move |_| act(Uploader::cancel);
    let pause = move |_| act(Uploader::pause);
    let resume = move |_| act(Uploader::resume);
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
    let note = move || view.with(|v| v.note.clone());
    let error = move || view.with(|v| v.error.clone());
    let link = move || view.with(|v| v.download_url.clone());
    let download_name = name.clone();

    view! {
        <li
            class="partway-file"
            data-testid="file-row"
            data-status=move || status().as_str()
            data-upload-id=move || view.with(|v| v.upload_id.clone())
            data-bytes-resent=move || view.with(|v| v.bytes_resent.to_string())
        >
            <div class="partway-file-head">
                <span class="partway-name" data-testid="file-name">{name}</span>
                <span class="partway-size">{move || view.with(|v| format::bytes(v.total))}</span>
                <span class="partway-status">{move || status().as_str()}</span>
            </div>
            <div
                class="partway-bar"
                data-testid="file-progress"
                role="progressbar"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || percent().to_string()
            >
                <div class="partway-bar-fill" style:width=move || format!("{}%", percent())></div>
            </div>
            <div class="partway-file-foot">
                <span data-testid="file-speed">{move || view.with(|v| format::speed(v.speed))}</span>
                <span data-testid="file-eta">{move || view.with(|v| format::eta(v.eta))}</span>
                <Show when=can_pause>
                    <button type="button" data-testid="file-pause" on:click=pause>"Pause"</button>
                </Show>
                <Show when=can_resume>
                    <button type="button" data-testid="file-resume" on:click=resume>"Resume"</button>
                </Show>
                <Show when=active>
                    <button type="button" data-testid="file-cancel" on:click=cancel>"Cancel"</button>
                </Show>
                {move || link().map(|href| view! {
                    <a data-testid="file-link" href=href download=download_name.clone()>"Download"</a>
                })}
            </div>
            {move || note().map(|message| view! {
                <p class="partway-note" data-testid="file-note">{message}</p>
            })}
            {move || error().map(|message| view! {
                <p class="partway-error" data-testid="file-error" role="alert">{message}</p>
            })}
        </li>
    }
}
