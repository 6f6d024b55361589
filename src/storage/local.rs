use std::{
    io::SeekFrom,
    path::{Path, PathBuf},
};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::{
    fs,
    io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt},
};
use tokio_util::io::ReaderStream;

use super::{BlobRead, BlobStore, ByteRange, ByteStream, PublicBase, StorageError, validate_key};

const READ_CHUNK: usize = 64 * 1024;

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
    fn provider_type(&self) -> &'static str {
        "local"
    }

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
        let mut file = fs::File::create(&temp)
            .await
            .map_err(|e| unavailable(&temp, e))?;
        let written = async {
            let mut written = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(StorageError::Aborted)?;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| unavailable(&temp, e))?;
                written += chunk.len() as u64;
            }
            file.sync_all().await.map_err(|e| unavailable(&temp, e))?;
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .await
                    .map_err(|e| unavailable(parent, e))?;
            }
            fs::rename(&temp, &target)
                .await
                .map_err(|e| unavailable(&target, e))?;
            Ok(written)
        }
        .await;
        if written.is_err() {
            drop(file);
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

    fn public_url(&self, key: &str) -> String {
        format!("{}/content/{key}", self.public_base.current())
    }

    async fn check(&self) -> Result<(), StorageError> {
        let probe = self.root.join(".tmp");
        fs::metadata(&probe)
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&probe, e))
    }
}
