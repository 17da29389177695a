//! The engine's public vocabulary: what the driver reports ([`Event`]), what the engine
//! asks of it ([`Command`], [`ResumeUpdate`]), and where a session stands ([`Phase`],
//! [`Hold`]).

use crate::core::checksum::Checksum;
use crate::core::crc64::Crc64;
use crate::core::fail::{FailCode, FailReason};
use crate::core::ids::{ByteRange, ETag, PartNumber, SignedUrl, UploadId};
use crate::core::part_sum::PartSum;
use crate::core::retry::Failure;
use crate::core::wire::{CompletedPart, PartChecksum, SignedPart};
use serde::Serialize;
use std::collections::BTreeMap;

/// Names one API call, so that a late answer to a call given up on (timed out) is
/// not taken for the answer to the call made again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// What the driver must do next.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Compute the checksum of this byte range (in the upload's mode), then send
    /// [`Event::Hashed`].
    Hash { part: PartNumber, range: ByteRange },
    /// Compute the SHA-256 of the whole file (this range), reading it as a stream, then
    /// send [`Event::FileHashed`]. Asked once, when [`EngineConfig::file_sha256`] is on.
    ///
    /// [`EngineConfig::file_sha256`]: super::EngineConfig::file_sha256
    HashFile { range: ByteRange },
    /// `POST /api/uploads`, signing these first parts; then [`Event::Created`].
    Create {
        call: CallId,
        parts: Vec<PartChecksum>,
    },
    /// `POST /api/uploads/{id}/parts`; then [`Event::Signed`].
    Sign {
        call: CallId,
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
        call: CallId,
        upload_id: UploadId,
        parts: Vec<CompletedPart>,
        /// The whole file's CRC-64/NVME, in that mode.
        crc64nvme: Option<Crc64>,
        /// The whole file's SHA-256, when it was asked for.
        sha256: Option<Checksum>,
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
        sum: PartSum,
    },
    /// Completed or cancelled: nothing to resume any more.
    Forget,
}

/// What happened, as the driver reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A part's checksum is ready.
    Hashed { part: PartNumber, checksum: PartSum },
    /// The whole file's SHA-256 is ready.
    FileHashed { sha256: Checksum },
    /// The file could not be read (it changed or vanished on disk).
    HashFailed { message: String },
    /// The server created the upload.
    Created {
        call: CallId,
        upload_id: UploadId,
        parts: Vec<SignedPart>,
    },
    /// The server signed parts.
    Signed {
        call: CallId,
        parts: Vec<SignedPart>,
    },
    /// The API call (create, sign or complete) failed.
    ApiFailed { call: CallId, failure: Failure },
    /// `sent` bytes of the part's current attempt are on the wire.
    PutProgress { part: PartNumber, sent: u64 },
    /// Storage stored the part.
    PutSucceeded { part: PartNumber, etag: ETag },
    /// The part's PUT failed.
    PutFailed { part: PartNumber, failure: Failure },
    /// The server completed the upload.
    Completed { call: CallId },
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
    /// Stopped for good; the code is for programs, the reason for the UI to word.
    Failed {
        /// Why, for programs.
        code: FailCode,
        /// Why, for the person.
        reason: FailReason,
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
