//! Files out of a drop, folders included: a dropped folder gives every file inside it,
//! each with its path relative to the drop (`photos/2026/a.jpg`).

use js_sys::{Array, Promise};
use std::future::Future;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DataTransfer, File, FileSystemDirectoryEntry, FileSystemEntry, FileSystemFileEntry};

/// Most files one drop yields: a dropped disk root must not freeze the page.
const MAX_FILES: usize = 10_000;

enum Dropped {
    File(File),
    Entry(FileSystemEntry),
}

/// The files of a drop. The entries are taken now, while the event lasts (the browser
/// empties the transfer afterwards); the folders are read when the future runs.
pub fn dropped_files(transfer: &DataTransfer) -> impl Future<Output = Vec<(File, Option<String>)>> {
    let mut dropped = Vec::new();
    let items = transfer.items();
    for i in 0..items.length() {
        let Some(item) = items.get(i) else { continue };
        if item.kind() != "file" {
            continue;
        }
        match item.webkit_get_as_entry() {
            Ok(Some(entry)) if entry.is_directory() => dropped.push(Dropped::Entry(entry)),
            _ => {
                if let Ok(Some(file)) = item.get_as_file() {
                    dropped.push(Dropped::File(file));
                }
            }
        }
    }
    if dropped.is_empty() {
        if let Some(list) = transfer.files() {
            dropped.extend(
                (0..list.length())
                    .filter_map(|i| list.get(i))
                    .map(Dropped::File),
            );
        }
    }
    async move {
        let mut out = Vec::new();
        for d in dropped {
            match d {
                Dropped::File(f) => out.push((f, None)),
                Dropped::Entry(dir) => walk(dir, &mut out).await,
            }
        }
        out
    }
}

/// Every file under `root`, depth first, without recursion (a stack of folders).
async fn walk(root: FileSystemEntry, out: &mut Vec<(File, Option<String>)>) {
    let mut folders = vec![root];
    while let Some(folder) = folders.pop() {
        let folder: FileSystemDirectoryEntry = folder.unchecked_into();
        let reader = folder.create_reader();
        // readEntries answers in batches (100 in Chromium) until it answers none.
        loop {
            let batch = JsFuture::from(Promise::new(&mut |resolve, reject| {
                let _ = reader.read_entries_with_callback_and_callback(&resolve, &reject);
            }))
            .await;
            let Ok(batch) = batch else { break };
            let batch: Array = batch.unchecked_into();
            if batch.length() == 0 {
                break;
            }
            for entry in batch.iter() {
                let entry: FileSystemEntry = entry.unchecked_into();
                if entry.is_directory() {
                    folders.push(entry);
                } else if let Some(file) = file_of(&entry).await {
                    let path = entry.full_path().trim_start_matches('/').to_string();
                    out.push((file, Some(path)));
                    if out.len() >= MAX_FILES {
                        return;
                    }
                }
            }
        }
    }
}

async fn file_of(entry: &FileSystemEntry) -> Option<File> {
    let entry: &FileSystemFileEntry = entry.unchecked_ref();
    let file = JsFuture::from(Promise::new(&mut |resolve, reject| {
        entry.file_with_callback_and_callback(&resolve, &reject);
    }))
    .await
    .ok()?;
    file.dyn_into::<File>().ok()
}
