//! Where files come in: a keyboard-operable drop zone around a hidden file picker, which
//! also takes pasted files and dropped folders.

use crate::browser::folder::dropped_files;
use crate::ui::state::WidgetState;
use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, DragEvent, File, FileList, HtmlInputElement, KeyboardEvent};

/// Files handed over, each with its path inside a dropped folder.
pub type Picked = Vec<(File, Option<String>)>;

fn files_of(list: Option<FileList>) -> Picked {
    let Some(list) = list else { return Vec::new() };
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|f| (f, None))
        .collect()
}

/// A drop zone (a button for keyboards and screen readers) that opens the picker and
/// hands chosen, dropped or pasted files to `on_files`.
#[component]
pub fn DropZone<F>(on_files: F) -> impl IntoView
where
    F: Fn(Picked) + Clone + 'static,
{
    let state = expect_context::<WidgetState>();
    let input = NodeRef::<Input>::new();
    let dragging = RwSignal::new(false);
    let open = move || {
        if !state.disabled.get_untracked() {
            if let Some(input) = input.get_untracked() {
                input.click();
            }
        }
    };
    let on_pick = on_files.clone();
    let picked = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        on_pick(files_of(input.files()));
        // Clear it so that picking the same file again fires `change` again.
        input.set_value("");
    };
    let on_drop = on_files.clone();
    let dropped = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if state.disabled.get_untracked() {
            return;
        }
        let Some(transfer) = ev.data_transfer() else {
            return;
        };
        let on_drop = on_drop.clone();
        // Folder entries must be taken during the event; reading them goes on after.
        let pending = dropped_files(&transfer);
        wasm_bindgen_futures::spawn_local(async move { on_drop(pending.await) });
    };
    let pasted = move |ev: ClipboardEvent| {
        let files = files_of(ev.clipboard_data().and_then(|d| d.files()));
        if !files.is_empty() && !state.disabled.get_untracked() {
            ev.prevent_default();
            on_files(files);
        }
    };
    let key = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            ev.prevent_default();
            open();
        }
    };
    let hint = move || {
        state.messages.with(|m| {
            m.get(
                if state.disabled.get() {
                    "dropHintDisabled"
                } else {
                    "dropHint"
                },
                &[],
            )
        })
    };

    // The input sits beside the zone, not in it: a button may not hold another control.
    view! {
        <input
            type="file"
            class="partway-picker"
            node_ref=input
            tabindex="-1"
            aria-hidden="true"
            multiple=move || state.multiple.get()
            accept=move || state.accept.get()
            disabled=move || state.disabled.get()
            data-testid="file-input"
            on:change=picked
        />
        <div
            class="partway-drop"
            part="drop-zone"
            role="button"
            tabindex=move || if state.disabled.get() { "-1" } else { "0" }
            aria-disabled=move || state.disabled.get().to_string()
            aria-label=hint
            class:dragging=move || dragging.get()
            class:disabled=move || state.disabled.get()
            data-testid="drop-zone"
            on:click=move |_| open()
            on:keydown=key
            on:paste=pasted
            on:dragover=move |ev: DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=dropped
        >
            <span aria-hidden="true">{hint}</span>
        </div>
    }
}
