//! One file's row: name, size, bar, speed, time left, status, error and actions.

use crate::core::{format, FileStatus};
use crate::ui::widget::{FileItem, SharedUploader};
use leptos::prelude::*;

/// The row of one file, with the stable `data-testid` hooks of DESIGN.md.
#[component]
pub fn FileRow(item: FileItem) -> impl IntoView {
    let FileItem { key, name, view } = item;
    // Stored so that the cancel handler is `Copy` and can be rebuilt whenever shown.
    let uploader = StoredValue::new(use_context::<SharedUploader>());
    let cancel = move |_| {
        uploader.with_value(|u| {
            if let Some(u) = u {
                u.cancel(key);
            }
        })
    };
    let status = move || view.with(|v| v.status);
    let percent = move || view.with(|v| v.percent());
    let active = move || matches!(status(), FileStatus::Queued | FileStatus::Hashing | FileStatus::Uploading);
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
                <Show when=active>
                    <button type="button" data-testid="file-cancel" on:click=cancel>"Cancel"</button>
                </Show>
                {move || link().map(|href| view! {
                    <a data-testid="file-link" href=href download=download_name.clone()>"Download"</a>
                })}
            </div>
            {move || error().map(|message| view! {
                <p class="partway-error" data-testid="file-error" role="alert">{message}</p>
            })}
        </li>
    }
}
