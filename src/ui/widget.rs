//! The whole widget, mountable anywhere.

use crate::browser::network::NetworkWatch;
use crate::browser::uploader::{FileKey, Uploader, UploaderConfig};
use crate::core::FileView;
use crate::ui::drop_zone::DropZone;
use crate::ui::file_row::FileRow;
use crate::ui::overall::OverallProgress;
use crate::ui::unfinished::UnfinishedUploads;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::rc::Rc;
use web_sys::File;

/// One file in the list, with the signal its upload updates.
#[derive(Clone)]
pub struct FileItem {
    /// The uploader's key for the file.
    pub key: FileKey,
    /// The file's name.
    pub name: String,
    /// The latest view of its upload.
    pub view: RwSignal<FileView>,
}

/// The uploader, shared with the rows through context. The browser is single-threaded,
/// so the wrapper that makes it `Send` is never crossed.
pub(crate) type SharedUploader = SendWrapper<Uploader>;

/// The upload widget: pick or drop files, watch them go up, cancel them.
#[component]
pub fn Widget(config: UploaderConfig) -> impl IntoView {
    let uploader = Uploader::new(config);
    provide_context(SendWrapper::new(uploader.clone()));
    let files = RwSignal::new(Vec::<FileItem>::new());

    // Uploads hold still while the browser is offline and go on when it is back.
    let watch = {
        let u = uploader.clone();
        SendWrapper::new(NetworkWatch::new(move |online| u.set_online(online)))
    };
    on_cleanup(move || drop(watch));
    let all = StoredValue::new(SendWrapper::new(uploader.clone()));

    let add = move |picked: Vec<File>| {
        for file in picked {
            let view = RwSignal::new(FileView::queued(file.size() as u64));
            let name = file.name();
            let key = uploader.add(file, Rc::new(move |v| view.set(v)));
            files.update(|list| list.push(FileItem { key, name, view }));
        }
    };

    view! {
        <div class="partway">
            <DropZone on_files=add />
            <UnfinishedUploads />
            <OverallProgress files=files />
            <div class="partway-actions" class:empty=move || files.with(|f| f.is_empty())>
                <button type="button" data-testid="pause-all" on:click=move |_| all.with_value(|u| u.pause_all())>
                    "Pause all"
                </button>
                <button type="button" data-testid="resume-all" on:click=move |_| all.with_value(|u| u.resume_all())>
                    "Resume all"
                </button>
            </div>
            <ul class="partway-files">
                <For each=move || files.get() key=|item| item.key let:item>
                    <FileRow item=item />
                </For>
            </ul>
        </div>
    }
}
