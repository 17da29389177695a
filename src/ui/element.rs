//! The `<partway-upload>` custom element and `mount()`, the two ways a page embeds the
//! widget. `element.js` is the class shell; [`Host`] is one connected element: its
//! shadow root, its uploads and its events.

use crate::browser::api::Api;
use crate::browser::clock::now;
use crate::browser::live::LiveFeed;
use crate::browser::token::Tokens;
use crate::browser::uploader::Uploader;
use crate::core::i18n::Messages;
use crate::core::restrict::{Held, Rejection, Restrictions};
use crate::core::wire::{EventKind, RemoteEvent};
use crate::core::{FailCode, FailReason, FileStatus, FileView, Pace};
use crate::ui::drop_zone::Picked;
use crate::ui::events::{Added, Emitter, Rejected, RowEvents};
use crate::ui::own_rows::OwnRows;
use crate::ui::redraw::Redraw;
use crate::ui::settings;
use crate::ui::state::{FileItem, Snapshot, WidgetState};
use crate::ui::widget::{RetryRow, Widget};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{File, HtmlElement, ShadowRoot};

/// The element's tag name.
pub const TAG: &str = "partway-upload";

/// The widget's styles, inside every shadow root.
const STYLES: &str = include_str!("widget.css");

#[wasm_bindgen(module = "/src/ui/element.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineElement)]
    fn define_element(tag: &str, connect: &Closure<dyn FnMut(HtmlElement, ShadowRoot) -> Host>);
}

/// Registers `<partway-upload>` as soon as the module loads (once, even if loaded twice).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let connect = Closure::<dyn FnMut(HtmlElement, ShadowRoot) -> Host>::new(Host::connect);
    define_element(TAG, &connect);
    // The class calls it for every element the page ever connects.
    connect.forget();
}

thread_local! {
    static NEXT_ROW: Cell<u64> = const { Cell::new(1) };
}

fn next_row_id() -> String {
    NEXT_ROW.with(|n| {
        let id = n.get();
        n.set(id + 1);
        format!("pw{id}")
    })
}

/// One connected element. Dropping it (the page removed the element) stops its uploads
/// without cancelling them: their resume records stay for the next visit.
#[wasm_bindgen]
pub struct Host {
    // Fields drop in order: the views go before the state they read.
    _mount: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
    core: Rc<Core>,
}

struct Core {
    host: HtmlElement,
    uploader: Uploader,
    tokens: Tokens,
    state: WidgetState,
    emitter: Emitter,
    owner: Owner,
    /// Picked files not yet handed over, in pick order.
    pending: RefCell<VecDeque<(File, Option<String>)>>,
    /// Whether a task is handing `pending` over.
    adding: Cell<bool>,
    /// How many of `pending` the next task hands over.
    pace: Cell<Pace>,
    /// The live feed, while the `live` attribute is on.
    live: RefCell<Option<LiveFeed>>,
    /// Row changes not yet shown.
    redraw: Redraw,
    /// The rows by their uploads' and files' ids.
    own: Rc<OwnRows>,
}

/// How many picked files a task hands over. Each costs the page about 0.5 ms (its size is
/// a synchronous call into the browser, its row and upload start): a pick of thousands
/// done at once froze the page for over half a second, and fixed chunks of 50 ran 55-100
/// ms on a busy 2-core machine. So chunks are sized to a budget per task, the first (run
/// in the pick's own task) small. Never below 10: a task stalled by a busy machine would
/// otherwise shrink them to one file a task, handing files over slower than they upload.
fn add_pace() -> Pace {
    Pace::new(16, 10, 200, Duration::from_millis(10))
}

#[wasm_bindgen]
impl Host {
    fn connect(host: HtmlElement, root: ShadowRoot) -> Host {
        root.set_inner_html("");
        let document = host
            .owner_document()
            .or_else(|| web_sys::window()?.document());
        let container = document.as_ref().and_then(|d| {
            let style = d.create_element("style").ok()?;
            style.set_text_content(Some(STYLES));
            root.append_child(&style).ok()?;
            let div = d.create_element("div").ok()?;
            root.append_child(&div).ok()?;
            div.dyn_into::<HtmlElement>().ok()
        });
        let container = container.unwrap_or_else(|| host.clone());

        let owner = Owner::new();
        let tokens = settings::tokens(&host);
        let uploader = Uploader::new(settings::uploader_config(&host, tokens.clone()));
        let state = owner.with(|| WidgetState::new(messages_of(&host)));
        let core = Rc::new(Core {
            emitter: Emitter::new(host.clone()),
            host,
            uploader,
            tokens,
            state,
            owner,
            pending: RefCell::new(VecDeque::new()),
            adding: Cell::new(false),
            pace: Cell::new(add_pace()),
            live: RefCell::new(None),
            redraw: Redraw::new(state),
            own: Rc::default(),
        });
        core.attribute_changed("live");
        core.attribute_changed("disabled");
        core.attribute_changed("accept");
        core.attribute_changed("multiple");
        let mount = {
            // Weak: the views live in the core's owner, so a strong handle would be a cycle.
            let weak = Rc::downgrade(&core);
            let add = SendWrapper::new(move |files: Picked| {
                if let Some(core) = weak.upgrade() {
                    core.add_files(files);
                }
            });
            let weak = Rc::downgrade(&core);
            let retry = RetryRow(SendWrapper::new(Rc::new(move |id: &str| {
                if let Some(core) = weak.upgrade() {
                    core.retry(id);
                }
            })));
            let uploader = core.uploader.clone();
            let state = core.state;
            core.owner.with(move || {
                leptos::mount::mount_to(container, move || {
                    let add = add.clone();
                    view! {
                        <Widget uploader=uploader.clone() state=state retry=retry.clone()
                            add=move |f| (*add)(f) />
                    }
                    .into_any()
                })
            })
        };
        Host {
            _mount: mount,
            core,
        }
    }

    /// An observed attribute (or the `messages` property) changed.
    #[wasm_bindgen(js_name = attributeChanged)]
    pub fn attribute_changed(&self, name: &str) {
        self.core.attribute_changed(name);
    }

    /// Adds files as if picked (restrictions apply).
    #[wasm_bindgen(js_name = addFiles)]
    pub fn add_files(&self, files: Vec<File>) {
        self.core
            .add_files(files.into_iter().map(|f| (f, None)).collect());
    }

    /// Pauses every upload.
    #[wasm_bindgen(js_name = pauseAll)]
    pub fn pause_all(&self) {
        self.core.uploader.pause_all();
    }

    /// Resumes every paused upload.
    #[wasm_bindgen(js_name = resumeAll)]
    pub fn resume_all(&self) {
        self.core.uploader.resume_all();
    }

    /// Cancels every file that is not finished.
    #[wasm_bindgen(js_name = cancelAll)]
    pub fn cancel_all(&self) {
        for item in self.core.rows() {
            if item.active() {
                self.core.uploader.cancel(item.key);
            }
        }
    }

    /// Tries a failed row again.
    pub fn retry(&self, id: &str) {
        self.core.retry(id);
    }

    /// Removes the finished rows (done, failed, cancelled) and starts the counts of
    /// `partway-idle` again.
    pub fn clear(&self) {
        let state = self.core.state;
        let mut gone = Vec::new();
        state.files.update(|list| {
            let (keep, done): (Vec<_>, Vec<_>) = list.drain(..).partition(FileItem::active);
            *list = keep;
            gone = done;
        });
        for item in gone {
            self.core.uploader.forget(item.key);
        }
        let kept: Vec<_> = state
            .files
            .with_untracked(|list| list.iter().map(|item| item.view).collect());
        self.core.own.retain(|row| kept.contains(row));
        state.shown.set(state.files.with_untracked(Vec::len));
        self.core.emitter.reset_tally();
    }

    /// A snapshot of every row.
    pub fn files(&self) -> JsValue {
        let rows: Vec<Snapshot> = self.core.state.messages.with_untracked(|m| {
            self.core
                .rows()
                .iter()
                .map(|r| Snapshot::of(r, m))
                .collect()
        });
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        rows.serialize(&serializer).unwrap_or(JsValue::NULL)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.core.uploader.shutdown();
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.owner.cleanup();
    }
}

impl Core {
    fn rows(&self) -> Vec<FileItem> {
        self.state.files.try_get_untracked().unwrap_or_default()
    }

    fn attribute_changed(&self, name: &str) {
        let host = &self.host;
        match name {
            "locale" | "messages" => {
                self.state.messages.set(messages_of(host));
                // Rows read the words untracked (a thousand rows subscribed to one signal
                // made every progress update quadratic): tell each row to render again.
                self.state.files.with_untracked(|list| {
                    list.iter().for_each(|f| f.view.notify());
                });
            }
            "disabled" => self
                .state
                .disabled
                .set(settings::flag(host, "disabled", false)),
            "multiple" => self
                .state
                .multiple
                .set(settings::flag(host, "multiple", true)),
            "accept" => self
                .state
                .accept
                .set(settings::attr(host, "accept").unwrap_or_default()),
            "live" => {
                let on = settings::flag(host, "live", false);
                self.state.live.set(on);
                let mut live = self.live.borrow_mut();
                if on != live.is_some() {
                    *live = on.then(|| self.live_feed());
                }
            }
            _ => {}
        }
    }

    /// A feed that announces, as `partway-remote`, the user's changes made elsewhere
    /// (another tab, device or app): changes of this element's own rows are left out.
    fn live_feed(&self) -> LiveFeed {
        let endpoint = settings::attr(&self.host, "endpoint").unwrap_or_default();
        // Tokens of its own: the feed connecting first must not decide which token the
        // uploads start with (they ask `getToken` before their first request).
        let api = Api::new(endpoint, settings::tokens(&self.host));
        let (own, redraw, emitter) = (self.own.clone(), self.redraw.clone(), self.emitter.clone());
        LiveFeed::start(
            api,
            Rc::new(move |event: RemoteEvent| {
                if event.kind == EventKind::FileProcessed {
                    show_processed(&own, &redraw, &event);
                }
                if !made_here(&own, &event) {
                    emitter.emit("partway-remote", &event);
                }
            }),
        )
    }

    /// Takes a pick: its files are handed over in chunks, one task each, in order, after
    /// any earlier pick still being handed over.
    fn add_files(self: &Rc<Self>, mut files: Vec<(File, Option<String>)>) {
        if self.state.disabled.get_untracked() || files.is_empty() {
            return;
        }
        if !self.state.multiple.get_untracked() {
            files.truncate(1);
        }
        self.pending.borrow_mut().extend(files);
        if self.adding.replace(true) {
            return;
        }
        // The pick counts as work until its last file is handed over: files of the first
        // chunks that end at once must not make the element idle in the middle of it.
        self.emitter.started();
        // The first chunk at once, so that `files` lists a small pick as soon as
        // `addFiles()` returns; the rest a task each.
        self.pace.set(add_pace());
        let mut started_any = self.add_next_chunk();
        let core = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            while !core.pending.borrow().is_empty() {
                gloo_timers::future::TimeoutFuture::new(0).await;
                // The element left the page meanwhile: its uploads are stopped.
                if core.uploader.is_shut_down() {
                    break;
                }
                started_any |= core.add_next_chunk();
            }
            core.pending.borrow_mut().clear();
            core.adding.set(false);
            core.emitter.pick_settled(started_any);
        });
    }

    /// Hands over the next files of the picks, as many as the pace allows, and learns
    /// from how long that took; says whether any was accepted.
    fn add_next_chunk(&self) -> bool {
        let chunk: Vec<_> = {
            let mut pending = self.pending.borrow_mut();
            let n = pending.len().min(self.pace.get().size());
            pending.drain(..n).collect()
        };
        let (n, started) = (chunk.len(), now());
        let any = self.add_chunk(chunk);
        let mut pace = self.pace.get();
        pace.took(n, now().saturating_since(started));
        self.pace.set(pace);
        any
    }

    /// Adds one chunk's rows and hands the accepted files to the uploader; says whether
    /// any was accepted.
    fn add_chunk(&self, files: Vec<(File, Option<String>)>) -> bool {
        let restrictions = settings::restrictions(&self.host);
        self.uploader
            .set_config(settings::uploader_config(&self.host, self.tokens.clone()));
        let mut held = self.state.held();
        let (mut items, accepted): (Vec<FileItem>, Vec<Option<Accepted>>) = files
            .into_iter()
            .map(|(file, path)| self.add_one(file, path, &restrictions, &mut held))
            .unzip();
        let mut any = false;
        // Every accepted file of the chunk counts as running before the first is handed
        // over: one that fails at once must not make the element idle.
        for (item, accepted) in items.iter_mut().zip(accepted) {
            if let Some((file, on_update)) = accepted {
                item.key = self.uploader.add(file, item.size, on_update);
                any = true;
            }
        }
        self.state.files.update(|list| list.extend(items));
        self.reveal();
        any
    }

    /// Shows the rows a screenful at a time, yielding to the browser between chunks: a
    /// pick of a thousand files must not freeze the page while it renders (measured: the
    /// longest task at a 1,000-file pick fell from 796 to 543 ms). The list itself holds
    /// every row at once, so limits and `files` never miss one.
    fn reveal(&self) {
        const CHUNK: usize = 40;
        let (files, shown) = (self.state.files, self.state.shown);
        let grow = move || {
            let len = files.try_with_untracked(Vec::len)?;
            let now = shown.try_get_untracked()?;
            (now < len).then(|| shown.set(now + CHUNK))
        };
        if grow().is_some() {
            wasm_bindgen_futures::spawn_local(async move {
                loop {
                    gloo_timers::future::TimeoutFuture::new(0).await;
                    if grow().is_none() {
                        return;
                    }
                }
            });
        }
    }

    /// One file's row: refused by a restriction, or accepted (announced and counted as
    /// running), with what the uploader needs. `held` counts what the rows hold, this
    /// pick included.
    fn add_one(
        &self,
        file: File,
        relative_path: Option<String>,
        restrictions: &Restrictions,
        held: &mut Held,
    ) -> (FileItem, Option<Accepted>) {
        let size = file.size() as u64;
        let item = FileItem {
            // No uploader key until the uploader takes the file.
            key: usize::MAX,
            id: next_row_id(),
            name: file.name(),
            size,
            mime: file.type_(),
            relative_path,
            view: self.owner.with(|| RwSignal::new(FileView::queued(size))),
        };
        match restrictions.check(&item.name, &item.mime, size, *held) {
            Err(rejection) => {
                let message = self.reject(&item.name, size, rejection);
                let code = FailCode::Restricted(rejection);
                item.view
                    .set(FileView::failed(size, code, FailReason::told(message)));
            }
            Ok(()) => {
                held.files += 1;
                held.bytes += size;
                self.emitter.emit(
                    "partway-add",
                    &Added {
                        id: &item.id,
                        name: &item.name,
                        size,
                        mime: &item.mime,
                        relative_path: item.relative_path.as_deref(),
                    },
                );
                self.emitter.started();
                let events =
                    RowEvents::new(item.id.clone(), self.emitter.clone(), self.state.messages);
                let (state, name, view) = (self.state, item.name.clone(), item.view);
                let (redraw, own) = (self.redraw.clone(), self.own.clone());
                let last = Cell::new(FileStatus::Queued);
                let on_update = Rc::new(move |v: FileView| {
                    events.saw(&v);
                    own.saw(view, &v);
                    // Said once, as the file gets there (a retried file may again).
                    let changed = last.replace(v.status) != v.status;
                    let sentence = changed.then(|| ending(&state, &name, &v)).flatten();
                    redraw.show(view, v, sentence);
                });
                return (item, Some((file, on_update)));
            }
        }
        (item, None)
    }

    /// Tells the page and the person why a file was refused; returns the message.
    fn reject(&self, name: &str, size: u64, rejection: Rejection) -> String {
        let messages = self.state.messages.get_untracked();
        let message = match rejection {
            Rejection::TypeNotAccepted => messages.get("rejectType", &[]),
            Rejection::TooLarge(limit) => {
                messages.get("rejectSize", &[("limit", &messages.bytes(limit))])
            }
            Rejection::TooManyFiles(limit) => {
                messages.get("rejectCount", &[("limit", &limit.to_string())])
            }
            Rejection::TotalTooLarge(limit) => {
                messages.get("rejectTotal", &[("limit", &messages.bytes(limit))])
            }
        };
        self.emitter.emit(
            "partway-reject",
            &Rejected {
                name,
                size,
                code: rejection.code(),
                message: &message,
            },
        );
        self.state
            .announce(messages.get("announceRejected", &[("name", name), ("message", &message)]));
        message
    }

    fn retry(&self, id: &str) {
        let Some(item) = self.rows().into_iter().find(|f| f.id == id) else {
            return;
        };
        if item.refused() || item.view.with_untracked(|v| v.status) != FileStatus::Failed {
            return;
        }
        self.uploader
            .set_config(settings::uploader_config(&self.host, self.tokens.clone()));
        // Counted as running again before the uploader's first update can end it.
        self.emitter.retried();
        if !self.uploader.retry(item.key) {
            self.emitter.unretried();
        }
    }
}

/// A file the restrictions let through, and where its views go.
type Accepted = (File, crate::browser::driver::OnUpdate);

/// The sentence that says a file's end through the live region, if it ended so.
fn ending(state: &WidgetState, name: &str, view: &FileView) -> Option<String> {
    state
        .messages
        .try_with_untracked(|messages| match view.status {
            FileStatus::Done => Some(messages.get("announceDone", &[("name", name)])),
            FileStatus::Failed => {
                let reason = messages.failure(view.error_code, view.error.as_ref());
                Some(messages.get("announceFailed", &[("name", name), ("message", &reason)]))
            }
            _ => None,
        })?
}

/// The outcome of a file's checks, on its row (if it is one of this element's).
fn show_processed(own: &OwnRows, redraw: &Redraw, event: &RemoteEvent) {
    let Some(file) = &event.file else { return };
    let Some(row) = own.by_file(&file.id.0) else {
        return;
    };
    if let Some(mut view) = row.try_get_untracked() {
        view.file = Some(file.clone());
        redraw.show(row, view, None);
    }
}

/// Whether this element made the change: an upload of one of its rows started, was
/// cancelled or stored its file. (It never deletes files, so a deletion is news.)
fn made_here(own: &OwnRows, event: &RemoteEvent) -> bool {
    if event.kind == EventKind::FileDeleted {
        return false;
    }
    event
        .upload
        .as_ref()
        .is_some_and(|u| own.by_upload(&u.id.0).is_some())
}

/// The element's words: its locale, under its `messages` overrides.
fn messages_of(host: &HtmlElement) -> Messages {
    let overrides = js_sys::Reflect::get(host, &JsValue::from_str("messages"))
        .ok()
        .and_then(|v| serde_wasm_bindgen::from_value::<HashMap<String, String>>(v).ok())
        .unwrap_or_default();
    Messages::new(&settings::locale(host), overrides)
}
