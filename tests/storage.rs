//! `BlobStore` conformance: what every backend must do, run against local
//! disk and against a real S3-protocol server (s3s-fs, in process, checking
//! signatures).

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tessera::storage::{BlobStore, ByteRange, LocalStore, S3Settings, S3Store, StorageError};

async fn read_all(
    store: &dyn BlobStore,
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

/// The behaviour shared by every backend. `large` is big enough to need
/// several parts where the backend uploads in parts.
async fn conformance(store: &dyn BlobStore, large: usize) {
    let data: Vec<u8> = (0..large as u32).map(|i| (i % 251) as u8).collect();
    let key = "originals/2026/11/28/a.jpg";
    assert_eq!(
        store.put(key, chunks(&data, 65_536)).await.unwrap(),
        data.len() as u64
    );
    assert_eq!(store.head(key).await.unwrap(), data.len() as u64);
    assert!(read_all(store, key, None).await.unwrap() == data);
    let range = ByteRange {
        start: 1_000_000,
        end: 1_000_099,
    };
    assert_eq!(
        read_all(store, key, Some(range)).await.unwrap(),
        &data[1_000_000..1_000_100]
    );
    assert_eq!(
        store.get(key, Some(range)).await.unwrap().size,
        data.len() as u64,
        "size is the whole object's"
    );
    store.check().await.unwrap();

    store.put(key, chunks(b"short", 2)).await.unwrap();
    assert_eq!(
        read_all(store, key, None).await.unwrap(),
        b"short",
        "overwrite replaces"
    );

    store.delete(key).await.unwrap();
    store.delete(key).await.expect("delete is idempotent");
    assert!(store.head(key).await.unwrap_err().is_not_found());
    assert!(matches!(read_all(store, key, None).await, Err(e) if e.is_not_found()));

    // An aborted write leaves no object, however far it got.
    let mut parts: Vec<std::io::Result<Bytes>> = data
        .chunks(1 << 20)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    parts.push(Err(std::io::Error::other("client went away")));
    let failing = stream::iter(parts).boxed();
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
    conformance(&store, 3_000_000).await;
    assert_eq!(files_under(dir.path()), 0, "no temp files left");
    assert!(!dir.path().parent().unwrap().join("escape.jpg").exists());
    assert_eq!(
        store.public_url("originals/x.jpg"),
        "http://cdn.example/content/originals/x.jpg"
    );
}

#[tokio::test]
async fn s3_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let endpoint =
        crate::common::s3_server(dir.path(), "AKIATESSERATEST", "tessera-test-secret").await;
    let settings = S3Settings {
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        bucket: "tessera-bucket".into(),
        access_key_id: "AKIATESSERATEST".into(),
        secret_access_key: "tessera-test-secret".into(),
        force_path_style: true,
        public_base_url: None,
    };
    let store = S3Store::new(&settings);
    // 20 MB: three parts of a multipart upload.
    conformance(&store, 20_000_000).await;
    assert_eq!(
        store.public_url("originals/x.jpg"),
        format!("{endpoint}/tessera-bucket/originals/x.jpg")
    );

    // Wrong credentials are refused by the server and reported as unavailable, not as missing.
    let wrong = S3Store::new(&S3Settings {
        secret_access_key: "wrong".into(),
        ..settings
    });
    let err = wrong
        .put("originals/c.jpg", chunks(b"data", 4))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert!(wrong.check().await.is_err());
}
