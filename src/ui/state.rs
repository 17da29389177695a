//! The widget's state, apart from its views: the rows, the uploader behind them, the
//! words in use, and what the page was told (events). Views import this module, never
//! each other.

use crate::browser::uploader::{FileKey, Uploader};
use crate::core::i18n::Messages;
use crate::core::restrict::Held;
use crate::core::{FailCode, FileView};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde::Serialize;

/// One file in the list, with the signal its upload updates.
#[derive(Clone)]
pub struct FileItem {
    /// The uploader's key for the file.
    pub key: FileKey,
    /// The row's id in events, `files` and `retry(id)`: unique on the page.
    pub id: String,
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its MIME type as the browser guessed it (may be empty).
    pub mime: String,
    /// Its path inside a dropped folder.
    pub relative_path: Option<String>,
    /// The latest view of its upload.
    pub view: RwSignal<FileView>,
}

impl FileItem {
    /// Whether a restriction refused the file (its row only says why).
    pub fn refused(&self) -> bool {
        self.view
            .with_untracked(|v| matches!(v.error_code, Some(FailCode::Restricted(_))))
    }

    /// Whether the row still has work to do.
    pub fn active(&self) -> bool {
        !self.view.with_untracked(|v| v.status.is_end())
    }
}

/// The uploader, shared with the rows through context. The browser is single-threaded,
/// so the wrapper that makes it `Send` is never crossed.
pub type SharedUploader = SendWrapper<Uploader>;

/// What the views share: the rows, the words, and the last announcement.
#[derive(Clone, Copy)]
pub struct WidgetState {
    /// Every row, in the order the files came.
    pub files: RwSignal<Vec<FileItem>>,
    /// How many of them are rendered: a large pick is shown a chunk at a time.
    pub shown: RwSignal<usize>,
    /// The words of the element's locale.
    pub messages: RwSignal<Messages>,
    /// The sentence for the polite live region (completion, failure, refusal).
    pub announcement: RwSignal<String>,
    /// Whether the element is `live`: it then hears when its files' checks end.
    pub live: RwSignal<bool>,
    /// Whether the element is `disabled`.
    pub disabled: RwSignal<bool>,
    /// Whether several files may be chosen at once.
    pub multiple: RwSignal<bool>,
    /// The `accept` list, passed to the file picker.
    pub accept: RwSignal<String>,
    /// Notified with each batch of row changes (see `redraw`), for the figures summed
    /// over all rows.
    pub changed: Trigger,
    /// Notified with a batch in which a row ended (done, failed or cancelled): those
    /// figures are summed at once.
    pub ended: Trigger,
}

impl WidgetState {
    /// Fresh state in the current reactive owner.
    pub fn new(messages: Messages) -> Self {
        WidgetState {
            files: RwSignal::new(Vec::new()),
            shown: RwSignal::new(0),
            messages: RwSignal::new(messages),
            announcement: RwSignal::new(String::new()),
            live: RwSignal::new(false),
            disabled: RwSignal::new(false),
            multiple: RwSignal::new(true),
            accept: RwSignal::new(String::new()),
            changed: Trigger::new(),
            ended: Trigger::new(),
        }
    }

    /// What the rows hold, for the `max-files` and `max-total-size` checks (rows of
    /// refused files do not count).
    pub fn held(&self) -> Held {
        self.files.with_untracked(|list| {
            let counted = list.iter().filter(|f| !f.refused());
            Held {
                files: counted.clone().count() as u32,
                bytes: counted.map(|f| f.size).sum(),
            }
        })
    }

    /// Says `text` through the live region. The same sentence twice is still read out:
    /// the region is emptied first.
    pub fn announce(&self, text: String) {
        self.announcement.set(String::new());
        let region = self.announcement;
        wasm_bindgen_futures::spawn_local(async move { region.set(text) });
    }
}

/// One row, as the `files` property shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    id: String,
    name: String,
    size: u64,
    #[serde(rename = "type")]
    mime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    relative_path: Option<String>,
    status: &'static str,
    percent: u8,
    upload_id: Option<String>,
    file: Option<crate::core::wire::FileInfo>,
    download_url: Option<String>,
    error: Option<SnapshotError>,
}

#[derive(Serialize)]
struct SnapshotError {
    code: &'static str,
    message: String,
}

impl Snapshot {
    /// The snapshot of one row, its error worded by `messages`.
    pub fn of(item: &FileItem, messages: &Messages) -> Self {
        let view = item
            .view
            .try_get_untracked()
            .unwrap_or_else(|| FileView::queued(item.size));
        Snapshot {
            id: item.id.clone(),
            name: item.name.clone(),
            size: item.size,
            mime: item.mime.clone(),
            relative_path: item.relative_path.clone(),
            status: view.status.as_str(),
            percent: view.percent(),
            upload_id: view.upload_id.clone(),
            file: view.file.clone(),
            download_url: view.download_url.clone(),
            error: view.error.as_ref().map(|reason| SnapshotError {
                code: view.error_code.map_or("unknown", |c| c.as_str()),
                message: messages.failure(view.error_code, Some(reason)),
            }),
        }
    }
}
