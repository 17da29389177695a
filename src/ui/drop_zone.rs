//! Where files come in: a drop target around a file picker.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, File, FileList, HtmlInputElement};

fn files_of(list: Option<FileList>) -> Vec<File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// A drop zone with a `<input type="file" multiple>`; hands the chosen files to `on_files`.
#[component]
pub fn DropZone<F>(on_files: F) -> impl IntoView
where
    F: Fn(Vec<File>) + Clone + 'static,
{
    let dragging = RwSignal::new(false);
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
    let dropped = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        on_files(files_of(ev.data_transfer().and_then(|dt| dt.files())));
    };

    view! {
        <label
            class="partway-drop"
            class:dragging=move || dragging.get()
            data-testid="drop-zone"
            on:dragover=move |ev: DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=dropped
        >
            <input type="file" multiple data-testid="file-input" on:change=picked />
            <span>"Drop files here or click to choose"</span>
        </label>
    }
}
