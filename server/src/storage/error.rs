//! Why a storage backend refused or failed, in storage's own terms. The API turns it
//! into its answer in one place (`impl From<StorageError> for ApiError`).

/// Why a storage call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The parts named do not match the parts storage holds: the client may send them
    /// again. The text is for the person.
    #[error("{0}")]
    PartMismatch(String),
    /// Bytes that do not hash to the checksum signed for them. The text is for the person.
    #[error("{0}")]
    ChecksumMismatch(String),
    /// Storage holds no such upload or object.
    #[error("{0}")]
    NotFound(String),
    /// Storage could not be reached, or broke, or answered what no backend should. The
    /// detail is for the log only.
    #[error("{0}")]
    Failed(String),
}

impl StorageError {
    /// A failure whose detail goes to the log only.
    pub fn failed(detail: impl std::fmt::Display) -> Self {
        StorageError::Failed(detail.to_string())
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        StorageError::failed(format_args!("i/o: {e}"))
    }
}
