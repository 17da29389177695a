//! This element's rows by the ids the server gave their uploads and files, so that a
//! live event finds its row at once: with a thousand rows, looking through all of them
//! for each of the three events of every file made a large pick quadratic.

use crate::core::FileView;
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;

/// A row's view, as its upload updates it.
type Row = RwSignal<FileView>;

/// The rows by upload id (every upload a row made, retries included) and by file id.
#[derive(Default)]
pub struct OwnRows {
    uploads: RefCell<HashMap<String, Row>>,
    files: RefCell<HashMap<String, Row>>,
}

impl OwnRows {
    /// Notes the ids in the row's newest view.
    pub fn saw(&self, row: Row, view: &FileView) {
        let note = |map: &RefCell<HashMap<String, Row>>, id: &String| {
            let mut map = map.borrow_mut();
            if !map.contains_key(id) {
                map.insert(id.clone(), row);
            }
        };
        if let Some(upload) = &view.upload_id {
            note(&self.uploads, upload);
        }
        if let Some(file) = &view.file {
            note(&self.files, &file.id.0);
        }
    }

    /// The row whose upload this was.
    pub fn by_upload(&self, id: &str) -> Option<Row> {
        self.uploads.borrow().get(id).copied()
    }

    /// The row that stored this file.
    pub fn by_file(&self, id: &str) -> Option<Row> {
        self.files.borrow().get(id).copied()
    }

    /// Forgets the rows that `keep` refuses (rows cleared from the list).
    pub fn retain(&self, keep: impl Fn(&Row) -> bool) {
        self.uploads.borrow_mut().retain(|_, row| keep(row));
        self.files.borrow_mut().retain(|_, row| keep(row));
    }
}
