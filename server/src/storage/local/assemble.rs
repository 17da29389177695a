//! Completing a local upload: check every part against what is stored, then join the
//! parts into the object while hashing it.
//!
//! Runs on a blocking thread: it is plain sequential file I/O, and a part may be
//! gigabytes, so it is copied through a small buffer, never read whole.

use super::{TempFile, COMPLETING_MARKER};
use crate::storage::{same_etag, Assembled, StorageError};
use partway::core::wire::CompletedPart;
use partway::core::{ChecksumMode, Crc64};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const COPY_BUFFER: usize = 1024 * 1024;

/// One completion to run.
pub(super) struct Job {
    /// The upload's part directory.
    pub upload_dir: PathBuf,
    /// Where the object goes.
    pub object: PathBuf,
    /// Where it is assembled first (same file system, so the final rename is atomic).
    pub tmp_dir: PathBuf,
    /// The parts, already checked to be 1..=n in order.
    pub parts: Vec<CompletedPart>,
    /// In CRC-64/NVME mode, the CRC the whole object must have.
    pub full_object: Option<Crc64>,
}

/// What joining the parts produced.
struct Joined {
    size: u64,
    sha256: String,
    crc: Option<Crc64>,
}

impl Job {
    /// Checks, assembles, moves into place, then frees the parts. Parts arriving
    /// meanwhile are turned away (the marker); if the parts do not add up, the marker
    /// goes again and they may be sent anew.
    pub fn run(self) -> Result<Assembled, StorageError> {
        let marker = self.upload_dir.join(COMPLETING_MARKER);
        match fs::write(&marker, b"") {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(
                    "Storage no longer holds this upload.".into(),
                ))
            }
            other => other?,
        }
        let joined = self.check_parts().and_then(|()| {
            let tmp = TempFile::new(self.tmp_dir.join(uuid::Uuid::new_v4().simple().to_string()));
            let joined = self.copy_parts(tmp.path())?;
            if let Some(want) = self.full_object.filter(|want| joined.crc != Some(*want)) {
                // As S3 does: parts that do not add up to the client's file are not
                // joined, and stay for the client to send again.
                return Err(StorageError::ChecksumMismatch(format!(
                    "The file's CRC-64/NVME is {}, not the {} the client computed; \
                     send its parts again.",
                    joined.crc.map(Crc64::to_base64).unwrap_or_default(),
                    want.to_base64()
                )));
            }
            tmp.persist(&self.object)?;
            Ok(joined)
        });
        let joined = match joined {
            Ok(joined) => joined,
            Err(e) => {
                let _ = fs::remove_file(&marker);
                return Err(e);
            }
        };
        fs::remove_dir_all(&self.upload_dir)?;
        Ok(Assembled {
            size: joined.size,
            sha256: Some(joined.sha256),
            checksum: joined.crc.map(Crc64::to_base64),
        })
    }

    fn check_parts(&self) -> Result<(), StorageError> {
        let count = match fs::read_to_string(self.upload_dir.join("part_count")) {
            Ok(count) => count
                .trim()
                .parse::<usize>()
                .map_err(StorageError::failed)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(
                    "Storage no longer holds this upload.".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if self.parts.len() != count {
            return Err(StorageError::PartMismatch(format!(
                "This upload has {count} parts, but {} were listed.",
                self.parts.len()
            )));
        }
        for part in &self.parts {
            let n = part.part_number;
            let stored = match fs::read_to_string(self.upload_dir.join(format!("{n}.etag"))) {
                Ok(etag) => etag,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(StorageError::PartMismatch(format!(
                        "Part {n} has not been stored."
                    )))
                }
                Err(e) => return Err(e.into()),
            };
            if !same_etag(&stored, &part.etag.0) {
                return Err(StorageError::PartMismatch(format!(
                    "Part {n}'s ETag does not match the part storage holds; send that part again."
                )));
            }
        }
        Ok(())
    }

    fn copy_parts(&self, to: &Path) -> Result<Joined, StorageError> {
        let mut out = File::create(to)?;
        let mut hasher = Sha256::new();
        let mut crc = self.full_object.map(|_| Crc64::hasher());
        let mut buf = vec![0u8; COPY_BUFFER];
        let mut size = 0u64;
        for part in &self.parts {
            let n = part.part_number;
            let mut input = File::open(self.upload_dir.join(format!("{n}.part")))?;
            // Each part is checked again while it is copied, so bytes that changed on
            // disk since they arrived never become part of a file.
            let mut part_hasher = Sha256::new();
            loop {
                let read = input.read(&mut buf)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buf[..read]);
                if let Some(crc) = &mut crc {
                    crc.update(&buf[..read]);
                }
                part_hasher.update(&buf[..read]);
                out.write_all(&buf[..read])?;
                size += read as u64;
            }
            // Against the ETag the client named (half the SHA-256 taken on arrival): it
            // also catches a part replaced by a late PUT since the list was checked.
            let digest: [u8; 32] = part_hasher.finalize().into();
            let now = super::etag_for(&partway::core::Checksum::from_bytes(digest));
            if !same_etag(&now.0, &part.etag.0) {
                return Err(StorageError::ChecksumMismatch(format!(
                    "Part {n} changed in storage since it arrived; send it again."
                )));
            }
        }
        // The parts are deleted next: the object must be on disk first.
        out.sync_all()?;
        let digest: [u8; 32] = hasher.finalize().into();
        Ok(Joined {
            size,
            sha256: partway::core::Checksum::from_bytes(digest).to_hex(),
            crc: crc.map(|c| c.finish()),
        })
    }
}

/// The object at `path`, hashed (and its CRC taken in that mode), if it exists (rare:
/// only a complete interrupted after storage's step reads it back).
pub(super) fn hash_object(
    path: &Path,
    mode: ChecksumMode,
) -> Result<Option<Assembled>, StorageError> {
    let mut input = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut hasher = Sha256::new();
    let mut crc = (mode == ChecksumMode::Crc64nvme).then(Crc64::hasher);
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if let Some(crc) = &mut crc {
            crc.update(&buf[..n]);
        }
        size += n as u64;
    }
    let digest: [u8; 32] = hasher.finalize().into();
    Ok(Some(Assembled {
        size,
        sha256: Some(partway::core::Checksum::from_bytes(digest).to_hex()),
        checksum: crc.map(|c| c.finish().to_base64()),
    }))
}
