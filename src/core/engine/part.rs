//! The state of one part inside a session, of the whole file's SHA-256, and the API
//! call a session waits on.

use crate::core::checksum::Checksum;
use crate::core::ids::{ByteRange, ETag, PartNumber, SignedUrl};
use crate::core::part_sum::PartSum;
use crate::core::time::Instant;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum PartState {
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
pub(super) struct Url {
    pub(super) url: SignedUrl,
    pub(super) headers: BTreeMap<String, String>,
    pub(super) expires_at: Instant,
    /// Past this, the URL is signed again before a PUT rather than risked.
    pub(super) use_before: Instant,
}

#[derive(Clone, Debug)]
pub(super) struct Part {
    pub(super) range: ByteRange,
    pub(super) state: PartState,
    pub(super) checksum: Option<PartSum>,
    pub(super) url: Option<Url>,
    pub(super) failures: u32,
    /// Re-signs after PUTs failed on expired URLs: free, but bounded, in case clocks
    /// disagree. Reset when the part is stored.
    pub(super) resigns: u32,
    /// URLs in a row that expired before they could be used (a lifetime too short for
    /// the queue, or clocks that disagree). Reset when a PUT starts.
    pub(super) stale: u32,
    /// When the PUT in flight started or last reported progress: it is given up only
    /// after `idle_timeout` without any, however long it takes as a whole.
    pub(super) moved_at: Instant,
    /// Attempts in all, never earned back: bounds a part that keeps failing half way.
    pub(super) attempts: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum ApiCall {
    Create,
    Sign(Vec<PartNumber>),
    Complete,
}

/// Where the whole file's SHA-256 stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileSum {
    /// Not asked for.
    NotWanted,
    /// Asked for, not started yet.
    Wanted,
    /// The driver is reading the file.
    Hashing,
    /// Computed: complete carries it.
    Done(Checksum),
}
