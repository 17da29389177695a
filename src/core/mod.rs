//! The sans-IO core: everything that decides, nothing that does.
//!
//! No browser, clock, socket or randomness of its own lives here: time comes in as
//! [`Instant`] arguments and randomness as a seed, so all of it runs natively under
//! `cargo test --no-default-features`.

pub mod checksum;
pub mod crc64;
pub mod engine;
pub mod fail;
pub mod format;
pub mod i18n;
pub mod ids;
pub mod note;
pub mod pace;
pub mod part_sum;
pub mod plan;
pub mod progress;
pub mod restrict;
pub mod resume;
pub mod retry;
pub mod status;
pub mod time;
pub mod wire;

pub use checksum::Checksum;
pub use crc64::Crc64;
pub use engine::{
    Command, EngineConfig, Event, Hold, Phase, ResumeUpdate, Session, SessionSnapshot,
};
pub use fail::{FailCode, FailReason};
pub use ids::{ByteRange, ETag, FileId, PartNumber, SignedUrl, UploadId};
pub use note::Note;
pub use pace::Pace;
pub use part_sum::{ChecksumMode, PartSum};
pub use plan::{Plan, PlanConfig, PlanError};
pub use progress::{Progress, ProgressSnapshot};
pub use retry::{classify, Decision, Failure, RetryConfig};
pub use status::{FileStatus, FileView, Overall};
pub use time::Instant;
