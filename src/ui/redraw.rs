//! Row changes reach the screen in batches, at most every [`REDRAW_MS`]. Each row's
//! newest view is stored at once, so the `files` property and the events never lag; the
//! rows, the figures summed over all rows and the live region are told in one batch.
//! With many small files a row changed every few milliseconds, and the browser laid
//! out, painted and checked the visibility of a thousand rows on almost every frame,
//! while a screen reader was handed a sentence per file.

use crate::core::{FileStatus, FileView};
use crate::ui::state::WidgetState;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// How long a change may wait to be shown: quicker than a person follows a list.
const REDRAW_MS: u32 = 100;

/// The batch of row changes not yet shown. Cloning gives another handle to it.
#[derive(Clone)]
pub struct Redraw(Rc<Inner>);

struct Inner {
    state: WidgetState,
    /// Rows whose view changed since the last batch, each once.
    rows: RefCell<Vec<RwSignal<FileView>>>,
    /// Whether a row ended since the last batch.
    ended: Cell<bool>,
    /// The sentences of the files done or failed since the last batch, and whether each
    /// failed.
    endings: RefCell<Vec<(bool, String)>>,
    /// Whether a batch is due.
    armed: Cell<bool>,
}

impl Redraw {
    /// An empty batch for the rows of `state`.
    pub fn new(state: WidgetState) -> Self {
        Redraw(Rc::new(Inner {
            state,
            rows: RefCell::new(Vec::new()),
            ended: Cell::new(false),
            endings: RefCell::new(Vec::new()),
            armed: Cell::new(false),
        }))
    }

    /// Stores `view` as the row's newest now, and shows it with the next batch; a file
    /// done or failed is announced with it, as `sentence`.
    pub fn show(&self, row: RwSignal<FileView>, view: FileView, sentence: Option<String>) {
        let status = view.status;
        let ends = status.is_end();
        let Some(before) = row.try_update_untracked(|v| std::mem::replace(v, view).status) else {
            // A row removed meanwhile has nothing to show.
            return;
        };
        // What the person did (retry, pause, resume, cancel) shows at once; only the
        // uploads' own progress waits for the batch.
        let asked = (before.is_end() && !ends)
            || (before != status
                && (before == FileStatus::Paused
                    || matches!(status, FileStatus::Paused | FileStatus::Cancelled)));
        if let Some(sentence) = sentence {
            let failed = status == FileStatus::Failed;
            self.0.endings.borrow_mut().push((failed, sentence));
        }
        {
            let mut rows = self.0.rows.borrow_mut();
            if !rows.contains(&row) {
                rows.push(row);
            }
        }
        if ends {
            self.0.ended.set(true);
        }
        if asked {
            self.flush();
        } else if !self.0.armed.replace(true) {
            let inner = Rc::downgrade(&self.0);
            wasm_bindgen_futures::spawn_local(async move {
                TimeoutFuture::new(REDRAW_MS).await;
                if let Some(inner) = inner.upgrade() {
                    Redraw(inner).flush();
                }
            });
        }
    }

    /// Shows every stored change now.
    fn flush(&self) {
        self.0.armed.set(false);
        let rows = std::mem::take(&mut *self.0.rows.borrow_mut());
        for row in rows {
            row.notify();
        }
        let state = &self.0.state;
        state.changed.notify();
        if self.0.ended.replace(false) {
            state.ended.notify();
        }
        let endings = std::mem::take(&mut *self.0.endings.borrow_mut());
        let said = state
            .messages
            .try_with_untracked(|m| m.endings(endings))
            .flatten();
        if let Some(text) = said {
            if state.announcement.try_get_untracked().as_deref() != Some(text.as_str()) {
                state.announce(text);
            }
        }
    }
}
