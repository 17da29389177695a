//! The element's events (`partway-add`, `-reject`, `-progress`, `-complete`, `-error`,
//! `-cancel`, `-idle`), derived from each row's views. Details cross into JavaScript
//! through serde-wasm-bindgen.

use crate::core::i18n::Messages;
use crate::core::wire::FileInfo;
use crate::core::{FileStatus, FileView};
use leptos::prelude::*;
use serde::Serialize;
use std::cell::Cell;
use std::rc::Rc;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

/// Progress events per file come at most this often (4 per second).
const PROGRESS_EVERY_MS: f64 = 250.0;

/// `partway-add`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Added<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub size: u64,
    #[serde(rename = "type")]
    pub mime: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_path: Option<&'a str>,
}

/// `partway-reject`.
#[derive(Serialize)]
pub struct Rejected<'a> {
    pub name: &'a str,
    pub size: u64,
    pub code: &'a str,
    pub message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Progressed<'a> {
    id: &'a str,
    bytes_sent: u64,
    bytes_total: u64,
    percent: u8,
    bytes_per_second: f64,
    seconds_left: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Completed<'a> {
    id: &'a str,
    file: &'a FileInfo,
    download_url: &'a str,
}

#[derive(Serialize)]
struct Failed<'a> {
    id: &'a str,
    code: &'a str,
    message: &'a str,
    retryable: bool,
}

#[derive(Serialize)]
struct Cancelled<'a> {
    id: &'a str,
}

/// `partway-idle`, and the counts behind it.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Tally {
    pub done: u32,
    pub failed: u32,
    pub cancelled: u32,
}

/// Dispatches the element's events. Each goes out on a later microtask, so a listener
/// that calls back into the element never finds it in the middle of a change.
#[derive(Clone)]
pub struct Emitter {
    host: HtmlElement,
    tally: Rc<Cell<Tally>>,
    active: Rc<Cell<u32>>,
}

impl Emitter {
    /// Events of `host`.
    pub fn new(host: HtmlElement) -> Self {
        Emitter {
            host,
            tally: Rc::default(),
            active: Rc::default(),
        }
    }

    /// Sends `name` with `detail`, bubbling and crossing shadow roots.
    pub fn emit(&self, name: &'static str, detail: &impl Serialize) {
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let Ok(detail) = detail.serialize(&serializer) else {
            return;
        };
        let host = self.host.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let init = CustomEventInit::new();
            init.set_bubbles(true);
            init.set_composed(true);
            init.set_detail(&detail);
            if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
                let _ = host.dispatch_event(&event);
            }
        });
    }

    /// A file starts (or starts again): it counts as work until it ends.
    pub fn started(&self) {
        self.active.set(self.active.get() + 1);
    }

    /// A pick has been handed over whole (it counted as work while it was): the element
    /// is idle if nothing else runs, and says so if the pick started any file.
    pub fn pick_settled(&self, started_any: bool) {
        let left = self.active.get().saturating_sub(1);
        self.active.set(left);
        if left == 0 && started_any {
            self.emit("partway-idle", &self.tally.get());
        }
    }

    /// `clear()`: counts start again from zero.
    pub fn reset_tally(&self) {
        self.tally.set(Tally::default());
    }

    /// A failed row goes again: it no longer counts as failed.
    pub fn retried(&self) {
        let mut t = self.tally.get();
        t.failed = t.failed.saturating_sub(1);
        self.tally.set(t);
        self.started();
    }

    /// A retry that could not start after all: the counts go back.
    pub fn unretried(&self) {
        let mut t = self.tally.get();
        t.failed += 1;
        self.tally.set(t);
        self.active.set(self.active.get().saturating_sub(1));
    }

    fn ended(&self, count: impl FnOnce(&mut Tally)) {
        let mut t = self.tally.get();
        count(&mut t);
        self.tally.set(t);
        let left = self.active.get().saturating_sub(1);
        self.active.set(left);
        if left == 0 {
            self.emit("partway-idle", &t);
        }
    }
}

/// Turns one row's views into events: throttled progress that never goes back, then
/// exactly one of complete, error or cancel.
pub struct RowEvents {
    id: String,
    emitter: Emitter,
    messages: RwSignal<Messages>,
    status: Cell<FileStatus>,
    percent: Cell<u8>,
    sent: Cell<u64>,
    last_progress_ms: Cell<f64>,
}

impl RowEvents {
    /// Events for the row `id`, worded in `messages`.
    pub fn new(id: String, emitter: Emitter, messages: RwSignal<Messages>) -> Self {
        RowEvents {
            id,
            emitter,
            messages,
            status: Cell::new(FileStatus::Queued),
            percent: Cell::new(0),
            sent: Cell::new(0),
            last_progress_ms: Cell::new(f64::NEG_INFINITY),
        }
    }

    /// Looks at the row's newest view and says what changed.
    pub fn saw(&self, view: &FileView) {
        let before = self.status.replace(view.status);
        if before.is_end() && !view.status.is_end() {
            // Retried: bytes count again from what storage holds, but the percent shown
            // to the page never goes back.
            self.sent.set(0);
        }
        match view.status {
            FileStatus::Done if before != FileStatus::Done => {
                self.progress(view, true);
                if let Some(file) = &view.file {
                    let url = view.download_url.as_deref().unwrap_or_default();
                    self.emitter.emit(
                        "partway-complete",
                        &Completed {
                            id: &self.id,
                            file,
                            download_url: url,
                        },
                    );
                }
                self.emitter.ended(|t| t.done += 1);
            }
            FileStatus::Failed if before != FileStatus::Failed => {
                let code = view.error_code;
                let message = self
                    .messages
                    .try_with_untracked(|m| m.failure(code, view.error.as_ref()))
                    .unwrap_or_default();
                self.emitter.emit(
                    "partway-error",
                    &Failed {
                        id: &self.id,
                        code: code.map_or("unknown", |c| c.as_str()),
                        message: &message,
                        retryable: code.is_some_and(|c| c.retryable()),
                    },
                );
                self.emitter.ended(|t| t.failed += 1);
            }
            FileStatus::Cancelled if before != FileStatus::Cancelled => {
                self.emitter
                    .emit("partway-cancel", &Cancelled { id: &self.id });
                self.emitter.ended(|t| t.cancelled += 1);
            }
            FileStatus::Hashing | FileStatus::Uploading => self.progress(view, false),
            _ => {}
        }
    }

    fn progress(&self, view: &FileView, last: bool) {
        let now = js_sys::Date::now();
        let (sent, percent) = if last {
            (view.total, 100)
        } else {
            (view.shown, view.percent().max(self.percent.get()))
        };
        let moved = sent != self.sent.get() || percent != self.percent.get();
        if !last && (!moved || now - self.last_progress_ms.get() < PROGRESS_EVERY_MS) {
            return;
        }
        self.last_progress_ms.set(now);
        self.percent.set(percent);
        self.sent.set(sent);
        self.emitter.emit(
            "partway-progress",
            &Progressed {
                id: &self.id,
                bytes_sent: sent,
                bytes_total: view.total,
                percent,
                bytes_per_second: if last { 0.0 } else { view.speed },
                seconds_left: if last {
                    Some(0.0)
                } else {
                    view.eta.map(|d| d.as_secs_f64())
                },
            },
        );
    }
}
