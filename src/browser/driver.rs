//! Runs one file's [`Session`]: executes its commands with the browser's APIs and feeds
//! the outcomes back, arming one timer for the session's next deadline.

use crate::browser::api::Api;
use crate::browser::clock::{now, seed};
use crate::browser::resume_store::RecordKeeper;
use crate::browser::xhr::PartPut;
use crate::browser::{hash, slice};
use crate::core::resume::{Fingerprint, RecordedPart, ResumeRecord};
use crate::core::wire::{
    CompleteUploadRequest, CompleteUploadResponse, CompletedPart, CreateUploadRequest,
    SignPartsRequest,
};
use crate::core::{
    ChecksumMode, Command, EngineConfig, Event, Failure, FileView, Note, PartNumber, Plan,
    ResumeUpdate, Session,
};
use gloo_timers::callback::{Interval, Timeout};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen_futures::spawn_local;
use web_sys::File;

/// How often speed and time left are refreshed while nothing else happens.
const REFRESH: u32 = 500;

/// Settings of one driver.
#[derive(Clone, Debug)]
pub struct DriverOptions {
    /// The engine's scheduling, retry and timeout settings.
    pub engine: EngineConfig,
    /// How storage checks a new upload's bytes; a resumed one keeps its own mode.
    pub checksum: ChecksumMode,
}

/// Called with the file's new view after every change.
pub type OnUpdate = Rc<dyn Fn(FileView)>;

/// Where an upload keeps its resume record, and what goes in it.
#[derive(Clone)]
pub struct Resumable {
    /// Writes the record to IndexedDB.
    pub keeper: RecordKeeper,
    /// The file's fingerprint.
    pub fingerprint: Fingerprint,
    /// The API the upload belongs to.
    pub endpoint: String,
    /// How long a record stays usable.
    pub lifetime: Duration,
}

/// How a driver begins.
pub enum Start {
    /// A new upload.
    Fresh,
    /// Goes on with an upload of which storage already holds `stored`.
    Resume {
        /// The record that found it.
        record: ResumeRecord,
        /// The parts storage confirmed.
        stored: Vec<CompletedPart>,
        /// The upload's checksum mode, as the server reports it.
        checksum: ChecksumMode,
    },
}

/// Everything a driver needs to begin one file.
pub struct Launch {
    /// The file.
    pub file: File,
    /// How it is cut.
    pub plan: Plan,
    /// Fresh or resumed.
    pub start: Start,
    /// Where to keep resume state; `None` where IndexedDB is unavailable.
    pub resumable: Option<Resumable>,
    /// A remark to show on the row (resumed, record discarded).
    pub note: Option<Note>,
}

impl Launch {
    /// A new upload that keeps no resume record.
    pub fn fresh(file: File, plan: Plan) -> Self {
        Launch {
            file,
            plan,
            start: Start::Fresh,
            resumable: None,
            note: None,
        }
    }
}

/// A running upload of one file. Cloning gives another handle to the same upload.
#[derive(Clone)]
pub struct Driver(Rc<RefCell<Inner>>);

struct Inner {
    session: Session,
    /// How this upload's parts are summed.
    checksum: ChecksumMode,
    file: File,
    api: Api,
    puts: HashMap<PartNumber, PartPut>,
    /// The whole file's SHA-256 being streamed, when asked for; dropped, it stops.
    file_hash: Option<hash::FileHashJob>,
    timer: Option<Timeout>,
    ticker: Option<Interval>,
    completed: Option<CompleteUploadResponse>,
    resumable: Option<Resumable>,
    record: Option<ResumeRecord>,
    note: Option<Note>,
    on_update: OnUpdate,
    on_finish: Option<Box<dyn FnOnce()>>,
    /// Set by [`Driver::shutdown`]: nothing more is sent, and late answers are ignored.
    stopped: bool,
}

impl Driver {
    /// Starts uploading `file` as `plan` says. `on_finish` runs once the upload is done,
    /// failed or cancelled.
    pub fn start(
        launch: Launch,
        api: Api,
        options: DriverOptions,
        on_update: OnUpdate,
        on_finish: Box<dyn FnOnce()>,
    ) -> Driver {
        let Launch {
            file,
            plan,
            start,
            resumable,
            note,
        } = launch;
        let (session, record, checksum) = match start {
            Start::Fresh => (
                Session::new(plan, options.engine, seed(), now()),
                None,
                options.checksum,
            ),
            Start::Resume {
                record,
                stored,
                checksum,
            } => {
                let id = record.upload_id.clone();
                let session = Session::resume(
                    plan,
                    options.engine,
                    seed(),
                    now(),
                    id,
                    &stored,
                    &record.parts,
                );
                (session, Some(record), checksum)
            }
        };
        let driver = Driver(Rc::new(RefCell::new(Inner {
            session,
            checksum,
            file,
            api,
            resumable,
            record,
            note,
            puts: HashMap::new(),
            file_hash: None,
            timer: None,
            ticker: None,
            completed: None,
            on_update,
            on_finish: Some(on_finish),
            stopped: false,
        })));
        let weak = Rc::downgrade(&driver.0);
        let ticker = Interval::new(REFRESH, move || with(&weak, |d| d.publish()));
        driver.0.borrow_mut().ticker = Some(ticker);
        if !crate::browser::network::is_online() {
            driver.0.borrow_mut().session.handle(Event::Offline, now());
        }
        driver.pump();
        driver
    }

    /// How the file is cut into parts.
    pub fn plan(&self) -> Plan {
        *self.0.borrow().session.plan()
    }

    /// Whether the upload is done, failed or cancelled.
    pub fn is_over(&self) -> bool {
        self.0.borrow().session.phase().is_terminal()
    }

    /// Cancels the upload: in-flight PUTs are aborted and storage frees the parts.
    pub fn cancel(&self) {
        self.handle(Event::Cancel);
    }

    /// Pauses: in-flight PUTs are aborted, the upload is kept.
    pub fn pause(&self) {
        self.handle(Event::Pause);
    }

    /// Goes on after a pause.
    pub fn resume(&self) {
        self.handle(Event::Resume);
    }

    /// Tells the upload whether the browser is online.
    pub fn set_online(&self, online: bool) {
        self.handle(if online {
            Event::Online
        } else {
            Event::Offline
        });
    }

    /// Stops for good without touching the upload: PUTs are aborted, timers dropped,
    /// answers still on their way ignored; storage and the resume record keep what was
    /// stored, so picking the file again goes on from there.
    pub fn shutdown(&self) {
        let mut inner = self.0.borrow_mut();
        inner.stopped = true;
        inner.puts.clear();
        inner.file_hash = None;
        inner.timer = None;
        inner.ticker = None;
        inner.on_finish = None;
    }

    fn handle(&self, event: Event) {
        if self.0.borrow().stopped {
            return;
        }
        self.0.borrow_mut().session.handle(event, now());
        self.pump();
    }

    fn pump(&self) {
        loop {
            let command = self.0.borrow_mut().session.poll_command();
            match command {
                Some(command) => self.execute(command),
                None => break,
            }
        }
        self.arm_timer();
        self.publish();
        self.finish_if_over();
    }

    fn execute(&self, command: Command) {
        let (file, api, file_size, checksum) = {
            let inner = self.0.borrow();
            let size = inner.session.plan().file_size;
            (inner.file.clone(), inner.api.clone(), size, inner.checksum)
        };
        match command {
            Command::Hash { part, range } => {
                let me = self.clone();
                spawn_local(async move {
                    let result = match slice::slice(&file, range, file_size) {
                        Ok(blob) => hash::part_sum(&blob, checksum).await,
                        Err(e) => Err(e),
                    };
                    me.handle(match result {
                        Ok(checksum) => Event::Hashed { part, checksum },
                        Err(message) => Event::HashFailed { message },
                    });
                });
            }
            Command::HashFile { range } => {
                let blob = match slice::slice(&file, range, file_size) {
                    Ok(blob) => blob,
                    Err(message) => return self.defer(Event::HashFailed { message }),
                };
                let (job, digest) = hash::file_sha256(&blob);
                self.0.borrow_mut().file_hash = Some(job);
                let me = self.clone();
                spawn_local(async move {
                    let result = digest.await;
                    me.0.borrow_mut().file_hash = None;
                    me.handle(match result {
                        Ok(sha256) => Event::FileHashed { sha256 },
                        Err(message) => Event::HashFailed { message },
                    });
                });
            }
            Command::Create { call, parts } => {
                let plan = *self.0.borrow().session.plan();
                let req = CreateUploadRequest {
                    name: file.name(),
                    size: plan.file_size,
                    content_type: file.type_(),
                    last_modified: Some(file.last_modified() as u64),
                    part_size: plan.part_size,
                    parts,
                    checksum: Some(checksum),
                };
                let me = self.clone();
                spawn_local(async move {
                    me.handle(match api.create(&req).await {
                        Ok(res) if res.checksum != checksum => Event::ApiFailed {
                            call,
                            failure: refused("The server does not offer this checksum mode."),
                        },
                        Ok(res)
                            if res.part_count == plan.part_count
                                && res.part_size == plan.part_size =>
                        {
                            Event::Created {
                                call,
                                upload_id: res.upload_id,
                                parts: res.parts,
                            }
                        }
                        Ok(_) => Event::ApiFailed {
                            call,
                            failure: refused("The server answered with a different part plan."),
                        },
                        Err(failure) => Event::ApiFailed { call, failure },
                    });
                });
            }
            Command::Sign {
                call,
                upload_id,
                parts,
            } => {
                let me = self.clone();
                spawn_local(async move {
                    me.handle(
                        match api.sign(&upload_id, &SignPartsRequest { parts }).await {
                            Ok(res) => Event::Signed {
                                call,
                                parts: res.parts,
                            },
                            Err(failure) => Event::ApiFailed { call, failure },
                        },
                    );
                });
            }
            Command::Put {
                part,
                range,
                url,
                headers,
            } => self.put(part, range, &url, &headers, &file),
            Command::CancelPut { part } => {
                let put = self.0.borrow_mut().puts.remove(&part);
                if let Some(put) = put {
                    put.abort();
                }
            }
            Command::Complete {
                call,
                upload_id,
                parts,
                crc64nvme,
                sha256,
            } => {
                let me = self.clone();
                let req = CompleteUploadRequest {
                    parts,
                    crc64nvme,
                    sha256,
                };
                spawn_local(async move {
                    match api.complete(&upload_id, &req).await {
                        Ok(res) => {
                            me.0.borrow_mut().completed = Some(res);
                            me.handle(Event::Completed { call });
                        }
                        Err(failure) => me.handle(Event::ApiFailed { call, failure }),
                    }
                });
            }
            Command::Persist(update) => self.persist(update),
            Command::Abort { upload_id } => {
                // Best effort: the server's sweep frees what a failed abort leaves behind.
                spawn_local(async move {
                    let _ = api.abort(&upload_id).await;
                });
            }
        }
    }

    fn put(
        &self,
        part: PartNumber,
        range: crate::core::ByteRange,
        url: &crate::core::SignedUrl,
        headers: &std::collections::BTreeMap<String, String>,
        file: &File,
    ) {
        let file_size = self.0.borrow().session.plan().file_size;
        let blob = match slice::slice(file, range, file_size) {
            Ok(blob) => blob,
            Err(message) => return self.defer(Event::HashFailed { message }),
        };
        let (weak_progress, weak_done) = (Rc::downgrade(&self.0), Rc::downgrade(&self.0));
        let started = PartPut::start(
            url,
            headers,
            &blob,
            move |sent| {
                with(&weak_progress, |d| {
                    d.handle(Event::PutProgress { part, sent })
                })
            },
            move |outcome| {
                with(&weak_done, |d| {
                    d.0.borrow_mut().puts.remove(&part);
                    d.handle(match outcome {
                        Ok(etag) => Event::PutSucceeded { part, etag },
                        Err(failure) => Event::PutFailed { part, failure },
                    })
                })
            },
        );
        match started {
            Ok(put) => {
                self.0.borrow_mut().puts.insert(part, put);
            }
            Err(failure) => self.defer(Event::PutFailed { part, failure }),
        }
    }

    /// Applies a change to the resume record and hands it to the keeper.
    fn persist(&self, update: ResumeUpdate) {
        let mut inner = self.0.borrow_mut();
        let Some(resumable) = inner.resumable.clone() else {
            return;
        };
        let plan = *inner.session.plan();
        let next = match update {
            ResumeUpdate::Started { upload_id } => {
                let lifetime = resumable.lifetime.as_millis() as u64;
                let now_ms = js_sys::Date::now() as u64;
                Some(ResumeRecord::new(
                    resumable.fingerprint.clone(),
                    resumable.endpoint.clone(),
                    upload_id,
                    &plan,
                    now_ms,
                    lifetime,
                ))
            }
            ResumeUpdate::PartStored { part, etag, sum } => {
                let Some(mut record) = inner.record.take() else {
                    return;
                };
                record.record_part(RecordedPart {
                    part_number: part,
                    etag,
                    sum,
                });
                Some(record)
            }
            ResumeUpdate::Forget => None,
        };
        inner.record = next.clone();
        drop(inner);
        resumable.keeper.save(next);
    }

    /// Feeds an event back on the next turn of the event loop, never from inside `pump`.
    fn defer(&self, event: Event) {
        let me = self.clone();
        spawn_local(async move { me.handle(event) });
    }

    fn arm_timer(&self) {
        let deadline = self.0.borrow().session.poll_timeout();
        let timer = deadline.map(|at| {
            let wait = at.saturating_since(now()).as_millis() as u32;
            let weak = Rc::downgrade(&self.0);
            Timeout::new(wait, move || {
                with(&weak, |d| {
                    d.0.borrow_mut().session.handle_timeout(now());
                    d.pump();
                })
            })
        });
        // Dropping the previous Timeout cancels it.
        self.0.borrow_mut().timer = timer;
    }

    fn publish(&self) {
        let (view, on_update) = {
            let inner = self.0.borrow();
            let snapshot = inner.session.snapshot(now());
            let upload_id = inner.session.upload_id().map(|id| id.0.clone());
            let completed = inner
                .completed
                .as_ref()
                .map(|c| (&c.file, c.download_url.as_str()));
            let mut view = FileView::of(&snapshot, upload_id, completed);
            if view.note.is_none() && !snapshot.phase.is_terminal() {
                view.note = inner.note.clone();
            }
            (view, inner.on_update.clone())
        };
        on_update(view);
    }

    fn finish_if_over(&self) {
        let finish = {
            let mut inner = self.0.borrow_mut();
            if !inner.session.phase().is_terminal() {
                return;
            }
            inner.ticker = None;
            inner.timer = None;
            inner.file_hash = None;
            inner.on_finish.take()
        };
        if let Some(finish) = finish {
            spawn_local(async move { finish() });
        }
    }
}

fn with(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&Driver)) {
    if let Some(rc) = weak.upgrade() {
        f(&Driver(rc));
    }
}

fn refused(message: &str) -> Failure {
    Failure::Status {
        status: 400,
        retry_after: None,
        message: Some(message.into()),
        code: None,
    }
}
