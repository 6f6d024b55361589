//! `BlobStore` conformance for the local backend: what every backend must do.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tessera::storage::{BlobStore, ByteRange, LocalStore, StorageError};

async fn read_all(
    store: &LocalStore,
    key: &str,
    range: Option<ByteRange>,
) -> Result<Vec<u8>, StorageError> {
    let read = store.get(key, range).await?;
    let mut out = Vec::new();
    let mut body = read.body;
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    Ok(out)
}

fn chunks(data: &[u8], size: usize) -> tessera::storage::ByteStream<'static> {
    let parts: Vec<std::io::Result<Bytes>> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts).boxed()
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        files_under(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn local_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().to_path_buf(), "http://cdn.example/")
        .await
        .unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let key = "originals/2026/11/28/a.jpg";

    assert_eq!(
        store.put(key, chunks(&data, 65_536)).await.unwrap(),
        data.len() as u64
    );
    assert_eq!(store.head(key).await.unwrap(), data.len() as u64);
    assert_eq!(read_all(&store, key, None).await.unwrap(), data);
    let range = ByteRange {
        start: 1_000_000,
        end: 1_000_099,
    };
    assert_eq!(
        read_all(&store, key, Some(range)).await.unwrap(),
        &data[1_000_000..1_000_100]
    );
    assert_eq!(
        store.public_url(key),
        "http://cdn.example/content/originals/2026/11/28/a.jpg"
    );
    store.check().await.unwrap();

    // Overwrite replaces atomically.
    store.put(key, chunks(b"short", 2)).await.unwrap();
    assert_eq!(read_all(&store, key, None).await.unwrap(), b"short");

    store.delete(key).await.unwrap();
    store.delete(key).await.expect("delete is idempotent");
    assert!(store.head(key).await.unwrap_err().is_not_found());
    assert!(matches!(read_all(&store, key, None).await, Err(e) if e.is_not_found()));

    // An aborted write leaves neither the object nor a temp file.
    let failing = stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(std::io::Error::other("client went away")),
    ])
    .boxed();
    assert!(matches!(
        store.put("originals/b.jpg", failing).await,
        Err(StorageError::Aborted(_))
    ));
    assert!(
        store
            .head("originals/b.jpg")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(files_under(dir.path()), 0);

    for bad in ["../escape.jpg", "/etc/passwd", "a/../../b", "a\\b"] {
        assert!(
            matches!(
                store.put(bad, chunks(b"x", 1)).await,
                Err(StorageError::InvalidKey(_))
            ),
            "{bad}"
        );
        assert!(
            matches!(store.get(bad, None).await, Err(StorageError::InvalidKey(_))),
            "{bad}"
        );
    }
    assert!(!dir.path().parent().unwrap().join("escape.jpg").exists());
}
