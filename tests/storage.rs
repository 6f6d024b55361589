//! `BlobStore` conformance: what every backend must do, run against local
//! disk, a real S3-protocol server (s3s-fs, in process, checking signatures)
//! and a stand-in for GitHub's contents API.

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tessera::storage::{
    BlobStore, ByteRange, GitHubSettings, GitHubStore, LocalStore, PublicBase, S3Settings, S3Store,
    StorageError,
};

use crate::common::fake_github::{Failure, FakeGitHub};

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
        store.put(key, chunks(&data, 65_536), None).await.unwrap(),
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

    store.put(key, chunks(b"short", 2), None).await.unwrap();
    assert_eq!(
        read_all(store, key, None).await.unwrap(),
        b"short",
        "overwrite replaces"
    );

    store.delete(key, None).await.unwrap();
    store.delete(key, None).await.expect("delete is idempotent");
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
        store.put("originals/b.jpg", failing, None).await,
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
                store.put(bad, chunks(b"x", 1), None).await,
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
    let store = LocalStore::open(
        dir.path().to_path_buf(),
        PublicBase::fixed("http://cdn.example/"),
    )
    .await
    .unwrap();
    conformance(&store, 3_000_000).await;
    assert_eq!(files_under(dir.path()), 0, "no temp files left");
    assert!(!dir.path().parent().unwrap().join("escape.jpg").exists());
    assert_eq!(
        store.public_url("originals/x.jpg"),
        Some("http://cdn.example/content/originals/x.jpg".to_string())
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
        Some(format!("{endpoint}/tessera-bucket/originals/x.jpg"))
    );

    // Wrong credentials are refused by the server and reported as unavailable, not as missing.
    let wrong = S3Store::new(&S3Settings {
        secret_access_key: "wrong".into(),
        ..settings
    });
    let err = wrong
        .put("originals/c.jpg", chunks(b"data", 4), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
    assert!(wrong.check().await.is_err());
}

fn github_settings(fake: &FakeGitHub) -> GitHubSettings {
    GitHubSettings {
        owner: "octo-org".into(),
        repo: "image-host".into(),
        branch: "images".into(),
        base_path: "site/media".into(),
        token: "ghp_conformance_token".into(),
        api_base_url: fake.api_base_url.clone(),
        raw_base_url: "https://raw.example".into(),
        commit_message_template: "tessera {operation}: {fileName} ({path})".into(),
        allows_private: false,
    }
}

#[tokio::test]
async fn github_store_conformance() {
    let fake = FakeGitHub::start("octo-org", "image-host", "ghp_conformance_token").await;
    let store = GitHubStore::new(github_settings(&fake)).unwrap();
    // Over 1 MB: the contents API no longer inlines the file, reads go raw.
    conformance(&store, 3_000_000).await;
    assert!(
        fake.files("images").is_empty(),
        "{:?}",
        fake.files("images")
    );
    assert!(
        fake.files("main").is_empty(),
        "writes go to the configured branch"
    );
    let commits = fake.commits();
    let ops: Vec<&str> = commits.iter().map(|c| c.operation).collect();
    assert_eq!(
        ops,
        ["create", "update", "delete"],
        "the aborted upload made no commit"
    );
    assert_eq!(
        commits[0].message, "tessera upload: a.jpg (originals/2026/11/28/a.jpg)",
        "{{path}} is relative to the base path"
    );
    assert_eq!(commits[0].path, "site/media/originals/2026/11/28/a.jpg");
    assert!(commits[1].message.starts_with("tessera update: a.jpg"));
    assert!(commits[2].message.starts_with("tessera delete: a.jpg"));
    assert_eq!(
        store.public_url("originals/x.jpg"),
        Some(
            "https://raw.example/octo-org/image-host/images/site/media/originals/x.jpg".to_string()
        )
    );
    assert_eq!(store.max_object_bytes(), Some(100 * 1024 * 1024));
    assert!(!store.allows_private());

    // A caller's message replaces the template.
    store
        .put(
            "originals/m.jpg",
            chunks(b"abc", 3),
            Some("Add the launch photo"),
        )
        .await
        .unwrap();
    store
        .delete("originals/m.jpg", Some("Remove the launch photo"))
        .await
        .unwrap();
    let commits = fake.commits();
    let last: Vec<&str> = commits[commits.len() - 2..]
        .iter()
        .map(|c| c.message.as_str())
        .collect();
    assert_eq!(last, ["Add the launch photo", "Remove the launch photo"]);

    // Concurrent uploads are taken one at a time: all land, none conflicts.
    let puts = (0..5).map(|i| {
        let key = format!("originals/concurrent-{i}.jpg");
        let store = &store;
        async move { store.put(&key, chunks(&[i as u8; 1000], 100), None).await }
    });
    for result in futures_util::future::join_all(puts).await {
        assert_eq!(result.unwrap(), 1000);
    }
    assert_eq!(fake.files("images").len(), 5);
}

#[tokio::test]
async fn github_answers_become_specific_errors() {
    let fake = FakeGitHub::start("octo-org", "image-host", "ghp_conformance_token").await;
    let store = GitHubStore::new(github_settings(&fake)).unwrap();
    let put = |key: &'static str| store.put(key, chunks(b"image bytes", 4), None);

    fake.fail_next(Failure::Status(401), 1);
    assert!(matches!(
        put("originals/1.jpg").await,
        Err(StorageError::Unauthorized(_))
    ));
    fake.fail_next(Failure::Status(404), 1);
    assert!(matches!(
        put("originals/2.jpg").await,
        Err(StorageError::TargetNotFound(_))
    ));
    fake.fail_next(Failure::Status(422), 2);
    assert!(matches!(
        put("originals/3.jpg").await,
        Err(StorageError::Rejected(_))
    ));
    fake.fail_next(Failure::RateLimited, 1);
    match put("originals/4.jpg").await {
        Err(StorageError::RateLimited {
            retry_after_seconds: Some(seconds),
        }) => assert!((1..=60).contains(&seconds), "{seconds}"),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    // A moved branch is retried; a branch that keeps moving is a conflict.
    fake.fail_next(Failure::Status(409), 1);
    put("originals/5.jpg")
        .await
        .expect("one conflict is retried");
    fake.fail_next(Failure::Status(409), 12);
    assert!(matches!(
        put("originals/6.jpg").await,
        Err(StorageError::Conflict(_))
    ));
    fake.clear_failures();
    assert_eq!(fake.files("images"), ["site/media/originals/5.jpg"]);

    // Wrong token, wrong repository, missing branch.
    let wrong_token = GitHubStore::new(GitHubSettings {
        token: "ghp_wrong".into(),
        ..github_settings(&fake)
    })
    .unwrap();
    let checked = wrong_token.check().await;
    assert!(
        matches!(checked, Err(StorageError::Unauthorized(_))),
        "{checked:?}"
    );
    assert!(matches!(
        wrong_token.get("originals/5.jpg", None).await,
        Err(StorageError::Unauthorized(_))
    ));
    let wrong_repo = GitHubStore::new(GitHubSettings {
        repo: "missing".into(),
        ..github_settings(&fake)
    })
    .unwrap();
    assert!(matches!(
        wrong_repo.check().await,
        Err(StorageError::TargetNotFound(_))
    ));
    let wrong_branch = GitHubStore::new(GitHubSettings {
        branch: "gone".into(),
        ..github_settings(&fake)
    })
    .unwrap();
    assert!(matches!(
        wrong_branch.check().await,
        Err(StorageError::TargetNotFound(_))
    ));
    store.check().await.unwrap();

    // Over 100 MB is refused before anything is sent.
    let commits_before = fake.commits().len();
    let chunk = Bytes::from(vec![7u8; 1 << 20]);
    let huge = stream::iter((0..101).map(move |_| Ok(chunk.clone()))).boxed();
    assert!(matches!(
        store.put("originals/huge.jpg", huge, None).await,
        Err(StorageError::TooLarge { limit }) if limit == 100 * 1024 * 1024
    ));
    assert_eq!(fake.commits().len(), commits_before);
}
