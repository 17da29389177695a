//! What the person sees of each file, derived from the engine's state.

use crate::core::engine::{Hold, Phase, SessionSnapshot};
use crate::core::fail::{FailCode, FailReason};
use crate::core::note::Note;
use crate::core::wire::FileInfo;
use serde::Serialize;
use std::time::Duration;

/// A file's status, exactly as the `data-status` attribute spells it (a stable hook).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Waiting for another file to finish.
    Queued,
    /// Reading and hashing the first parts.
    Hashing,
    /// Parts are going up, or the server is completing.
    Uploading,
    /// Stopped by the person; can go on.
    Paused,
    /// Stored.
    Done,
    /// Stopped for good, with a message.
    Failed,
    /// Cancelled by the person.
    Cancelled,
}

impl FileStatus {
    /// Whether the file is over: stored, failed for good or cancelled.
    pub fn is_end(self) -> bool {
        matches!(
            self,
            FileStatus::Done | FileStatus::Failed | FileStatus::Cancelled
        )
    }

    /// The `data-status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Queued => "queued",
            FileStatus::Hashing => "hashing",
            FileStatus::Uploading => "uploading",
            FileStatus::Paused => "paused",
            FileStatus::Done => "done",
            FileStatus::Failed => "failed",
            FileStatus::Cancelled => "cancelled",
        }
    }

    /// The status for an engine phase.
    pub fn of(phase: &Phase) -> Self {
        match phase {
            Phase::Preparing | Phase::Creating => FileStatus::Hashing,
            Phase::Uploading | Phase::Completing => FileStatus::Uploading,
            Phase::Done => FileStatus::Done,
            Phase::Failed { .. } => FileStatus::Failed,
            Phase::Cancelled => FileStatus::Cancelled,
        }
    }

    /// Whether the file still takes part in the overall figures.
    pub fn counts_overall(self) -> bool {
        !matches!(self, FileStatus::Cancelled | FileStatus::Failed)
    }
}

/// Everything one file row shows.
#[derive(Clone, Debug, PartialEq)]
pub struct FileView {
    /// Status.
    pub status: FileStatus,
    /// Size of the file.
    pub total: u64,
    /// Bytes shown as sent; never decreases.
    pub shown: u64,
    /// Bytes per second.
    pub speed: f64,
    /// Time left, if known.
    pub eta: Option<Duration>,
    /// Why the upload failed, for the UI to word.
    pub error: Option<FailReason>,
    /// Why it failed, for programs.
    pub error_code: Option<FailCode>,
    /// The server's upload id, once it answered.
    pub upload_id: Option<String>,
    /// Where to download the stored file, once done.
    pub download_url: Option<String>,
    /// What the server recorded, once done.
    pub file: Option<FileInfo>,
    /// Bytes sent more than once because an attempt failed.
    pub bytes_resent: u64,
    /// Why the file holds still, when its status is `paused`.
    pub hold: Option<Hold>,
    /// A remark for the person that is not an error (resumed from a record, started over).
    pub note: Option<Note>,
}

impl FileView {
    /// A file waiting its turn.
    pub fn queued(total: u64) -> Self {
        FileView {
            status: FileStatus::Queued,
            total,
            shown: 0,
            speed: 0.0,
            eta: None,
            error: None,
            error_code: None,
            upload_id: None,
            download_url: None,
            file: None,
            bytes_resent: 0,
            hold: None,
            note: None,
        }
    }

    /// A file that failed before its upload could start (too large, unreadable).
    pub fn failed(total: u64, code: FailCode, reason: FailReason) -> Self {
        FileView {
            status: FileStatus::Failed,
            error: Some(reason),
            error_code: Some(code),
            ..FileView::queued(total)
        }
    }

    /// The view of a running session.
    pub fn of(
        snapshot: &SessionSnapshot,
        upload_id: Option<String>,
        completed: Option<(&FileInfo, &str)>,
    ) -> Self {
        let p = &snapshot.progress;
        let holding = snapshot.hold.filter(|_| !snapshot.phase.is_terminal());
        let running =
            holding.is_none() && matches!(snapshot.phase, Phase::Uploading | Phase::Completing);
        FileView {
            status: if holding.is_some() {
                FileStatus::Paused
            } else {
                FileStatus::of(&snapshot.phase)
            },
            total: p.total,
            shown: p.shown,
            speed: if running { p.speed } else { 0.0 },
            eta: if running { p.eta } else { None },
            error: match &snapshot.phase {
                Phase::Failed { reason, .. } => Some(reason.clone()),
                _ => None,
            },
            error_code: match &snapshot.phase {
                Phase::Failed { code, .. } => Some(*code),
                _ => None,
            },
            upload_id,
            download_url: completed.map(|(_, url)| url.to_string()),
            file: completed.map(|(file, _)| file.clone()),
            bytes_resent: p.bytes_resent,
            hold: holding,
            note: None,
        }
    }

    /// Whole percent shown, 0 to 100 (an empty file that is done shows 100).
    pub fn percent(&self) -> u8 {
        if self.total == 0 {
            return if self.status == FileStatus::Done {
                100
            } else {
                0
            };
        }
        ((self.shown as f64 / self.total as f64) * 100.0)
            .floor()
            .clamp(0.0, 100.0) as u8
    }
}

/// The figures for all files together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overall {
    /// Whole percent of all bytes, 0 to 100.
    pub percent: u8,
    /// Bytes per second of all files together.
    pub speed: f64,
    /// Time left for all of them, if known.
    pub eta: Option<Duration>,
}

/// Sums the files that still count (cancelled and failed ones drop out).
pub fn overall<'a>(views: impl IntoIterator<Item = &'a FileView>) -> Overall {
    let mut sum = OverallSum::default();
    views.into_iter().for_each(|v| sum.add(v));
    sum.finish()
}

/// [`overall`] one view at a time, for views that cannot be borrowed together (each
/// behind its own signal).
#[derive(Clone, Copy, Debug, Default)]
pub struct OverallSum {
    total: u64,
    shown: u64,
    speed: f64,
    any_done_empty: bool,
}

impl OverallSum {
    /// Counts one file in, if it still counts.
    pub fn add(&mut self, v: &FileView) {
        if !v.status.counts_overall() {
            return;
        }
        self.total += v.total;
        self.shown += v.shown.min(v.total);
        self.speed += v.speed;
        self.any_done_empty |= v.total == 0 && v.status == FileStatus::Done;
    }

    /// The figures of all files counted.
    pub fn finish(self) -> Overall {
        let percent = if self.total == 0 {
            if self.any_done_empty {
                100
            } else {
                0
            }
        } else {
            ((self.shown as f64 / self.total as f64) * 100.0).floor() as u8
        };
        let left = (self.total - self.shown) as f64;
        let eta = (self.speed > 1.0).then(|| Duration::from_secs_f64(left / self.speed));
        Overall {
            percent,
            speed: self.speed,
            eta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(status: FileStatus, total: u64, shown: u64, speed: f64) -> FileView {
        FileView {
            status,
            shown,
            speed,
            ..FileView::queued(total)
        }
    }

    #[test]
    fn statuses_spell_the_stable_hooks() {
        let all = [
            (FileStatus::Queued, "queued"),
            (FileStatus::Hashing, "hashing"),
            (FileStatus::Uploading, "uploading"),
            (FileStatus::Paused, "paused"),
            (FileStatus::Done, "done"),
            (FileStatus::Failed, "failed"),
            (FileStatus::Cancelled, "cancelled"),
        ];
        for (status, name) in all {
            assert_eq!(status.as_str(), name);
        }
    }

    #[test]
    fn overall_sums_bytes_and_speed_and_skips_cancelled_files() {
        let views = [
            view(FileStatus::Uploading, 100, 50, 10.0),
            view(FileStatus::Done, 100, 100, 0.0),
            view(FileStatus::Cancelled, 1000, 10, 0.0),
        ];
        let o = overall(&views);
        assert_eq!(o.percent, 75);
        assert_eq!(o.eta, Some(Duration::from_secs(5)));
    }

    #[test]
    fn an_empty_file_that_is_done_shows_full() {
        let v = view(FileStatus::Done, 0, 0, 0.0);
        assert_eq!(v.percent(), 100);
        assert_eq!(overall([&v]).percent, 100);
    }
}
