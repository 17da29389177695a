//! The queue of files a widget uploads: plans each file, starts a few at a time and
//! routes the person's cancel to the right upload.

use crate::browser::api::Api;
use crate::browser::driver::{Driver, DriverOptions, Launch, OnUpdate};
use crate::browser::resume::prepare;
use crate::browser::resume_store::ResumeStore;
use crate::browser::token::Tokens;
use crate::core::wire::ErrorCode;
use crate::core::{
    ChecksumMode, EngineConfig, FailCode, FailReason, FileStatus, FileView, Plan, PlanConfig,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use web_sys::File;

/// Settings of a widget's uploads.
#[derive(Clone)]
pub struct UploaderConfig {
    /// Base URL of the companion server's API; empty for the page's own origin.
    pub api_base: String,
    /// Where bearer tokens for the API come from.
    pub tokens: Tokens,
    /// How files are cut into parts.
    pub plan: PlanConfig,
    /// Scheduling and retries within one file.
    pub engine: EngineConfig,
    /// How storage checks new uploads' bytes. Default SHA-256 per part.
    pub checksum: ChecksumMode,
    /// Files uploading at once; the others wait as `queued`. Default 4. A file of one
    /// part counts a quarter, one up to 1 MiB a sixteenth (see [`shares`]).
    pub max_active_files: usize,
    /// How long an unfinished upload can be resumed. Default 7 days.
    pub resume_lifetime: Duration,
}

impl Default for UploaderConfig {
    fn default() -> Self {
        UploaderConfig {
            api_base: String::new(),
            tokens: Tokens::fixed(None),
            plan: PlanConfig::default(),
            engine: EngineConfig::default(),
            checksum: ChecksumMode::default(),
            max_active_files: 4,
            resume_lifetime: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A slot of `max_active_files` is cut into this many shares. A small file takes few:
/// its create and complete go in batches with other small files', which form only when
/// many run at once, and its one short PUT waits mostly on round trips. Measured with
/// 1,000 files of 4 KiB into Garage: 4 files at once made 75 files/s, 64 made 88-98.
const SHARES_PER_SLOT: usize = 16;

/// Files up to this size take one share: 64 of them at the default of 4 slots hold at
/// most 64 MiB in memory while they are hashed.
const TINY_FILE: u64 = 1024 * 1024;

/// The shares of a slot the file of `plan` takes: one for a tiny file, a quarter slot
/// for another file of one part, the whole slot for a file of many parts.
fn shares(plan: &Plan) -> usize {
    match plan.part_count {
        0 | 1 if plan.file_size <= TINY_FILE => 1,
        0 | 1 => SHARES_PER_SLOT / 4,
        _ => SHARES_PER_SLOT,
    }
}

/// Identifies a file within one uploader.
pub type FileKey = usize;

enum Slot {
    /// Looking for a resume record.
    Preparing,
    Queued(Box<Launch>),
    Running(Driver),
    Over,
}

struct Entry {
    key: FileKey,
    file: File,
    /// `file.size()`, read once: on a picked file each read may ask the browser process.
    size: u64,
    slot: Slot,
    on_update: OnUpdate,
}

struct Inner {
    config: UploaderConfig,
    api: Api,
    entries: Vec<Entry>,
    store: Option<Rc<ResumeStore>>,
    /// Set by [`Uploader::shutdown`]: nothing starts any more.
    stopped: bool,
    /// Aborts the API calls in flight at shutdown.
    calls: Option<web_sys::AbortController>,
    /// Set by "pause all": files that start later start paused.
    paused_all: bool,
    /// The key of the next file added.
    next_key: FileKey,
}

impl Inner {
    fn api_for(config: &UploaderConfig, calls: &Option<web_sys::AbortController>) -> Api {
        let api = Api::new(config.api_base.clone(), config.tokens.clone());
        match calls {
            Some(c) => api.with_signal(c.signal()),
            None => api,
        }
    }
}

/// A queue of uploads. Cloning gives another handle to the same queue.
#[derive(Clone)]
pub struct Uploader(Rc<RefCell<Inner>>);

impl Uploader {
    /// An empty queue.
    pub fn new(config: UploaderConfig) -> Self {
        let calls = web_sys::AbortController::new().ok();
        let api = Inner::api_for(&config, &calls);
        Uploader(Rc::new(RefCell::new(Inner {
            config,
            api,
            entries: Vec::new(),
            store: None,
            stopped: false,
            calls,
            paused_all: false,
            next_key: 0,
        })))
    }

    /// Settings for the files added from now on; running files keep theirs.
    pub fn set_config(&self, config: UploaderConfig) {
        let mut inner = self.0.borrow_mut();
        inner.api = Inner::api_for(&config, &inner.calls);
        inner.config = config;
    }

    /// Stops every upload without cancelling it (the element left the page): PUTs are
    /// aborted and nothing new starts, but storage and the resume records keep what was
    /// stored, so the same files go on from there when picked again.
    pub fn shutdown(&self) {
        let drivers = {
            let mut inner = self.0.borrow_mut();
            inner.stopped = true;
            if let Some(calls) = &inner.calls {
                calls.abort();
            }
            inner
                .entries
                .iter_mut()
                .filter_map(|e| match std::mem::replace(&mut e.slot, Slot::Over) {
                    Slot::Running(d) => Some(d),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        drivers.iter().for_each(Driver::shutdown);
    }

    /// Whether `shutdown` was called: the element left the page.
    pub fn is_shut_down(&self) -> bool {
        self.0.borrow().stopped
    }

    /// The IndexedDB store of resume records, opened on first use; `None` where the
    /// browser has no IndexedDB (private modes), in which case uploads just don't resume.
    pub async fn store(&self) -> Option<Rc<ResumeStore>> {
        if let Some(store) = self.0.borrow().store.clone() {
            return Some(store);
        }
        let store = Rc::new(ResumeStore::open().await.ok()?);
        self.0.borrow_mut().store = Some(store.clone());
        Some(store)
    }

    /// Adds a file; `on_update` receives its view after every change.
    pub fn add(&self, file: File, size: u64, on_update: OnUpdate) -> FileKey {
        let key = {
            let mut inner = self.0.borrow_mut();
            // Not the length: cleared entries leave, and keys must never repeat.
            let key = inner.next_key;
            inner.next_key += 1;
            inner.entries.push(Entry {
                key,
                file: file.clone(),
                size,
                slot: Slot::Over,
                on_update,
            });
            key
        };
        self.start(key);
        key
    }

    /// Tries a failed file again, from what storage already holds of it.
    /// Says whether it did: only a file whose upload is over can go again. A driver that
    /// just ended counts as over, though its end is reported a moment later.
    pub fn retry(&self, key: FileKey) -> bool {
        let over = self.0.borrow().entries.iter().any(|e| {
            e.key == key
                && match &e.slot {
                    Slot::Over => true,
                    Slot::Running(d) => d.is_over(),
                    _ => false,
                }
        });
        if over {
            self.start(key);
        }
        over
    }

    /// Plans the file of `key` and looks for its resume record, then queues it.
    fn start(&self, key: FileKey) {
        let (file, size, on_update, plan_config) = {
            let inner = self.0.borrow();
            let Some(entry) = inner.entries.iter().find(|e| e.key == key) else {
                return;
            };
            (
                entry.file.clone(),
                entry.size,
                entry.on_update.clone(),
                inner.config.plan.clone(),
            )
        };
        let plan = match Plan::for_file(size, &plan_config) {
            Ok(plan) => plan,
            Err(e) => {
                // Queued first, so that a retry that fails again still reads as an end.
                on_update(FileView::queued(size));
                let code = FailCode::Server(ErrorCode::FileTooLarge);
                on_update(FileView::failed(
                    size,
                    code,
                    FailReason::told(format!("This file cannot be uploaded: {e}.")),
                ));
                return;
            }
        };
        on_update(FileView::queued(size));
        if let Some(entry) = self
            .0
            .borrow_mut()
            .entries
            .iter_mut()
            .find(|e| e.key == key)
        {
            entry.slot = Slot::Preparing;
        }
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (api, lifetime) = {
                let inner = me.0.borrow();
                (inner.api.clone(), inner.config.resume_lifetime)
            };
            // A one-part file has nothing to resume (its one part is the part in flight):
            // it skips the fingerprint and IndexedDB, which small files would wait on.
            let launch = if plan.part_count <= 1 {
                Launch::fresh(file, plan)
            } else {
                let store = me.store().await;
                prepare(file, plan, &api, store, lifetime).await
            };
            if let Some(entry) = me.0.borrow_mut().entries.iter_mut().find(|e| e.key == key) {
                // A file cancelled while it was being prepared stays cancelled.
                if matches!(entry.slot, Slot::Preparing) {
                    entry.slot = Slot::Queued(Box::new(launch));
                }
            }
            me.schedule();
        });
    }

    /// Lets go of a file whose upload is over (its row was cleared): the queue keeps
    /// no reference to it any more.
    pub fn forget(&self, key: FileKey) {
        self.0
            .borrow_mut()
            .entries
            .retain(|e| e.key != key || !matches!(e.slot, Slot::Over));
    }

    /// Pauses a file that is uploading.
    pub fn pause(&self, key: FileKey) {
        if let Some(driver) = self.driver(key) {
            driver.pause();
        }
    }

    /// Resumes a paused file.
    pub fn resume(&self, key: FileKey) {
        if let Some(driver) = self.driver(key) {
            driver.resume();
        }
    }

    /// Pauses every file that is uploading.
    pub fn pause_all(&self) {
        self.0.borrow_mut().paused_all = true;
        self.running().iter().for_each(Driver::pause);
    }

    /// Resumes every paused file.
    pub fn resume_all(&self) {
        self.0.borrow_mut().paused_all = false;
        self.running().iter().for_each(Driver::resume);
    }

    /// Passes the browser's online/offline state to every running upload.
    pub fn set_online(&self, online: bool) {
        for driver in self.running() {
            driver.set_online(online);
        }
    }

    fn driver(&self, key: FileKey) -> Option<Driver> {
        self.0
            .borrow()
            .entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| match &e.slot {
                Slot::Running(d) => Some(d.clone()),
                _ => None,
            })
    }

    fn running(&self) -> Vec<Driver> {
        let inner = self.0.borrow();
        inner
            .entries
            .iter()
            .filter_map(|e| match &e.slot {
                Slot::Running(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    /// Cancels a file, whether it is uploading or still queued.
    pub fn cancel(&self, key: FileKey) {
        let action = {
            let mut inner = self.0.borrow_mut();
            let Some(entry) = inner.entries.iter_mut().find(|e| e.key == key) else {
                return;
            };
            match std::mem::replace(&mut entry.slot, Slot::Over) {
                Slot::Running(driver) => {
                    entry.slot = Slot::Running(driver.clone());
                    Some(Ok(driver))
                }
                Slot::Queued(_) | Slot::Preparing => {
                    Some(Err((entry.size, entry.on_update.clone())))
                }
                Slot::Over => None,
            }
        };
        match action {
            Some(Ok(driver)) => driver.cancel(),
            Some(Err((size, on_update))) => {
                on_update(FileView {
                    status: FileStatus::Cancelled,
                    ..FileView::queued(size)
                });
            }
            None => {}
        }
    }

    /// Starts queued files while fewer than the limit are running.
    fn schedule(&self) {
        loop {
            let next = {
                let mut inner = self.0.borrow_mut();
                if inner.stopped {
                    return;
                }
                let used: usize = inner
                    .entries
                    .iter()
                    .map(|e| match &e.slot {
                        Slot::Running(d) => shares(&d.plan()),
                        _ => 0,
                    })
                    .sum();
                let capacity = inner.config.max_active_files.max(1) * SHARES_PER_SLOT;
                let api = inner.api.clone();
                let options = DriverOptions {
                    engine: inner.config.engine.clone(),
                    checksum: inner.config.checksum,
                };
                let Some(entry) = inner
                    .entries
                    .iter_mut()
                    .find(|e| matches!(e.slot, Slot::Queued(..)))
                else {
                    return;
                };
                // In order: a file that does not fit yet holds back the ones after it.
                if let Slot::Queued(launch) = &entry.slot {
                    if used + shares(&launch.plan) > capacity {
                        return;
                    }
                }
                let Slot::Queued(launch) = std::mem::replace(&mut entry.slot, Slot::Over) else {
                    return;
                };
                (entry.key, launch, api, options, entry.on_update.clone())
            };
            let (key, launch, api, options, on_update) = next;
            let me = self.clone();
            let on_finish = Box::new(move || me.finished(key));
            let driver = Driver::start(*launch, api, options, on_update, on_finish);
            if self.0.borrow().paused_all {
                driver.pause();
            }
            if let Some(entry) = self
                .0
                .borrow_mut()
                .entries
                .iter_mut()
                .find(|e| e.key == key)
            {
                entry.slot = Slot::Running(driver);
            }
        }
    }

    fn finished(&self, key: FileKey) {
        if let Some(entry) = self
            .0
            .borrow_mut()
            .entries
            .iter_mut()
            .find(|e| e.key == key)
        {
            // A retry may have started the file again since this driver ended.
            if matches!(&entry.slot, Slot::Running(d) if d.is_over()) {
                entry.slot = Slot::Over;
            }
        }
        self.schedule();
    }
}
