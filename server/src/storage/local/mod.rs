//! The embedded storage backend: objects on the server's own disk, reached through
//! signed, expiring URLs that behave like S3's, so that the widget cannot tell the two
//! apart.
//!
//! Layout under the root (`<data-dir>/storage`):
//! - `uploads/<upload id>/` — one multipart upload: `part_count`, and per part
//!   `<n>.part` (the bytes), `<n>.etag`, and its checksums `<n>.sha256` and, in
//!   CRC-64/NVME mode, `<n>.crc64nvme`;
//! - `objects/<key>` — completed objects;
//! - `tmp/` — objects being assembled, renamed into `objects/` when whole.

mod assemble;
mod routes;
pub mod signer;

use crate::stats::PutStats;
use crate::storage::{check_part_order, Assembled, PartToSign, Storage, StorageError};
use axum::Router;
use partway::core::wire::{CompletedPart, SignedPart, StoredPart};
use partway::core::{Checksum, ChecksumMode, Crc64, ETag, PartNumber, PartSum, SignedUrl};
use signer::UrlSigner;
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Objects on local disk. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalStorage {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    root: PathBuf,
    public_url: String,
    signer: UrlSigner,
    stats: Arc<PutStats>,
    body_idle: Duration,
}

impl LocalStorage {
    /// Storage under `root` (created if missing), whose URLs start with `public_url`
    /// and are signed with a key derived from `secret`.
    pub fn new(
        root: impl Into<PathBuf>,
        public_url: &str,
        secret: &[u8],
        stats: Arc<PutStats>,
    ) -> io::Result<Self> {
        let root = root.into();
        for dir in ["uploads", "objects", "tmp"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        let inner = Inner {
            root,
            public_url: public_url.trim_end_matches('/').to_string(),
            signer: UrlSigner::new(secret),
            stats,
            body_idle: Duration::from_secs(crate::config::DEFAULT_BODY_IDLE_TIMEOUT),
        };
        Ok(LocalStorage {
            inner: Arc::new(inner),
        })
    }

    /// The same storage, giving up on a part body after `idle` without a byte.
    pub fn with_body_idle_timeout(self, idle: Duration) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.body_idle = idle;
        LocalStorage {
            inner: Arc::new(inner),
        }
    }

    /// How long a part body may stall.
    pub(crate) fn body_idle(&self) -> Duration {
        self.inner.body_idle
    }

    /// The directory that holds an upload's parts.
    pub fn upload_dir(&self, upload_id: &str) -> Result<PathBuf, StorageError> {
        Ok(self
            .inner
            .root
            .join("uploads")
            .join(checked_name(upload_id)?))
    }

    /// Where a completed object lives.
    pub fn object_path(&self, key: &str) -> Result<PathBuf, StorageError> {
        Ok(self.inner.root.join("objects").join(checked_name(key)?))
    }

    /// Signs a part URL that expires at `expires` (seconds since the epoch). Public so
    /// that tests can make URLs that have already expired.
    pub fn sign_part_until(
        &self,
        upload_id: &str,
        part: PartNumber,
        len: u64,
        checksum: Option<PartSum>,
        expires: u64,
    ) -> Result<SignedPart, StorageError> {
        checked_name(upload_id)?;
        let signed = checksum.map(|c| (c.mode().as_str(), sum_hex(&c)));
        let canonical = signer::part_canonical(
            upload_id,
            part,
            len,
            signed.as_ref().map(|(name, hex)| (*name, hex.as_str())),
            expires,
        );
        let sig = self.inner.signer.sign(&canonical);
        let mut query = vec![("len", len.to_string())];
        if let Some((name, hex)) = signed {
            query.push((name, hex));
        }
        query.push(("expires", expires.to_string()));
        query.push(("sig", sig));
        let url = format!(
            "{}{}?{}",
            self.inner.public_url,
            signer::part_path(upload_id, part),
            encode_query(&query)?
        );
        let headers: BTreeMap<String, String> = checksum
            .map(|c| (c.mode().header().to_string(), c.to_base64()))
            .into_iter()
            .collect();
        Ok(SignedPart {
            part_number: part,
            url: SignedUrl::new(url),
            headers,
            expires_in: expires.saturating_sub(crate::unix_now()),
        })
    }

    fn signer(&self) -> &UrlSigner {
        &self.inner.signer
    }

    fn stats(&self) -> &PutStats {
        &self.inner.stats
    }

    fn tmp_dir(&self) -> PathBuf {
        self.inner.root.join("tmp")
    }
}

#[async_trait::async_trait]
impl Storage for LocalStorage {
    async fn create_upload(
        &self,
        _key: &str,
        _ct: &str,
        _size: u64,
        part_count: u32,
        _mode: ChecksumMode,
    ) -> Result<String, StorageError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.upload_dir(&id)?;
        tokio::fs::create_dir_all(&dir).await?;
        // Kept so that complete can insist on every part, as S3 checks the list it gets.
        let count = TempFile::new(dir.join(".part_count.tmp"));
        tokio::fs::write(count.path(), part_count.to_string()).await?;
        let (to, uploads) = (dir.join("part_count"), self.inner.root.join("uploads"));
        tokio::task::spawn_blocking(move || {
            count.persist(&to)?;
            sync_dir(&uploads)
        })
        .await
        .map_err(StorageError::failed)??;
        Ok(id)
    }

    async fn sign_part(
        &self,
        part: &PartToSign<'_>,
        ttl: Duration,
    ) -> Result<SignedPart, StorageError> {
        let expires = crate::unix_now().saturating_add(ttl.as_secs());
        // The type is the upload row's; downloads send it from there.
        self.sign_part_until(part.upload_id, part.part, part.len, part.checksum, expires)
    }

    async fn list_parts(
        &self,
        _key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let dir = self.upload_dir(upload_id)?;
        tokio::task::spawn_blocking(move || list_parts_in(&dir))
            .await
            .map_err(StorageError::failed)?
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        full_object: Option<Crc64>,
    ) -> Result<Assembled, StorageError> {
        check_part_order(parts)?;
        let job = assemble::Job {
            upload_dir: self.upload_dir(upload_id)?,
            object: self.object_path(key)?,
            tmp_dir: self.tmp_dir(),
            parts: parts.to_vec(),
            full_object,
        };
        tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(StorageError::failed)?
    }

    async fn abort(&self, _key: &str, upload_id: &str) -> Result<(), StorageError> {
        let dir = self.upload_dir(upload_id)?;
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn sign_download(
        &self,
        key: &str,
        name: &str,
        ttl: Duration,
    ) -> Result<String, StorageError> {
        checked_name(key)?;
        let expires = crate::unix_now().saturating_add(ttl.as_secs());
        let sig = self
            .signer()
            .sign(&signer::download_canonical(key, name, expires));
        let query = [
            ("expires", expires.to_string()),
            ("name", name.to_string()),
            ("sig", sig),
        ];
        Ok(format!(
            "{}{}?{}",
            self.inner.public_url,
            signer::object_path(key),
            encode_query(&query)?
        ))
    }

    async fn stat_object(
        &self,
        key: &str,
        mode: ChecksumMode,
    ) -> Result<Option<Assembled>, StorageError> {
        let path = self.object_path(key)?;
        tokio::task::spawn_blocking(move || assemble::hash_object(&path, mode))
            .await
            .map_err(StorageError::failed)?
    }

    async fn read_head(&self, key: &str, len: u64) -> Result<Vec<u8>, StorageError> {
        use tokio::io::AsyncReadExt;
        let file = match tokio::fs::File::open(self.object_path(key)?).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound("There is no such object.".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let mut head = Vec::new();
        file.take(len).read_to_end(&mut head).await?;
        Ok(head)
    }

    async fn put_object(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let path = self.object_path(key)?;
        let tmp = TempFile::new(
            self.tmp_dir()
                .join(uuid::Uuid::new_v4().simple().to_string()),
        );
        tokio::fs::write(tmp.path(), bytes).await?;
        tokio::task::spawn_blocking(move || tmp.persist(&path))
            .await
            .map_err(StorageError::failed)??;
        Ok(())
    }

    async fn delete_object(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.object_path(key)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn router(&self) -> Option<Router> {
        Some(routes::router(self.clone()))
    }
}

/// The parts in `dir`, in part order; none if the upload is gone.
fn list_parts_in(dir: &Path) -> Result<Vec<StoredPart>, StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut parts = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".part")) else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        // A part whose ETag is not written yet is still arriving: not stored.
        let Ok(etag) = std::fs::read_to_string(dir.join(format!("{n}.etag"))) else {
            continue;
        };
        let size = entry.metadata()?.len();
        // Parts stored before checksums were kept beside them have none to list.
        let sha256 = std::fs::read_to_string(dir.join(format!("{n}.sha256")))
            .ok()
            .and_then(|s| Checksum::from_base64(s.trim()).ok());
        let crc64nvme = std::fs::read_to_string(dir.join(format!("{n}.crc64nvme")))
            .ok()
            .and_then(|s| Crc64::from_base64(s.trim()).ok());
        parts.push(StoredPart {
            part_number: PartNumber(n),
            etag: ETag(etag),
            size,
            sha256,
            crc64nvme,
        });
    }
    parts.sort_by_key(|p| p.part_number);
    Ok(parts)
}

/// Accepts ids and keys that are safe as one path component: the server makes them
/// (uuids), so anything else is a forged request.
fn checked_name(name: &str) -> Result<&str, StorageError> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(name)
    } else {
        Err(StorageError::NotFound(
            "There is no such upload or object.".into(),
        ))
    }
}

fn encode_query(pairs: &[(&str, String)]) -> Result<String, StorageError> {
    serde_urlencoded::to_string(pairs).map_err(StorageError::failed)
}

/// A part checksum as the signed query carries it: lower-case hex.
fn sum_hex(sum: &PartSum) -> String {
    match sum {
        PartSum::Sha256(c) => c.to_hex(),
        PartSum::Crc64nvme(c) => format!("{:016x}", c.0),
    }
}

/// The ETag of a part: the first half of its SHA-256 in hex, quoted like S3's.
pub fn etag_for(sha256: &Checksum) -> ETag {
    ETag(format!("\"{}\"", &sha256.to_hex()[..32]))
}

/// A file being written; removed when dropped unless [`TempFile::persist`]ed, so that
/// a failed or abandoned write leaves nothing behind.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        TempFile { path, keep: false }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `to` (atomically, on one file system), replacing what was there.
    /// Moves the file to `to` and makes the move durable: the file's bytes are on disk
    /// before the rename, and the directory entry after it (a crash then leaves the old
    /// file or the new one, never a torn one, and never loses a part that was answered).
    pub(crate) fn persist(mut self, to: &Path) -> io::Result<()> {
        File::open(&self.path)?.sync_all()?;
        std::fs::rename(&self.path, to)?;
        self.keep = true;
        if let Some(dir) = to.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// Flushes a directory's entries to disk (a no-op where directories cannot be opened).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Marks an upload directory as being joined, so that parts arriving late are turned
/// away instead of racing the assembly.
pub(crate) const COMPLETING_MARKER: &str = "completing";

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
