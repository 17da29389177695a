//! The upload engine for one file, in the shape of quinn-proto: events go in through
//! [`Session::handle`], decisions come out of [`Session::poll_command`], and
//! [`Session::poll_timeout`] says when to call [`Session::handle_timeout`].
//!
//! The browser driver executes commands (hash a byte range, call the API, PUT a part) and
//! feeds their outcomes back as events. Nothing here waits, reads a clock or draws a
//! random number by itself, so every scenario is a native test under a virtual clock.

use crate::core::fail::{FailCode, FailReason};
use crate::core::ids::{PartNumber, UploadId};
use crate::core::part_sum::PartSum;
use crate::core::plan::Plan;
use crate::core::progress::{Progress, ProgressSnapshot};
use crate::core::resume::RecordedPart;
use crate::core::retry::Failure;
use crate::core::time::Instant;
use crate::core::wire::CompletedPart;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;

/// Allowance for clocks and whole-second signing dates when judging a URL expired.
const CLOCK_SLACK: Duration = Duration::from_secs(2);
/// Re-signs after expired URLs allowed in a row for one part.
const MAX_RESIGNS: u32 = 5;

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
    /// The id of the latest API call.
    api_call: CallId,
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
    /// The whole file's SHA-256, when the configuration asks for it.
    file_sum: FileSum,
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
        let file_sum = if config.file_sha256 {
            FileSum::Wanted
        } else {
            FileSum::NotWanted
        };
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
            api_call: CallId::default(),
            api_failures: 0,
            window_successes: 0,
            api_retry_at: None,
            commands: VecDeque::new(),
            progress: Progress::new(plan.file_size),
            paused: false,
            offline: false,
            file_sum,
        };
        session.step(now);
        session
    }

    /// Continues an upload of which storage already holds `stored` (from the server's
    /// list of parts), sending only the rest. `recorded` are the checksums this browser
    /// kept of stored parts: the whole file's CRC is combined from them.
    pub fn resume(
        plan: Plan,
        config: EngineConfig,
        seed: u64,
        now: Instant,
        upload_id: UploadId,
        stored: &[CompletedPart],
        recorded: &[RecordedPart],
    ) -> Self {
        let mut session = Session::new(plan, config, seed, Instant::default());
        session.commands.clear();
        // The file is hashed from its start again: a stream's state is not recorded.
        if session.file_sum == FileSum::Hashing {
            session.file_sum = FileSum::Wanted;
        }
        for p in &mut session.parts {
            p.state = PartState::Unhashed;
        }
        for s in stored {
            if let Some(p) = session.parts.get_mut(s.part_number.index()) {
                if !matches!(p.state, PartState::Done(_)) {
                    session.progress.on_resumed(p.range.len());
                }
                p.state = PartState::Done(s.etag.clone());
                p.checksum = recorded
                    .iter()
                    .find(|r| r.part_number == s.part_number)
                    .map(|r| r.sum);
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
                    if let (true, FileSum::Wanted, PartSum::Sha256(sum)) =
                        (self.plan.is_single(), self.file_sum, checksum)
                    {
                        self.file_sum = FileSum::Done(sum);
                    }
                }
            }
            Event::FileHashed { sha256 } => {
                if self.file_sum == FileSum::Hashing {
                    self.file_sum = FileSum::Done(sha256);
                }
            }
            Event::HashFailed { message } => {
                self.fail(FailCode::Unreadable, FailReason::told(message))
            }
            Event::Created {
                call,
                upload_id,
                parts,
            } => {
                if self.answers(call) && self.api == Some(ApiCall::Create) {
                    self.api_succeeded();
                    self.persist(ResumeUpdate::Started {
                        upload_id: upload_id.clone(),
                    });
                    self.upload_id = Some(upload_id);
                    self.phase = Phase::Uploading;
                    self.apply_signed(parts, now);
                }
            }
            Event::Signed { call, parts } => {
                if self.answers(call) && matches!(self.api, Some(ApiCall::Sign(_))) {
                    self.api_succeeded();
                    self.apply_signed(parts, now);
                }
            }
            Event::ApiFailed { call, failure } => {
                if self.answers(call) {
                    self.api_failed(failure, now);
                }
            }
            Event::PutProgress { part, sent } => self.put_progress(part, sent, now),
            Event::PutSucceeded { part, etag } => self.put_succeeded(part, etag, now),
            Event::PutFailed { part, failure } => self.put_failed(part, failure, now),
            Event::Completed { call } => {
                if self.answers(call) && self.api == Some(ApiCall::Complete) {
                    self.end_call();
                    self.persist(ResumeUpdate::Forget);
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

    fn fail(&mut self, code: FailCode, reason: FailReason) {
        self.stop_puts();
        self.end_call();
        self.phase = Phase::Failed { code, reason };
    }

    fn fail_with(&mut self, failure: &Failure) {
        self.fail(FailCode::of(failure), FailReason::of(failure));
    }

    fn cancel(&mut self) {
        self.stop_puts();
        self.end_call();
        if let Some(upload_id) = self.upload_id.clone() {
            self.commands.push_back(Command::Abort { upload_id });
        }
        self.persist(ResumeUpdate::Forget);
        self.phase = Phase::Cancelled;
    }

    /// Asks for a change to the resume record. A file of one part keeps none: after a
    /// reload it is sent again whole, which costs no more than the part that was in
    /// flight, and a pick of many small files is spared three database writes each.
    /// (One whose complete was answered but the answer lost is then stored twice.)
    fn persist(&mut self, update: ResumeUpdate) {
        if !self.plan.is_single() {
            self.commands.push_back(Command::Persist(update));
        }
    }
}

mod calls;
mod config;
mod io;
mod part;
mod puts;
mod schedule;
#[cfg(test)]
mod tests;

pub use config::EngineConfig;
pub use io::{CallId, Command, Event, Hold, Phase, ResumeUpdate};
use part::{ApiCall, FileSum, Part, PartState, Url};
