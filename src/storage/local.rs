use std::{
    io::{SeekFrom, Write},
    path::{Path, PathBuf},
};

use crate::domain::ProviderType;
use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::{
    fs,
    io::{AsyncReadExt, AsyncSeekExt},
};
use tokio_util::io::ReaderStream;

use chrono::{DateTime, Utc};

use super::{
    BlobRead, BlobStore, ByteRange, ByteStream, ListedObject, PublicBase, StorageError,
    validate_key,
};

const READ_CHUNK: usize = 64 * 1024;
/// Bytes gathered before a write: what an upload may run ahead of the disk.
const WRITE_BATCH: usize = 1 << 20;

/// Files under a root directory. Writes go to a temp file that is renamed into
/// place, so a crash or an aborted upload never leaves a partial object.
pub struct LocalStore {
    root: PathBuf,
    public_base: PublicBase,
}

impl LocalStore {
    pub async fn open(root: PathBuf, public_base: PublicBase) -> Result<Self, StorageError> {
        fs::create_dir_all(root.join(".tmp"))
            .await
            .map_err(|e| unavailable(&root, e))?;
        Ok(LocalStore { root, public_base })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// A file written one batch at a time on the blocking pool, one batch in
/// flight: receiving the next overlaps writing this one, and no thread is
/// held while the client is slow.
struct BatchWriter {
    path: PathBuf,
    idle: Option<std::fs::File>,
    writing: Option<tokio::task::JoinHandle<std::io::Result<std::fs::File>>>,
    written: u64,
}

impl BatchWriter {
    async fn create(path: &Path) -> Result<BatchWriter, StorageError> {
        let file = fs::File::create(path)
            .await
            .map_err(|e| unavailable(path, e))?
            .into_std()
            .await;
        Ok(BatchWriter {
            path: path.to_path_buf(),
            idle: Some(file),
            writing: None,
            written: 0,
        })
    }

    /// The file, once the write in flight (if any) has ended.
    async fn settle(&mut self) -> Result<std::fs::File, StorageError> {
        if let Some(writing) = self.writing.take() {
            return match writing.await {
                Ok(Ok(file)) => Ok(file),
                Ok(Err(err)) => Err(unavailable(&self.path, err)),
                Err(err) => Err(StorageError::Unavailable(format!(
                    "the write stopped: {err}"
                ))),
            };
        }
        self.idle.take().ok_or_else(|| {
            StorageError::Unavailable("the file was lost after a failed write".into())
        })
    }

    async fn write(&mut self, batch: Vec<bytes::Bytes>) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut file = self.settle().await?;
        self.written += batch.iter().map(|chunk| chunk.len() as u64).sum::<u64>();
        self.writing = Some(tokio::task::spawn_blocking(move || {
            for chunk in &batch {
                file.write_all(chunk)?;
            }
            Ok(file)
        }));
        Ok(())
    }

    /// Waits for the last write and syncs the file; returns the bytes written.
    async fn finish(mut self) -> Result<u64, StorageError> {
        let file = self.settle().await?;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|e| StorageError::Unavailable(format!("the sync stopped: {e}")))?
            .map_err(|e| unavailable(&self.path, e))?;
        Ok(self.written)
    }
}

/// Moves a finished temp file to its key.
async fn place(temp: &Path, target: &Path) -> Result<(), StorageError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)
            .await
            .map_err(|e| unavailable(parent, e))?;
    }
    fs::rename(temp, target)
        .await
        .map_err(|e| unavailable(target, e))
}

fn unavailable(path: &Path, err: std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("{}: {err}", path.display()))
}

fn io_error(path: &Path, err: std::io::Error) -> StorageError {
    if err.kind() == std::io::ErrorKind::NotFound {
        StorageError::NotFound
    } else {
        unavailable(path, err)
    }
}

#[async_trait]
impl BlobStore for LocalStore {
    fn provider_type(&self) -> ProviderType {
        ProviderType::Local
    }

    /// The received `Bytes` are written as they are (no copy into an async
    /// file's buffer), a batch at a time on a borrowed blocking thread, while
    /// the next batch is received and hashed.
    async fn put(
        &self,
        key: &str,
        mut body: ByteStream<'_>,
        _message: Option<&str>,
    ) -> Result<u64, StorageError> {
        let target = self.path(key)?;
        let temp = self
            .root
            .join(".tmp")
            .join(uuid::Uuid::now_v7().simple().to_string());
        let mut writer = BatchWriter::create(&temp).await?;
        let written = async {
            let mut batch = Vec::new();
            let mut batch_len = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(StorageError::Aborted)?;
                batch_len += chunk.len();
                batch.push(chunk);
                if batch_len >= WRITE_BATCH {
                    writer.write(std::mem::take(&mut batch)).await?;
                    batch_len = 0;
                }
            }
            writer.write(batch).await?;
            let written = writer.finish().await?;
            place(&temp, &target).await?;
            Ok(written)
        }
        .await;
        if written.is_err() {
            let _ = fs::remove_file(&temp).await;
        }
        written
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<BlobRead, StorageError> {
        let path = self.path(key)?;
        let mut file = fs::File::open(&path)
            .await
            .map_err(|e| io_error(&path, e))?;
        let size = file.metadata().await.map_err(|e| io_error(&path, e))?.len();
        let body = match range {
            Some(range) => {
                file.seek(SeekFrom::Start(range.start))
                    .await
                    .map_err(|e| io_error(&path, e))?;
                ReaderStream::with_capacity(file.take(range.len()), READ_CHUNK).boxed()
            }
            None => ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
        };
        Ok(BlobRead { size, body })
    }

    async fn head(&self, key: &str) -> Result<u64, StorageError> {
        let path = self.path(key)?;
        Ok(fs::metadata(&path)
            .await
            .map_err(|e| io_error(&path, e))?
            .len())
    }

    async fn delete(&self, key: &str, _message: Option<&str>) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(unavailable(&path, e)),
            _ => Ok(()),
        }
    }

    fn public_url(&self, key: &str) -> Option<String> {
        Some(format!("{}/content/{key}", self.public_base.current()))
    }

    async fn check(&self) -> Result<(), StorageError> {
        let probe = self.root.join(".tmp");
        fs::metadata(&probe)
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&probe, e))
    }

    async fn list(&self, prefix: &str) -> Result<Option<Vec<ListedObject>>, StorageError> {
        let mut found = Vec::new();
        let mut dirs = vec![self.root.join(prefix)];
        while let Some(dir) = dirs.pop() {
            let mut entries = match fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unavailable(&dir, e)),
            };
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| unavailable(&dir, e))?
            {
                let path = entry.path();
                let metadata = entry.metadata().await.map_err(|e| unavailable(&path, e))?;
                if metadata.is_dir() {
                    dirs.push(path);
                } else if let Ok(relative) = path.strip_prefix(&self.root) {
                    let key = relative
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    found.push(ListedObject {
                        key,
                        modified: metadata.modified().ok().map(DateTime::<Utc>::from),
                    });
                }
            }
        }
        Ok(Some(found))
    }

    /// Partial files of writes that never finished (the process died
    /// between the temp file and the rename). Instances may share a root, so
    /// only files untouched since `before` go.
    async fn sweep_staging(&self, before: DateTime<Utc>) -> Result<u64, StorageError> {
        let staging = self.root.join(".tmp");
        let mut entries = match fs::read_dir(&staging).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(unavailable(&staging, e)),
        };
        let mut removed = 0;
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| unavailable(&staging, e))?
        {
            let stale = entry
                .metadata()
                .await
                .ok()
                .filter(std::fs::Metadata::is_file)
                .and_then(|m| m.modified().ok())
                .is_some_and(|at| DateTime::<Utc>::from(at) < before);
            if stale && fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
