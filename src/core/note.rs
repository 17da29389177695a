//! Remarks on a file's row that are not errors, as data: the UI words them in the
//! person's language.

use crate::core::resume::RecordError;

/// Something the person should know about how a file started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Picked up from a saved upload: `stored` of `count` parts were already stored.
    Resumed {
        /// Parts storage already held.
        stored: u32,
        /// Parts in all.
        count: u32,
    },
    /// The saved upload is no longer in storage: starting over.
    Gone,
    /// The saved upload could not be checked (the server did not answer): starting over.
    Unchecked,
    /// The saved upload was unusable and was dropped: starting over.
    Dropped(RecordError),
}
