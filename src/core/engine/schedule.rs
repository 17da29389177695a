//! The scheduler: after every change, what to start next (hashing, PUTs, API calls),
//! within the configured limits.

use super::puts::expired_too_often;
use super::{ApiCall, Command, FailCode, FileSum, PartState, Phase, Session, MAX_RESIGNS};
use crate::core::crc64::Crc64;
use crate::core::ids::{ByteRange, PartNumber};
use crate::core::time::Instant;
use crate::core::wire::{CompletedPart, PartChecksum};

impl Session {
    /// Decides what to start now that something changed.
    pub(super) fn step(&mut self, now: Instant) {
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
        // A file of one part in SHA-256 mode has its whole SHA-256 from its part's
        // checksum (see `handle`): it is read once, and no stream is started for it.
        let part_first = self.plan.is_single()
            && matches!(
                self.parts[0].state,
                PartState::Unhashed | PartState::Hashing
            );
        if self.file_sum == FileSum::Wanted && !part_first {
            // Read beside the parts from the start: the stream takes about as long as
            // the upload, and complete waits for it.
            self.file_sum = FileSum::Hashing;
            self.commands.push_back(Command::HashFile {
                range: ByteRange {
                    start: 0,
                    end: self.plan.file_size,
                },
            });
        }
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
                    let call = self.begin_call(ApiCall::Create);
                    self.phase = Phase::Creating;
                    self.commands.push_back(Command::Create { call, parts });
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
            let call =
                self.begin_call(ApiCall::Sign(parts.iter().map(|p| p.part_number).collect()));
            self.commands.push_back(Command::Sign {
                call,
                upload_id,
                parts,
            });
        }
    }

    fn take_for_signing(&mut self, at_most: usize) -> Vec<PartChecksum> {
        let mut out = Vec::new();
        for (i, p) in self.parts.iter_mut().enumerate() {
            if out.len() == at_most {
                break;
            }
            if let (PartState::Hashed, Some(sum)) = (&p.state, p.checksum) {
                p.state = PartState::Signing;
                out.push(PartChecksum {
                    part_number: PartNumber::from_index(i),
                    sum,
                });
            }
        }
        out
    }

    fn push_complete(&mut self) {
        let sha256 = match self.file_sum {
            FileSum::NotWanted => None,
            FileSum::Done(sum) => Some(sum),
            // Completed once the whole file is hashed: `FileHashed` steps again.
            FileSum::Wanted | FileSum::Hashing => return,
        };
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
        // In CRC-64/NVME mode the whole file's CRC follows from the parts' and their
        // lengths: nothing is read again, and storage checks the joined object with it.
        let crc64nvme = Crc64::of_parts(
            self.parts
                .iter()
                .map(|p| Some((p.checksum?.crc64()?, p.range.len())))
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default(),
        );
        let call = self.begin_call(ApiCall::Complete);
        self.commands.push_back(Command::Complete {
            call,
            upload_id,
            parts,
            crc64nvme,
            sha256,
        });
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
