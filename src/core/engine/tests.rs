//! Engine scenarios under a virtual clock: a simulated driver executes the commands and
//! a script decides how storage and the API answer.

use super::*;
use crate::core::checksum::Checksum;
use crate::core::crc64::Crc64;
use crate::core::ids::{ByteRange, ETag, SignedUrl};
use crate::core::part_sum::PartSum;
use crate::core::plan::{PlanConfig, MIB};
use crate::core::resume::RecordedPart;
use crate::core::retry::RetryConfig;
use crate::core::wire::ErrorCode;
use crate::core::wire::{PartChecksum, SignedPart};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// How storage answers one PUT attempt (0-based attempt count per part).
type PutScript = Box<dyn FnMut(PartNumber, u32) -> Result<(), Failure>>;
/// How the API answers one call (0-based call count).
type ApiScript = Box<dyn FnMut(u32) -> Result<(), Failure>>;

struct Sim {
    session: Session,
    now: Instant,
    url_ttl: u64,
    put_script: PutScript,
    api_script: ApiScript,
    api_calls: u32,
    events: VecDeque<Event>,
    in_flight: BTreeMap<PartNumber, Instant>,
    attempts: BTreeMap<PartNumber, u32>,
    max_in_flight: usize,
    puts: Vec<(PartNumber, Instant)>,
    signs: Vec<Vec<PartNumber>>,
    completed: Option<Vec<CompletedPart>>,
    aborted: bool,
    cancelled: Vec<PartNumber>,
    expired_puts: u32,
    expiry: BTreeMap<PartNumber, Instant>,
    persisted: Vec<ResumeUpdate>,
    min_time_left: Duration,
    /// API calls (by number) that never get an answer.
    silent_calls: Vec<u32>,
    /// When set, parts are summed in CRC-64/NVME mode over these bytes (the file).
    crc_of: Option<Vec<u8>>,
    /// The whole-file CRC the complete call carried.
    completed_crc: Option<Crc64>,
    /// The whole file asked to be hashed: answered only once nothing else is left.
    file_hash: Option<ByteRange>,
    /// Times the whole file was asked to be hashed.
    file_hashes: u32,
    /// The whole-file SHA-256 the complete call carried.
    completed_sha: Option<Checksum>,
}

fn ok_puts() -> PutScript {
    Box::new(|_, _| Ok(()))
}

fn ok_api() -> ApiScript {
    Box::new(|_| Ok(()))
}

fn network() -> Failure {
    Failure::Network
}

impl Sim {
    fn new(size: u64, config: EngineConfig, put_script: PutScript, api_script: ApiScript) -> Sim {
        let plan = Plan::for_file(size, &PlanConfig::default()).unwrap();
        let now = Instant::from_millis(0);
        Sim {
            session: Session::new(plan, config, 7, now),
            now,
            url_ttl: 900,
            put_script,
            api_script,
            api_calls: 0,
            events: VecDeque::new(),
            in_flight: BTreeMap::new(),
            attempts: BTreeMap::new(),
            max_in_flight: 0,
            puts: Vec::new(),
            signs: Vec::new(),
            completed: None,
            aborted: false,
            cancelled: Vec::new(),
            expired_puts: 0,
            expiry: BTreeMap::new(),
            persisted: Vec::new(),
            min_time_left: Duration::MAX,
            silent_calls: Vec::new(),
            crc_of: None,
            completed_crc: None,
            file_hash: None,
            file_hashes: 0,
            completed_sha: None,
        }
    }

    fn sign(&mut self, parts: &[PartChecksum]) -> Vec<SignedPart> {
        self.signs
            .push(parts.iter().map(|p| p.part_number).collect());
        parts
            .iter()
            .map(|p| {
                self.expiry
                    .insert(p.part_number, self.now + Duration::from_secs(self.url_ttl));
                SignedPart {
                    part_number: p.part_number,
                    url: SignedUrl::new(format!("http://s/{}?sig", p.part_number)),
                    headers: [(p.sum.mode().header().into(), p.sum.to_base64())].into(),
                    expires_in: self.url_ttl,
                }
            })
            .collect()
    }

    /// The script's answer to the next call; `None` when the call is never answered.
    fn api(&mut self) -> Option<Result<(), Failure>> {
        let n = self.api_calls;
        self.api_calls += 1;
        if self.silent_calls.contains(&n) {
            return None;
        }
        Some((self.api_script)(n))
    }

    fn execute(&mut self) {
        while let Some(cmd) = self.session.poll_command() {
            match cmd {
                Command::Hash { part, range } => {
                    let checksum = match &self.crc_of {
                        Some(file) => PartSum::Crc64nvme(Crc64::of(
                            &file[range.start as usize..range.end as usize],
                        )),
                        None => PartSum::Sha256(Checksum::of(&range.start.to_le_bytes())),
                    };
                    self.events.push_back(Event::Hashed { part, checksum });
                }
                Command::HashFile { range } => {
                    assert!(self.file_hash.is_none(), "the file hashed twice at once");
                    self.file_hash = Some(range);
                    self.file_hashes += 1;
                }
                Command::Create { call, parts } => match self.api() {
                    None => {}
                    Some(Ok(())) => {
                        let parts = self.sign(&parts);
                        self.events.push_back(Event::Created {
                            call,
                            upload_id: UploadId("u1".into()),
                            parts,
                        });
                    }
                    Some(Err(failure)) => self.events.push_back(Event::ApiFailed { call, failure }),
                },
                Command::Sign { call, parts, .. } => match self.api() {
                    None => {}
                    Some(Ok(())) => {
                        let parts = self.sign(&parts);
                        self.events.push_back(Event::Signed { call, parts });
                    }
                    Some(Err(failure)) => self.events.push_back(Event::ApiFailed { call, failure }),
                },
                Command::Put { part, .. } => {
                    assert!(
                        !self.in_flight.contains_key(&part),
                        "part {part} put twice at once"
                    );
                    if self.expiry[&part] <= self.now {
                        self.expired_puts += 1;
                    }
                    self.min_time_left = self
                        .min_time_left
                        .min(self.expiry[&part].saturating_since(self.now));
                    self.in_flight.insert(part, self.now);
                    self.puts.push((part, self.now));
                }
                Command::CancelPut { part } => {
                    self.in_flight.remove(&part);
                    self.cancelled.push(part);
                }
                Command::Complete {
                    call,
                    parts,
                    crc64nvme,
                    sha256,
                    ..
                } => match self.api() {
                    None => {}
                    Some(Ok(())) => {
                        self.completed = Some(parts);
                        self.completed_crc = crc64nvme;
                        self.completed_sha = sha256;
                        self.events.push_back(Event::Completed { call });
                    }
                    Some(Err(failure)) => self.events.push_back(Event::ApiFailed { call, failure }),
                },
                Command::Abort { .. } => self.aborted = true,
                Command::Persist(update) => self.persisted.push(update),
            }
            self.max_in_flight = self.max_in_flight.max(self.in_flight.len());
        }
    }

    /// Runs until nothing is left to do, or `max_steps` passed.
    fn run(&mut self, max_steps: usize) {
        self.run_until(max_steps, |_| false);
    }

    fn run_until(&mut self, max_steps: usize, stop: impl Fn(&Sim) -> bool) {
        for _ in 0..max_steps {
            self.execute();
            if stop(self) {
                return;
            }
            if let Some(event) = self.events.pop_front() {
                self.session.handle(event, self.now);
            } else if let Some((&part, _)) = self.in_flight.iter().next() {
                self.finish_put(part);
            } else if let Some(range) = self.file_hash.take() {
                let sha256 = Checksum::of(&range.end.to_le_bytes());
                self.session.handle(Event::FileHashed { sha256 }, self.now);
            } else if let Some(t) = self.session.poll_timeout() {
                assert!(t >= self.now, "timeout in the past");
                self.now = t;
                self.session.handle_timeout(self.now);
            } else {
                return;
            }
        }
        panic!("simulation did not settle");
    }

    fn finish_put(&mut self, part: PartNumber) {
        self.in_flight.remove(&part);
        self.now = self.now + Duration::from_millis(100);
        let attempt = self.attempts.entry(part).or_insert(0);
        let n = *attempt;
        *attempt += 1;
        let len = self.session.plan().range(part).len();
        self.session.handle(
            Event::PutProgress {
                part,
                sent: len / 2,
            },
            self.now,
        );
        let event = match (self.put_script)(part, n) {
            Ok(()) => Event::PutSucceeded {
                part,
                etag: ETag(format!("\"{part}\"")),
            },
            Err(failure) => Event::PutFailed { part, failure },
        };
        self.session.handle(event, self.now);
    }

    fn puts_of(&self, part: u32) -> Vec<Instant> {
        self.puts
            .iter()
            .filter(|(p, _)| p.0 == part)
            .map(|(_, t)| *t)
            .collect()
    }
}

/// Runs `sim` over a link of `bandwidth` bytes per second shared by the PUTs in flight,
/// in steps of 250 ms, as a browser would report progress. `hangs(part, attempt)` says
/// which attempts never send a byte. Returns the session's window of parts in flight,
/// step by step.
fn run_on_link(
    sim: &mut Sim,
    bandwidth: u64,
    hangs: impl Fn(PartNumber, u32) -> bool,
) -> Vec<usize> {
    let step = Duration::from_millis(250);
    let mut sent: BTreeMap<PartNumber, u64> = BTreeMap::new();
    let mut windows = Vec::new();
    for _ in 0..200_000 {
        windows.push(sim.session.window);
        sim.execute();
        if let Some(event) = sim.events.pop_front() {
            sim.session.handle(event, sim.now);
            continue;
        }
        if sim.session.phase().is_terminal() {
            return windows;
        }
        sent.retain(|part, _| sim.in_flight.contains_key(part));
        let flying: Vec<PartNumber> = sim.in_flight.keys().copied().collect();
        if flying.is_empty() && sim.session.poll_timeout().is_none() {
            return windows;
        }
        sim.now = sim.now + step;
        let moving: Vec<PartNumber> = flying
            .iter()
            .copied()
            .filter(|p| !hangs(*p, *sim.attempts.get(p).unwrap_or(&0)))
            .collect();
        let share = bandwidth * step.as_millis() as u64 / 1000 / moving.len().max(1) as u64;
        for part in moving {
            let len = sim.session.plan().range(part).len();
            let s = sent.entry(part).or_insert(0);
            *s = (*s + share).min(len);
            let now_sent = *s;
            sim.session.handle(
                Event::PutProgress {
                    part,
                    sent: now_sent,
                },
                sim.now,
            );
            if now_sent == len {
                sim.in_flight.remove(&part);
                sent.remove(&part);
                *sim.attempts.entry(part).or_insert(0) += 1;
                let etag = ETag(format!("\"{part}\""));
                sim.session
                    .handle(Event::PutSucceeded { part, etag }, sim.now);
            }
        }
        // A PUT the session gave up on counts as an attempt of its part.
        for part in sim.cancelled.drain(..) {
            *sim.attempts.entry(part).or_insert(0) += 1;
        }
        if sim.session.poll_timeout().is_some_and(|t| t <= sim.now) {
            sim.session.handle_timeout(sim.now);
        }
    }
    panic!("the slow link never settled");
}

fn assert_completed_in_order(sim: &Sim, count: u32) {
    assert_eq!(sim.session.phase(), &Phase::Done);
    let parts = sim.completed.as_ref().expect("complete was called");
    let numbers: Vec<u32> = parts.iter().map(|p| p.part_number.0).collect();
    assert_eq!(numbers, (1..=count).collect::<Vec<_>>());
}

#[test]
fn happy_path_runs_parts_in_parallel_and_completes() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
    assert_eq!(sim.max_in_flight, 4);
    let snap = sim.session.snapshot(sim.now);
    assert_eq!(
        (
            snap.progress.shown,
            snap.progress.bytes_resent,
            snap.progress.percent()
        ),
        (64 * MIB, 0, 100)
    );
    // The first parts were signed by the create call, the rest in batches.
    assert_eq!(sim.signs[0].len(), 4);
}

#[test]
fn empty_file_is_one_empty_put() {
    let mut sim = Sim::new(0, EngineConfig::default(), ok_puts(), ok_api());
    sim.run(100);
    assert_completed_in_order(&sim, 1);
    assert_eq!(sim.session.snapshot(sim.now).progress.percent(), 0);
}

#[test]
fn concurrency_limit_is_configurable() {
    let config = EngineConfig {
        max_in_flight: 2,
        ..EngineConfig::default()
    };
    let mut sim = Sim::new(100 * MIB, config, ok_puts(), ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 13);
    assert_eq!(sim.max_in_flight, 2);
}

#[test]
fn a_failed_put_is_retried_after_backoff_then_succeeds() {
    let script = Box::new(|part: PartNumber, attempt| {
        if part.0 == 3 && attempt < 2 {
            Err(network())
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), script, ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
    assert_eq!(sim.puts_of(3).len(), 3);
    let snap = sim.session.snapshot(sim.now);
    // Each failed attempt had sent half of its 8 MiB part.
    assert_eq!(snap.progress.bytes_resent, 8 * MIB);
}

#[test]
fn retry_after_is_honoured() {
    let script = Box::new(|part: PartNumber, attempt| {
        if part.0 == 2 && attempt == 0 {
            Err(Failure::Status {
                status: 503,
                retry_after: Some(Duration::from_secs(7)),
                message: None,
                code: None,
            })
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), script, ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
    let times = sim.puts_of(2);
    // The failure was reported 100 ms after the first PUT started.
    let gap = times[1].saturating_since(times[0]);
    assert!(gap >= Duration::from_millis(7100), "{gap:?}");
}

#[test]
fn a_fatal_400_fails_the_file_with_the_message_and_stops_other_parts() {
    let script = Box::new(|part: PartNumber, _| {
        if part.0 == 1 {
            Err(Failure::Status {
                status: 400,
                retry_after: None,
                message: Some("Bad digest.".into()),
                code: None,
            })
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), script, ok_api());
    sim.run(1000);
    assert_eq!(
        sim.session.phase(),
        &Phase::Failed {
            code: FailCode::Http(400),
            reason: FailReason::told("Bad digest.")
        }
    );
    assert_eq!(sim.puts_of(1).len(), 1, "a 400 is never retried");
    assert_eq!(
        sim.cancelled.len(),
        3,
        "the other parts in flight are aborted: {:?} puts {:?}",
        sim.cancelled,
        sim.puts
    );
    assert!(sim.completed.is_none());
    assert!(sim.session.poll_command().is_none());
}

#[test]
fn retries_are_bounded() {
    let config = EngineConfig {
        part_retry: RetryConfig {
            max_attempts: 3,
            ..RetryConfig::default()
        },
        ..EngineConfig::default()
    };
    let script = Box::new(|part: PartNumber, _| {
        if part.0 == 5 {
            Err(Failure::status(500))
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, config, script, ok_api());
    sim.run(1000);
    assert!(matches!(
        sim.session.phase(),
        Phase::Failed { reason: FailReason::PartGaveUp { part, attempts: 3, last }, .. }
            if part.0 == 5 && **last == FailReason::Status { status: 500 }
    ));
    assert_eq!(sim.puts_of(5).len(), 3);
}

#[test]
fn cancel_mid_flight_aborts_puts_and_the_upload() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run_until(1000, |s| s.puts.len() >= 6);
    let in_flight = sim.in_flight.len();
    assert!(in_flight > 0);
    sim.session.handle(Event::Cancel, sim.now);
    sim.execute();
    assert_eq!(sim.session.phase(), &Phase::Cancelled);
    assert_eq!(sim.cancelled.len(), in_flight);
    assert!(sim.aborted);
    assert!(sim.in_flight.is_empty());
    // Late answers for the aborted PUTs change nothing.
    sim.session.handle(
        Event::PutSucceeded {
            part: PartNumber(1),
            etag: ETag("x".into()),
        },
        sim.now,
    );
    assert_eq!(sim.session.phase(), &Phase::Cancelled);
    assert!(sim.session.poll_command().is_none());
    assert!(sim.session.poll_timeout().is_none());
}

#[test]
fn expired_urls_are_signed_again_without_spending_the_budget() {
    let config = EngineConfig {
        expiry_margin: Duration::ZERO,
        part_retry: RetryConfig {
            max_attempts: 1,
            ..RetryConfig::default()
        },
        ..EngineConfig::default()
    };
    let mut sim = Sim::new(64 * MIB, config, ok_puts(), ok_api());
    // URLs live 1 s: every PUT finds its URL expired, as Garage answers it: 400.
    sim.url_ttl = 1;
    sim.put_script = Box::new(|_, _| Err(Failure::status(400)));
    sim.run_until(1000, |s| s.signs.len() >= 4);
    assert!(
        !sim.session.phase().is_terminal(),
        "{:?}",
        sim.session.phase()
    );
    // Then URLs that live long enough: everything goes through.
    sim.url_ttl = 900;
    sim.put_script = ok_puts();
    sim.run(2000);
    assert_completed_in_order(&sim, 8);
}

#[test]
fn urls_that_keep_expiring_fail_the_file_with_a_clock_hint() {
    // URLs that storage calls expired on every PUT (its clock runs ahead of ours).
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.url_ttl = 1;
    sim.put_script = Box::new(|_, _| Err(Failure::status(403)));
    sim.run(2000);
    assert!(
        matches!(
            sim.session.phase(),
            Phase::Failed {
                reason: FailReason::UrlsKeptExpiring { .. },
                ..
            }
        ),
        "{:?}",
        sim.session.phase()
    );

    // URLs already expired when they arrive: never used, signed again a bounded number of times.
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.url_ttl = 0;
    sim.run(2000);
    assert!(
        matches!(
            sim.session.phase(),
            Phase::Failed {
                reason: FailReason::UrlsKeptExpiring { .. },
                ..
            }
        ),
        "{:?}",
        sim.session.phase()
    );
    assert!(sim.puts.is_empty());
}

#[test]
fn urls_near_expiry_are_signed_again_not_used() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.url_ttl = 100;
    // Answers still queued would be signed "now" in the engine's eyes; let them land.
    sim.run_until(1000, |s| s.in_flight.len() == 4 && s.events.is_empty());
    sim.session.handle(Event::Pause, sim.now);
    let signs_before = sim.signs.len();
    // 80 s later, every URL signed so far has 20 s left: less than the margin of
    // min(30 s, 100 s / 4).
    sim.now = sim.now + Duration::from_secs(80);
    sim.session.handle(Event::Resume, sim.now);
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
    assert!(sim.signs.len() > signs_before, "nothing was signed again");
    assert!(
        sim.min_time_left >= Duration::from_secs(25),
        "{:?}",
        sim.min_time_left
    );
}

#[test]
fn short_lived_urls_are_still_used() {
    // A 2-second lifetime with the default 30-second margin: the margin shrinks to a
    // quarter of the lifetime instead of refusing every URL.
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.url_ttl = 2;
    sim.run(2000);
    assert_completed_in_order(&sim, 8);
    assert_eq!(sim.expired_puts, 0);
}

#[test]
fn api_failures_retry_with_their_own_budget_and_then_fail_clearly() {
    // The create call fails twice with 503, then works.
    let api = Box::new(|n| {
        if n < 2 {
            Err(Failure::status(503))
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), api);
    sim.run(1000);
    assert_completed_in_order(&sim, 8);

    let msg = "Files of this type are not accepted.";
    let api = Box::new(move |_| Err(Failure::refused(415, ErrorCode::TypeNotAllowed, msg)));
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), api);
    sim.run(1000);
    assert_eq!(
        sim.session.phase(),
        &Phase::Failed {
            code: FailCode::Server(ErrorCode::TypeNotAllowed),
            reason: FailReason::told(msg)
        }
    );
    assert_eq!(sim.api_calls, 1);
}

#[test]
fn a_file_that_cannot_be_read_fails_with_a_message() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.session.handle(
        Event::HashFailed {
            message: "The file changed on disk.".into(),
        },
        sim.now,
    );
    assert_eq!(
        sim.session.phase(),
        &Phase::Failed {
            code: FailCode::Unreadable,
            reason: FailReason::told("The file changed on disk.")
        }
    );
}

#[test]
fn pause_aborts_in_flight_puts_and_resume_goes_on() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run_until(1000, |s| s.in_flight.len() == 4);
    sim.session.handle(Event::Pause, sim.now);
    sim.execute();
    assert_eq!(sim.cancelled.len(), 4);
    assert!(sim.in_flight.is_empty());
    assert_eq!(sim.session.snapshot(sim.now).hold, Some(Hold::Paused));
    // Nothing starts while paused, and nothing waits on a timer.
    sim.run(100);
    assert!(sim.in_flight.is_empty() && sim.completed.is_none());
    assert_eq!(sim.session.poll_timeout(), None);
    sim.session.handle(Event::Resume, sim.now);
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
    // The four aborted attempts had sent nothing yet, so nothing was sent twice.
    assert_eq!(sim.session.snapshot(sim.now).progress.bytes_resent, 0);
}

#[test]
fn failures_while_offline_cost_no_attempts_and_online_resumes() {
    let config = EngineConfig {
        part_retry: RetryConfig {
            max_attempts: 2,
            ..RetryConfig::default()
        },
        ..EngineConfig::default()
    };
    let mut sim = Sim::new(64 * MIB, config, ok_puts(), ok_api());
    sim.run_until(1000, |s| s.in_flight.len() == 4);
    sim.session.handle(Event::Offline, sim.now);
    // Every PUT in flight fails, several times over: far more than the budget of 2.
    sim.put_script = Box::new(|_, _| Err(Failure::Network));
    for _ in 0..4 {
        if let Some((&part, _)) = sim.in_flight.iter().next() {
            sim.finish_put(part);
        }
    }
    sim.run(200);
    assert!(
        !sim.session.phase().is_terminal(),
        "{:?}",
        sim.session.phase()
    );
    assert_eq!(sim.session.snapshot(sim.now).hold, Some(Hold::Offline));
    assert!(sim.in_flight.is_empty(), "nothing new starts while offline");
    sim.put_script = ok_puts();
    sim.session.handle(Event::Online, sim.now);
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
}

#[test]
fn api_failures_while_offline_wait_for_the_network() {
    let api = Box::new(|n| {
        if n == 0 {
            Err(Failure::Network)
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), api);
    sim.session.handle(Event::Offline, sim.now);
    sim.run(100);
    assert_eq!(sim.api_calls, 0, "no call is made while offline");
    sim.session.handle(Event::Online, sim.now);
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
}

#[test]
fn the_resume_record_follows_the_upload() {
    let mut sim = Sim::new(20 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 3);
    assert_eq!(
        sim.persisted.first(),
        Some(&ResumeUpdate::Started {
            upload_id: UploadId("u1".into())
        })
    );
    let stored: Vec<u32> = sim
        .persisted
        .iter()
        .filter_map(|u| match u {
            ResumeUpdate::PartStored { part, .. } => Some(part.0),
            _ => None,
        })
        .collect();
    assert_eq!(stored.len(), 3);
    assert_eq!(sim.persisted.last(), Some(&ResumeUpdate::Forget));
}

#[test]
fn a_file_of_one_part_keeps_no_resume_record() {
    let mut sim = Sim::new(4 * 1024, EngineConfig::default(), ok_puts(), ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 1);
    assert!(sim.persisted.is_empty());
}

#[test]
fn a_cancel_forgets_the_record_but_a_failure_keeps_it() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run_until(1000, |s| s.puts.len() >= 6);
    sim.session.handle(Event::Cancel, sim.now);
    sim.execute();
    assert_eq!(sim.persisted.last(), Some(&ResumeUpdate::Forget));

    let script = Box::new(|part: PartNumber, _| {
        if part.0 == 6 {
            Err(Failure::status(400))
        } else {
            Ok(())
        }
    });
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), script, ok_api());
    sim.run(1000);
    assert!(matches!(sim.session.phase(), Phase::Failed { .. }));
    assert!(!sim.persisted.contains(&ResumeUpdate::Forget));
}

#[test]
fn a_resumed_session_sends_only_the_missing_parts() {
    let plan = Plan::for_file(64 * MIB, &PlanConfig::default()).unwrap();
    let stored: Vec<CompletedPart> = [1u32, 2, 3, 5]
        .iter()
        .map(|&n| CompletedPart {
            part_number: PartNumber(n),
            etag: ETag(format!("\"{n}\"")),
        })
        .collect();
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.session = Session::resume(
        plan,
        EngineConfig::default(),
        1,
        sim.now,
        UploadId("u1".into()),
        &stored,
        &[],
    );
    assert_eq!(sim.session.snapshot(sim.now).progress.shown, 32 * MIB);
    sim.run(1000);
    assert_completed_in_order(&sim, 8);
    let mut sent: Vec<u32> = sim.puts.iter().map(|(p, _)| p.0).collect();
    sent.sort();
    assert_eq!(sent, vec![4, 6, 7, 8]);
    let completed = sim.completed.as_ref().unwrap();
    assert_eq!(
        completed[0].etag,
        ETag("\"1\"".into()),
        "stored ETags are kept"
    );
    let snap = sim.session.snapshot(sim.now);
    assert_eq!(
        (snap.progress.shown, snap.progress.bytes_resent),
        (64 * MIB, 0)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Under any pattern of transient failures: the concurrency limit holds, no part is
    /// PUT twice at once or with an expired URL, and the file completes with every part
    /// in order, or fails only when a part ran out of attempts.
    #[test]
    fn invariants_hold_under_random_transient_failures(
        size in 0u64..80 * MIB,
        max_in_flight in 1usize..6,
        fail_mask in proptest::collection::vec(any::<bool>(), 64),
        statuses in proptest::collection::vec(prop_oneof![Just(408u16), Just(429), Just(500), Just(503)], 64),
    ) {
        let config = EngineConfig { max_in_flight, ..EngineConfig::default() };
        let script = Box::new(move |part: PartNumber, attempt: u32| {
            let i = (part.0 as usize * 7 + attempt as usize) % 64;
            // At most 3 failures per part, under the default budget of 6 attempts.
            if attempt < 3 && fail_mask[i] {
                Err(if i % 3 == 0 { Failure::Network } else { Failure::status(statuses[i]) })
            } else {
                Ok(())
            }
        });
        let mut sim = Sim::new(size, config, script, ok_api());
        sim.run(5000);
        let count = sim.session.plan().part_count;
        assert_completed_in_order(&sim, count);
        prop_assert!(sim.max_in_flight <= max_in_flight);
        prop_assert_eq!(sim.expired_puts, 0);
        let snap = sim.session.snapshot(sim.now);
        prop_assert_eq!(snap.progress.shown, size);
    }

    /// Every configuration, however odd, either completes or fails with a reason: none
    /// stalls (the deadlock of `max_in_flight > hash_ahead` and of zeros included).
    #[test]
    fn no_configuration_stalls(
        size in 0u64..120 * MIB,
        max_in_flight in 0usize..=16,
        hash_ahead in 0usize..=16,
        max_hashing in 0usize..=8,
        sign_batch in 0usize..=16,
        attempts in 0u32..=4,
        fail_mask in proptest::collection::vec(any::<bool>(), 32),
        file_sha256 in any::<bool>(),
    ) {
        let mut config = EngineConfig { max_in_flight, hash_ahead, max_hashing, sign_batch, file_sha256, ..EngineConfig::default() };
        config.part_retry.max_attempts = attempts;
        let script = Box::new(move |part: PartNumber, attempt: u32| {
            if attempt < 2 && fail_mask[(part.0 as usize + attempt as usize) % 32] {
                Err(Failure::Network)
            } else {
                Ok(())
            }
        });
        let mut sim = Sim::new(size, config, script, ok_api());
        sim.run(20_000);
        match sim.session.phase() {
            Phase::Done => {
                let count = sim.session.plan().part_count;
                assert_completed_in_order(&sim, count);
                prop_assert!(sim.max_in_flight <= max_in_flight.max(1));
            }
            Phase::Failed { code, .. } => prop_assert_eq!(*code, FailCode::Network),
            other => prop_assert!(false, "stalled in {:?}", other),
        }
    }
}

#[test]
fn a_slow_link_completes_without_cutting_a_part_that_moves() {
    // 32 MiB at 1 Mbit/s: each of 4 parts in flight gets 32 KB/s, so a part takes about
    // 256 s, far past any deadline, but it never stops moving.
    let mut sim = Sim::new(32 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    run_on_link(&mut sim, 125_000, |_, _| false);
    assert_completed_in_order(&sim, 4);
    assert!(sim.cancelled.is_empty());
    assert_eq!(sim.session.snapshot(sim.now).progress.bytes_resent, 0);
    assert!(sim.now.saturating_since(Instant::from_millis(0)) >= Duration::from_secs(268));
}

#[test]
fn a_put_that_stops_moving_is_cut_after_the_idle_time_and_sent_again() {
    let mut sim = Sim::new(32 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    // The first attempt of part 2 never sends a byte.
    run_on_link(&mut sim, 10_000_000, |part, attempt| {
        part.0 == 2 && attempt == 0
    });
    assert_completed_in_order(&sim, 4);
    let tries = sim.puts_of(2);
    assert_eq!(tries.len(), 2);
    let gap = tries[1].saturating_since(tries[0]);
    assert!(
        gap >= Duration::from_secs(30) && gap < Duration::from_secs(60),
        "{gap:?}"
    );
}

#[test]
fn timeouts_narrow_the_window_and_successes_widen_it_again() {
    let config = EngineConfig {
        max_in_flight: 8,
        ..EngineConfig::default()
    };
    let mut sim = Sim::new(128 * MIB, config, ok_puts(), ok_api());
    // The first attempts of parts 1 to 3 hang: three timeouts halve the window to 1.
    let windows = run_on_link(&mut sim, 50_000_000, |part, attempt| {
        part.0 <= 3 && attempt == 0
    });
    assert_completed_in_order(&sim, 16);
    assert_eq!(windows[0], 8);
    let narrowest = windows.iter().position(|&w| w == 1).expect("narrowed to 1");
    let after = windows[narrowest..].iter().max().copied().unwrap_or(0);
    assert!(after >= 3, "grew back only to {after}");
    assert!(sim.max_in_flight <= 8);
}

#[test]
fn an_api_call_that_never_answers_is_timed_out_and_made_again() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    // The create call (0) and the second call (a sign) get no answer at all.
    sim.silent_calls = vec![0, 2];
    sim.run(5000);
    assert_completed_in_order(&sim, 8);
    assert!(sim.api_calls >= 5, "{}", sim.api_calls);
    // Each silence cost the API timeout and a backoff, no more.
    assert!(sim.now.saturating_since(Instant::from_millis(0)) >= Duration::from_secs(60));
    assert!(sim.now.saturating_since(Instant::from_millis(0)) < Duration::from_secs(120));
}

#[test]
fn a_late_answer_to_a_call_given_up_on_is_ignored() {
    let mut sim = Sim::new(64 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    // The first create hangs; it is timed out and made again.
    sim.silent_calls = vec![0];
    sim.run_until(5000, |s| s.api_calls >= 2);
    // Now the first create's answer arrives after all: it must not be taken for the
    // second's, nor fail it.
    let stale = Event::Created {
        call: CallId(1),
        upload_id: UploadId("stale".into()),
        parts: Vec::new(),
    };
    sim.session.handle(stale, sim.now);
    let late_failure = Event::ApiFailed {
        call: CallId(1),
        failure: Failure::status(500),
    };
    sim.session.handle(late_failure, sim.now);
    assert_eq!(sim.session.phase(), &Phase::Creating);
    sim.run(5000);
    assert_completed_in_order(&sim, 8);
    assert_eq!(sim.session.upload_id(), Some(&UploadId("u1".into())));
}

/// A file of `len` bytes that differ from part to part.
fn file_bytes(len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn in_crc_mode_complete_carries_the_whole_files_crc() {
    let size = 21 * MIB + 123;
    let file = file_bytes(size);
    let mut sim = Sim::new(size, EngineConfig::default(), ok_puts(), ok_api());
    sim.crc_of = Some(file.clone());
    sim.run(1000);
    assert_completed_in_order(&sim, sim.session.plan().part_count);
    assert_eq!(sim.completed_crc, Some(Crc64::of(&file)));
}

#[test]
fn a_resumed_crc_upload_combines_recorded_and_new_parts() {
    let size = 21 * MIB + 123;
    let file = file_bytes(size);
    let plan = Plan::for_file(size, &PlanConfig::default()).unwrap();
    let kept = [1u32, 3];
    let stored: Vec<CompletedPart> = kept
        .iter()
        .map(|&n| CompletedPart {
            part_number: PartNumber(n),
            etag: ETag(format!("{n}")),
        })
        .collect();
    let recorded: Vec<RecordedPart> = kept
        .iter()
        .map(|&n| {
            let range = plan.range(PartNumber(n));
            RecordedPart {
                part_number: PartNumber(n),
                etag: ETag(format!("{n}")),
                sum: PartSum::Crc64nvme(Crc64::of(&file[range.start as usize..range.end as usize])),
            }
        })
        .collect();
    let mut sim = Sim::new(size, EngineConfig::default(), ok_puts(), ok_api());
    sim.crc_of = Some(file.clone());
    sim.session = Session::resume(
        plan,
        EngineConfig::default(),
        1,
        sim.now,
        UploadId("u1".into()),
        &stored,
        &recorded,
    );
    sim.run(1000);
    assert_completed_in_order(&sim, plan.part_count);
    assert!(sim.puts.iter().all(|(p, _)| !kept.contains(&p.0)));
    assert_eq!(sim.completed_crc, Some(Crc64::of(&file)));
}

#[test]
fn in_sha256_mode_complete_carries_no_crc() {
    let mut sim = Sim::new(21 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run(1000);
    assert!(sim.completed.is_some());
    assert_eq!(sim.completed_crc, None);
}

#[test]
fn the_whole_files_sha256_is_asked_once_and_complete_waits_for_it() {
    let config = EngineConfig {
        file_sha256: true,
        ..EngineConfig::default()
    };
    let mut sim = Sim::new(40 * MIB, config, ok_puts(), ok_api());
    // Every part stored, the file not hashed yet: nothing is completed.
    sim.run_until(1000, |s| {
        s.events.is_empty() && s.in_flight.is_empty() && s.file_hash.is_some()
    });
    assert_eq!(*sim.session.phase(), Phase::Completing);
    assert!(sim.completed.is_none());
    sim.run(1000);
    assert_completed_in_order(&sim, 5);
    assert_eq!(sim.file_hashes, 1);
    let whole = ByteRange {
        start: 0,
        end: 40 * MIB,
    };
    assert_eq!(
        sim.completed_sha,
        Some(Checksum::of(&whole.end.to_le_bytes()))
    );
}

#[test]
fn without_the_option_complete_carries_no_sha256_and_nothing_is_read_whole() {
    let mut sim = Sim::new(20 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 3);
    assert_eq!((sim.file_hashes, sim.completed_sha), (0, None));
}

#[test]
fn a_resumed_session_hashes_the_whole_file_again() {
    let plan = Plan::for_file(24 * MIB, &PlanConfig::default()).unwrap();
    let stored: Vec<CompletedPart> = [1u32, 2]
        .iter()
        .map(|&n| CompletedPart {
            part_number: PartNumber(n),
            etag: ETag(format!("e{n}")),
        })
        .collect();
    let config = EngineConfig {
        file_sha256: true,
        ..EngineConfig::default()
    };
    let now = Instant::from_millis(0);
    let id = UploadId("u1".into());
    let session = Session::resume(plan, config, 7, now, id, &stored, &[]);
    let mut sim = Sim::new(24 * MIB, EngineConfig::default(), ok_puts(), ok_api());
    sim.session = session;
    sim.run(1000);
    assert_eq!(*sim.session.phase(), Phase::Done);
    assert_eq!(sim.file_hashes, 1);
    assert!(sim.completed_sha.is_some());
}

#[test]
fn a_file_of_one_part_takes_its_whole_sha256_from_the_part_in_sha256_mode() {
    let config = EngineConfig {
        file_sha256: true,
        ..EngineConfig::default()
    };
    let mut sim = Sim::new(4 * 1024, config.clone(), ok_puts(), ok_api());
    sim.run(1000);
    assert_completed_in_order(&sim, 1);
    // The sim's part checksum of a part starting at byte 0.
    let part = Checksum::of(&0u64.to_le_bytes());
    assert_eq!((sim.file_hashes, sim.completed_sha), (0, Some(part)));

    // In CRC mode the part's sum is no SHA-256: the file is streamed.
    let mut sim = Sim::new(4 * 1024, config, ok_puts(), ok_api());
    sim.crc_of = Some(file_bytes(4 * 1024));
    sim.run(1000);
    assert_completed_in_order(&sim, 1);
    assert_eq!(sim.file_hashes, 1);
    assert!(sim.completed_sha.is_some());
}

#[test]
fn a_resumed_file_of_one_part_already_stored_streams_the_file_and_completes() {
    // Records of one-part files are no longer written, but older ones may be found.
    let plan = Plan::for_file(4 * 1024, &PlanConfig::default()).unwrap();
    let stored = [CompletedPart {
        part_number: PartNumber(1),
        etag: ETag("e1".into()),
    }];
    let config = EngineConfig {
        file_sha256: true,
        ..EngineConfig::default()
    };
    let id = UploadId("u1".into());
    let session = Session::resume(plan, config, 7, Instant::from_millis(0), id, &stored, &[]);
    let mut sim = Sim::new(4 * 1024, EngineConfig::default(), ok_puts(), ok_api());
    sim.session = session;
    sim.run(1000);
    assert_eq!(*sim.session.phase(), Phase::Done);
    assert_eq!(sim.file_hashes, 1);
}
