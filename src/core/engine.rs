//! The upload engine for one file, in the shape of quinn-proto: events go in through
//! [`Session::handle`], decisions come out of [`Session::poll_command`], and
//! [`Session::poll_timeout`] says when to call [`Session::handle_timeout`].
//!
//! The browser driver executes commands (hash a byte range, call the API, PUT a part) and
//! feeds their outcomes back as events. Nothing here waits, reads a clock or draws a
//! random number by itself, so every scenario is a native test under a virtual clock.

use crate::core::checksum::Checksum;
use crate::core::fail::FailCode;
use crate::core::ids::{ByteRange, ETag, PartNumber, SignedUrl, UploadId};
use crate::core::plan::Plan;
use crate::core::progress::{Progress, ProgressSnapshot};
use crate::core::retry::{classify, Decision, Failure};
use crate::core::time::Instant;
use crate::core::wire::{CompletedPart, PartChecksum, SignedPart};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Allowance for clocks and whole-second signing dates when judging a URL expired.
const CLOCK_SLACK: Duration = Duration::from_secs(2);
/// Re-signs after expired URLs allowed in a row for one part.
const MAX_RESIGNS: u32 = 5;

fn expired_too_often(part: PartNumber) -> String {
    format!(
        "Part {part}'s upload URL expired {MAX_RESIGNS} times in a row; the clocks of this computer, \
         the server and storage may disagree, or the server's URL lifetime is too short."
    )
}

/// What the driver must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Compute the SHA-256 of this byte range, then send [`Event::Hashed`].
    Hash { part: PartNumber, range: ByteRange },
    /// `POST /api/uploads`, signing these first parts; then [`Event::Created`].
    Create { parts: Vec<PartChecksum> },
    /// `POST /api/uploads/{id}/parts`; then [`Event::Signed`].
    Sign {
        upload_id: UploadId,
        parts: Vec<PartChecksum>,
    },
    /// PUT the byte range to the URL with exactly these headers; report progress and
    /// the outcome.
    Put {
        part: PartNumber,
        range: ByteRange,
        url: SignedUrl,
        headers: BTreeMap<String, String>,
    },
    /// Abort the PUT in flight for this part; report nothing more for it.
    CancelPut { part: PartNumber },
    /// `POST /api/uploads/{id}/complete`; then [`Event::Completed`].
    Complete {
        upload_id: UploadId,
        parts: Vec<CompletedPart>,
    },
    /// `DELETE /api/uploads/{id}`, so storage frees the parts. Fire and forget.
    Abort { upload_id: UploadId },
    /// Update the resume record (IndexedDB), in the order given.
    Persist(ResumeUpdate),
}

/// A change to the resume record of this upload.
#[derive(Clone, Debug, PartialEq)]
pub enum ResumeUpdate {
    /// The server created the upload: start a record.
    Started { upload_id: UploadId },
    /// Storage confirmed a part.
    PartStored {
        part: PartNumber,
        etag: ETag,
        sha256: Checksum,
    },
    /// Completed or cancelled: nothing to resume any more.
    Forget,
}

/// What happened, as the driver reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A part's checksum is ready.
    Hashed {
        part: PartNumber,
        checksum: Checksum,
    },
    /// The file could not be read (it changed or vanished on disk).
    HashFailed { message: String },
    /// The server created the upload.
    Created {
        upload_id: UploadId,
        parts: Vec<SignedPart>,
    },
    /// The server signed parts.
    Signed { parts: Vec<SignedPart> },
    /// The outstanding API call (create, sign or complete) failed.
    ApiFailed { failure: Failure },
    /// `sent` bytes of the part's current attempt are on the wire.
    PutProgress { part: PartNumber, sent: u64 },
    /// Storage stored the part.
    PutSucceeded { part: PartNumber, etag: ETag },
    /// The part's PUT failed.
    PutFailed { part: PartNumber, failure: Failure },
    /// The server completed the upload.
    Completed,
    /// The person cancelled the upload.
    Cancel,
    /// The person paused the upload: PUTs in flight are aborted, nothing new starts.
    Pause,
    /// The person resumed a paused upload.
    Resume,
    /// The browser reports that the network is gone.
    Offline,
    /// The browser reports that the network is back.
    Online,
}

/// Why a session is holding still.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The person paused it.
    Paused,
    /// The browser is offline; it goes on by itself when the network returns.
    Offline,
}

/// Where the session stands, as the UI shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Hashing the first parts before the server is asked to create the upload.
    Preparing,
    /// Waiting for the server to create the upload.
    Creating,
    /// Parts are going up.
    Uploading,
    /// Every part is stored; waiting for the server to complete the upload.
    Completing,
    /// The file is stored.
    Done,
    /// Stopped for good; the message is for the person, the code for programs.
    Failed {
        /// Why, for programs.
        code: FailCode,
        /// Why, for the person.
        message: String,
    },
    /// Cancelled by the person.
    Cancelled,
}

impl Phase {
    /// Whether nothing more will happen.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Phase::Done | Phase::Failed { .. } | Phase::Cancelled)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum PartState {
    Unhashed,
    Hashing,
    Hashed,
    Signing,
    Ready,
    InFlight { sent: u64 },
    Waiting { until: Instant },
    Done(ETag),
}

#[derive(Clone, Debug)]
struct Url {
    url: SignedUrl,
    headers: BTreeMap<String, String>,
    expires_at: Instant,
    /// Past this, the URL is signed again before a PUT rather than risked.
    use_before: Instant,
}

#[derive(Clone, Debug)]
struct Part {
    range: ByteRange,
    state: PartState,
    checksum: Option<Checksum>,
    url: Option<Url>,
    failures: u32,
    /// Re-signs after PUTs failed on expired URLs: free, but bounded, in case clocks
    /// disagree. Reset when the part is stored.
    resigns: u32,
    /// URLs in a row that expired before they could be used (a lifetime too short for
    /// the queue, or clocks that disagree). Reset when a PUT starts.
    stale: u32,
    /// When the PUT in flight started or last reported progress: it is given up only
    /// after `idle_timeout` without any, however long it takes as a whole.
    moved_at: Instant,
    /// Attempts in all, never earned back: bounds a part that keeps failing half way.
    attempts: u32,
}

#[derive(Clone, Debug, PartialEq)]
enum ApiCall {
    Create,
    Sign(Vec<PartNumber>),
    Complete,
}

/// One file's upload, from first hash to completed object.
#[derive(Debug)]
pub struct Session {
    plan: Plan,
    config: EngineConfig,
    rng: fastrand::Rng,
    phase: Phase,
    upload_id: Option<UploadId>,
    parts: Vec<Part>,
    api: Option<ApiCall>,
    /// When the API call in flight is given up as timed out.
    api_deadline: Option<Instant>,
    api_failures: u32,
    /// Parts allowed in flight now: halved after timeouts and 429/503, grown back by
    /// one per window of successes, never above `max_in_flight`.
    window: usize,
    /// PUTs that succeeded since the window last grew.
    window_successes: usize,
    api_retry_at: Option<Instant>,
    commands: VecDeque<Command>,
    progress: Progress,
    paused: bool,
    offline: bool,
}

/// A summary of the session for the UI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionSnapshot {
    /// Where it stands.
    pub phase: Phase,
    /// Bytes, speed and time left.
    pub progress: ProgressSnapshot,
    /// Part PUTs in flight now.
    pub in_flight: usize,
    /// Parts stored so far.
    pub parts_done: u32,
    /// Why the session holds still, if it does.
    pub hold: Option<Hold>,
}

impl Session {
    /// Starts a session for a planned file. `seed` feeds the backoff jitter.
    pub fn new(plan: Plan, config: EngineConfig, seed: u64, now: Instant) -> Self {
        let parts = plan
            .parts()
            .map(|n| Part {
                range: plan.range(n),
                state: PartState::Unhashed,
                checksum: None,
                url: None,
                failures: 0,
                resigns: 0,
                stale: 0,
                moved_at: now,
                attempts: 0,
            })
            .collect();
        let config = config.normalised();
        let mut session = Session {
            plan,
            window: config.max_in_flight,
            config,
            rng: fastrand::Rng::with_seed(seed),
            phase: Phase::Preparing,
            upload_id: None,
            parts,
            api: None,
            api_deadline: None,
            api_failures: 0,
            window_successes: 0,
            api_retry_at: None,
            commands: VecDeque::new(),
            progress: Progress::new(plan.file_size),
            paused: false,
            offline: false,
        };
        session.step(now);
        session
    }

    /// Continues an upload of which storage already holds `stored` (from the server's
    /// list of parts), sending only the rest.
    pub fn resume(
        plan: Plan,
        config: EngineConfig,
        seed: u64,
        now: Instant,
        upload_id: UploadId,
        stored: &[CompletedPart],
    ) -> Self {
        let mut session = Session::new(plan, config, seed, Instant::default());
        session.commands.clear();
        for p in &mut session.parts {
            p.state = PartState::Unhashed;
        }
        for s in stored {
            if let Some(p) = session.parts.get_mut(s.part_number.index()) {
                if !matches!(p.state, PartState::Done(_)) {
                    session.progress.on_resumed(p.range.len());
                }
                p.state = PartState::Done(s.etag.clone());
            }
        }
        session.upload_id = Some(upload_id);
        session.phase = Phase::Uploading;
        session.step(now);
        session
    }

    /// The plan this session follows.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The server's id for the upload, once created.
    pub fn upload_id(&self) -> Option<&UploadId> {
        self.upload_id.as_ref()
    }

    /// Where the session stands.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The next thing the driver must do, if any.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called, if anything waits on time.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // While holding, nothing waits on time: resuming or coming online wakes it.
        if self.phase.is_terminal() || self.hold().is_some() {
            return None;
        }
        let idle = self.config.idle_timeout;
        let waits = self.parts.iter().filter_map(|p| match p.state {
            PartState::Waiting { until } => Some(until),
            PartState::InFlight { .. } => Some(p.moved_at + idle),
            _ => None,
        });
        waits
            .chain(self.api_retry_at)
            .chain(self.api_deadline)
            .min()
    }

    /// The time given by [`Session::poll_timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.phase.is_terminal() && self.hold().is_none() {
            self.expire_stalls(now);
        }
        self.step(now);
    }

    /// Gives up on PUTs that made no progress for `idle_timeout`, and on an API call
    /// unanswered for `api_timeout`: each fails as a timeout and is retried.
    fn expire_stalls(&mut self, now: Instant) {
        let idle = self.config.idle_timeout;
        let stalled: Vec<PartNumber> = (self.parts.iter().enumerate())
            .filter(|(_, p)| matches!(p.state, PartState::InFlight { .. }))
            .filter(|(_, p)| now >= p.moved_at + idle)
            .map(|(i, _)| PartNumber::from_index(i))
            .collect();
        for part in stalled {
            self.commands.push_back(Command::CancelPut { part });
            self.put_failed(part, Failure::Timeout, now);
        }
        if self.api_deadline.is_some_and(|d| now >= d) {
            // A late answer finds no call waiting for it and is ignored.
            self.api_failed(Failure::Timeout, now);
        }
    }

    /// Numbers for the UI at `now`.
    pub fn snapshot(&self, now: Instant) -> SessionSnapshot {
        SessionSnapshot {
            phase: self.phase.clone(),
            progress: self.progress.snapshot(now),
            in_flight: self.count(|s| matches!(s, PartState::InFlight { .. })),
            parts_done: self.count(|s| matches!(s, PartState::Done(_))) as u32,
            hold: self.hold(),
        }
    }

    /// Takes in one event.
    pub fn handle(&mut self, event: Event, now: Instant) {
        if self.phase.is_terminal() {
            return;
        }
        match event {
            Event::Hashed { part, checksum } => {
                if let Some(p) = self.part_in(part, |s| *s == PartState::Hashing) {
                    p.checksum = Some(checksum);
                    p.state = PartState::Hashed;
                }
            }
            Event::HashFailed { message } => self.fail(FailCode::Unreadable, message),
            Event::Created { upload_id, parts } => {
                if self.api == Some(ApiCall::Create) {
                    self.api_succeeded();
                    self.commands
                        .push_back(Command::Persist(ResumeUpdate::Started {
                            upload_id: upload_id.clone(),
                        }));
                    self.upload_id = Some(upload_id);
                    self.phase = Phase::Uploading;
                    self.apply_signed(parts, now);
                }
            }
            Event::Signed { parts } => {
                if matches!(self.api, Some(ApiCall::Sign(_))) {
                    self.api_succeeded();
                    self.apply_signed(parts, now);
                }
            }
            Event::ApiFailed { failure } => self.api_failed(failure, now),
            Event::PutProgress { part, sent } => self.put_progress(part, sent, now),
            Event::PutSucceeded { part, etag } => self.put_succeeded(part, etag, now),
            Event::PutFailed { part, failure } => self.put_failed(part, failure, now),
            Event::Completed => {
                if self.api == Some(ApiCall::Complete) {
                    self.end_call();
                    self.commands
                        .push_back(Command::Persist(ResumeUpdate::Forget));
                    self.progress.on_finished();
                    self.phase = Phase::Done;
                }
            }
            Event::Cancel => self.cancel(),
            Event::Pause => {
                self.paused = true;
                self.stop_puts();
            }
            Event::Resume => self.paused = false,
            Event::Offline => self.offline = true,
            Event::Online => {
                self.offline = false;
                self.wake_all();
            }
        }
        self.step(now);
    }

    /// Why the session holds still, if it does; a pause by the person wins.
    pub fn hold(&self) -> Option<Hold> {
        match (self.paused, self.offline) {
            (true, _) => Some(Hold::Paused),
            (false, true) => Some(Hold::Offline),
            (false, false) => None,
        }
    }

    /// The network is back: parts and calls waiting out a backoff go now.
    fn wake_all(&mut self) {
        for p in &mut self.parts {
            if matches!(p.state, PartState::Waiting { .. }) {
                p.state = PartState::Ready;
            }
        }
        self.api_retry_at = None;
    }

    fn count(&self, pred: impl Fn(&PartState) -> bool) -> usize {
        self.parts.iter().filter(|p| pred(&p.state)).count()
    }

    fn part_in(
        &mut self,
        part: PartNumber,
        pred: impl Fn(&PartState) -> bool,
    ) -> Option<&mut Part> {
        self.parts.get_mut(part.index()).filter(|p| pred(&p.state))
    }

    fn api_succeeded(&mut self) {
        self.end_call();
        self.api_failures = 0;
    }

    /// The API call in flight is over, one way or another.
    fn end_call(&mut self) -> Option<ApiCall> {
        self.api_deadline = None;
        self.api.take()
    }

    fn apply_signed(&mut self, signed: Vec<SignedPart>, now: Instant) {
        let max_margin = self.config.expiry_margin;
        for s in signed {
            if let Some(p) = self.part_in(s.part_number, |st| *st == PartState::Signing) {
                let lifetime = Duration::from_secs(s.expires_in);
                let margin = max_margin.min(lifetime / 4);
                let use_before = now + (lifetime - margin);
                p.url = Some(Url {
                    url: s.url,
                    headers: s.headers,
                    expires_at: now + lifetime,
                    use_before,
                });
                p.state = PartState::Ready;
            }
        }
        // A part the server left out is signed again with the next batch.
        self.revert_signing();
    }

    fn revert_signing(&mut self) {
        for p in &mut self.parts {
            if p.state == PartState::Signing {
                p.state = PartState::Hashed;
            }
        }
    }

    fn api_failed(&mut self, failure: Failure, now: Instant) {
        let Some(call) = self.end_call() else { return };
        self.revert_signing();
        if call == ApiCall::Create {
            self.phase = Phase::Preparing;
        }
        if self.offline {
            // Expected while offline, and no sign of a broken server: the call is made
            // again when the network returns, at no cost to the budget.
            return;
        }
        match classify(&failure, false) {
            Decision::Retry { after } => {
                self.api_failures += 1;
                if self.config.api_retry.allows(self.api_failures) {
                    let unit = self.rng.f64();
                    self.api_retry_at =
                        Some(now + self.config.api_retry.delay(self.api_failures, unit, after));
                } else {
                    self.fail_with(&failure);
                }
            }
            Decision::Resign | Decision::Fatal => self.fail_with(&failure),
        }
    }

    fn put_progress(&mut self, part: PartNumber, sent: u64, now: Instant) {
        let Some(p) = self.parts.get_mut(part.index()) else {
            return;
        };
        if let PartState::InFlight { sent: old } = &mut p.state {
            let sent = sent.min(p.range.len());
            if sent > *old {
                let delta = sent - *old;
                *old = sent;
                p.moved_at = now;
                // Progress earns the budget back (as tus does): an attempt that got
                // most of the way was no sign of a broken link.
                if sent >= p.range.len() / 4 * 3 {
                    p.failures = 0;
                }
                self.progress.on_sent(delta, now);
            }
        }
    }

    fn put_succeeded(&mut self, part: PartNumber, etag: ETag, now: Instant) {
        let Some(p) = self.parts.get_mut(part.index()) else {
            return;
        };
        if let PartState::InFlight { sent } = p.state {
            self.progress.on_confirmed(p.range.len(), sent, now);
            if let Some(sha256) = p.checksum {
                let update = ResumeUpdate::PartStored {
                    part,
                    etag: etag.clone(),
                    sha256,
                };
                self.commands.push_back(Command::Persist(update));
            }
            p.state = PartState::Done(etag);
            p.failures = 0;
            p.resigns = 0;
            p.url = None;
            self.window_successes += 1;
            if self.window_successes >= self.window && self.window < self.config.max_in_flight {
                self.window += 1;
                self.window_successes = 0;
            }
        }
    }

    fn put_failed(&mut self, part: PartNumber, failure: Failure, now: Instant) {
        let Some(p) = self.parts.get_mut(part.index()) else {
            return;
        };
        let PartState::InFlight { sent } = p.state else {
            return;
        };
        // No longer in flight, whatever comes next: a fatal failure must not cancel it.
        p.state = PartState::Ready;
        self.progress.on_lost(sent);
        if congested(&failure) {
            // A slow or crowded link: fewer, longer-lived parts.
            self.window = (self.window / 2).max(1);
            self.window_successes = 0;
        }
        // SigV4 dates have whole seconds and clocks drift: a URL this close to its
        // expiry may already be expired in storage's eyes.
        let expired = p
            .url
            .as_ref()
            .is_some_and(|u| now + CLOCK_SLACK >= u.expires_at);
        if self.offline {
            // Failures while the browser says it is offline cost no attempt: the part
            // waits for the network instead of running out of budget.
            return;
        }
        match classify(&failure, expired) {
            Decision::Resign if p.resigns < MAX_RESIGNS => {
                p.resigns += 1;
                p.url = None;
                p.state = PartState::Hashed;
            }
            Decision::Resign => self.fail(FailCode::UrlExpired, expired_too_often(part)),
            Decision::Retry { after } => {
                p.failures += 1;
                p.attempts += 1;
                let hard_cap = self.config.part_retry.max_attempts.saturating_mul(4);
                if self.config.part_retry.allows(p.failures) && p.attempts < hard_cap {
                    let unit = self.rng.f64();
                    let wait = self.config.part_retry.delay(p.failures, unit, after);
                    p.state = PartState::Waiting { until: now + wait };
                } else {
                    let message = format!(
                        "Part {part} failed {} times; last error: {}",
                        p.attempts,
                        failure.user_message()
                    );
                    self.fail(FailCode::of(&failure), message);
                }
            }
            Decision::Fatal => self.fail_with(&failure),
        }
    }

    fn stop_puts(&mut self) {
        for (i, p) in self.parts.iter_mut().enumerate() {
            if let PartState::InFlight { sent } = p.state {
                self.progress.on_lost(sent);
                p.state = PartState::Ready;
                self.commands.push_back(Command::CancelPut {
                    part: PartNumber::from_index(i),
                });
            }
        }
    }

    fn fail(&mut self, code: FailCode, message: String) {
        self.stop_puts();
        self.end_call();
        self.phase = Phase::Failed { code, message };
    }

    fn fail_with(&mut self, failure: &Failure) {
        self.fail(FailCode::of(failure), failure.user_message());
    }

    fn cancel(&mut self) {
        self.stop_puts();
        self.end_call();
        if let Some(upload_id) = self.upload_id.clone() {
            self.commands.push_back(Command::Abort { upload_id });
        }
        self.commands
            .push_back(Command::Persist(ResumeUpdate::Forget));
        self.phase = Phase::Cancelled;
    }

    /// Decides what to start now that something changed.
    fn step(&mut self, now: Instant) {
        if self.phase.is_terminal() {
            return;
        }
        self.wake_waiting(now);
        if self.api_retry_at.is_some_and(|t| t <= now) {
            self.api_retry_at = None;
        }
        self.start_hashing();
        if self.hold().is_some() {
            return;
        }
        // PUTs first: a URL too close to expiry goes back to be signed in this same step.
        if self.phase == Phase::Uploading {
            self.start_puts(now);
        }
        if self.api.is_none() && self.api_retry_at.is_none() {
            self.start_api_call();
            if self.api.is_some() {
                self.api_deadline = Some(now + self.config.api_timeout);
            }
        }
    }

    fn wake_waiting(&mut self, now: Instant) {
        for p in &mut self.parts {
            if matches!(p.state, PartState::Waiting { until } if until <= now) {
                p.state = PartState::Ready;
            }
        }
    }

    fn start_hashing(&mut self) {
        let ahead = |s: &PartState| {
            matches!(
                s,
                PartState::Hashing | PartState::Hashed | PartState::Signing | PartState::Ready
            )
        };
        let mut ahead_count = self.count(ahead);
        let mut hashing = self.count(|s| *s == PartState::Hashing);
        for (i, p) in self.parts.iter_mut().enumerate() {
            if hashing >= self.config.max_hashing || ahead_count >= self.config.hash_ahead {
                break;
            }
            if p.state == PartState::Unhashed {
                p.state = PartState::Hashing;
                hashing += 1;
                ahead_count += 1;
                self.commands.push_back(Command::Hash {
                    part: PartNumber::from_index(i),
                    range: p.range,
                });
            }
        }
    }

    fn start_api_call(&mut self) {
        match self.phase {
            Phase::Preparing => {
                let first = self.config.max_in_flight.clamp(1, self.parts.len());
                if self.parts[..first]
                    .iter()
                    .all(|p| p.state == PartState::Hashed)
                {
                    let parts = self.take_for_signing(first);
                    self.api = Some(ApiCall::Create);
                    self.phase = Phase::Creating;
                    self.commands.push_back(Command::Create { parts });
                }
            }
            Phase::Uploading => self.start_sign_or_complete(),
            Phase::Completing => self.push_complete(),
            _ => {}
        }
    }

    fn start_sign_or_complete(&mut self) {
        let Some(upload_id) = self.upload_id.clone() else {
            return;
        };
        if self
            .parts
            .iter()
            .all(|p| matches!(p.state, PartState::Done(_)))
        {
            self.phase = Phase::Completing;
            self.push_complete();
            return;
        }
        let hashed = self.count(|s| *s == PartState::Hashed);
        let ready = self.count(|s| *s == PartState::Ready);
        let more_coming = self.count(|s| matches!(s, PartState::Unhashed | PartState::Hashing)) > 0;
        if hashed > 0
            && (hashed >= self.config.sign_batch
                || ready < self.config.max_in_flight
                || !more_coming)
        {
            let parts = self.take_for_signing(self.config.sign_batch.max(1));
            self.api = Some(ApiCall::Sign(parts.iter().map(|p| p.part_number).collect()));
            self.commands.push_back(Command::Sign { upload_id, parts });
        }
    }

    fn take_for_signing(&mut self, at_most: usize) -> Vec<PartChecksum> {
        let mut out = Vec::new();
        for (i, p) in self.parts.iter_mut().enumerate() {
            if out.len() == at_most {
                break;
            }
            if let (PartState::Hashed, Some(sha256)) = (&p.state, p.checksum) {
                p.state = PartState::Signing;
                out.push(PartChecksum {
                    part_number: PartNumber::from_index(i),
                    sha256,
                });
            }
        }
        out
    }

    fn push_complete(&mut self) {
        let Some(upload_id) = self.upload_id.clone() else {
            return;
        };
        let parts = self
            .parts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match &p.state {
                PartState::Done(etag) => Some(CompletedPart {
                    part_number: PartNumber::from_index(i),
                    etag: etag.clone(),
                }),
                _ => None,
            })
            .collect();
        self.api = Some(ApiCall::Complete);
        self.commands
            .push_back(Command::Complete { upload_id, parts });
    }

    fn start_puts(&mut self, now: Instant) {
        let mut in_flight = self.count(|s| matches!(s, PartState::InFlight { .. }));
        let mut worn_out = None;
        for (i, p) in self.parts.iter_mut().enumerate() {
            if in_flight >= self.window {
                break;
            }
            if p.state != PartState::Ready {
                continue;
            }
            match &p.url {
                Some(u) if now < u.use_before => {
                    p.state = PartState::InFlight { sent: 0 };
                    p.moved_at = now;
                    p.stale = 0;
                    in_flight += 1;
                    self.commands.push_back(Command::Put {
                        part: PartNumber::from_index(i),
                        range: p.range,
                        url: u.url.clone(),
                        headers: u.headers.clone(),
                    });
                }
                // Too close to expiry (or never signed): sign again rather than fail,
                // a bounded number of times.
                _ => {
                    p.url = None;
                    p.state = PartState::Hashed;
                    p.stale += 1;
                    if p.stale > MAX_RESIGNS {
                        worn_out = Some(PartNumber::from_index(i));
                    }
                }
            }
        }
        if let Some(part) = worn_out {
            self.fail(FailCode::UrlExpired, expired_too_often(part));
        }
    }
}

/// Failures that say the link or storage is overloaded rather than broken.
fn congested(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Timeout
            | Failure::Status {
                status: 429 | 503,
                ..
            }
    )
}

mod config;
#[cfg(test)]
mod tests;

pub use config::EngineConfig;
