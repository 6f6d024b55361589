//! Repository conformance: the same story on SQLite and PostgreSQL.

use tessera::{
    db::{AssetUpdate, Db},
    domain::{
        Asset, AssetOrderBy, AssetStatus, ContentTypeFilter, JobStatus, ListQuery, ListTotal,
        OrderDirection, Permission, ProviderType, RecordedHolder, StoredApiKey, now,
    },
};
use uuid::Uuid;

use crate::common::{Backend, TestServer};
use crate::on_both_databases;

on_both_databases!(
    repository_story,
    one_statement_details_match_the_separate_reads
);

fn asset(profile: &str, name: &str, content_type: &str, size: u64, is_public: bool) -> Asset {
    let id = Uuid::now_v7();
    let at = now();
    Asset {
        id,
        asset_type: "image".into(),
        status: AssetStatus::Ready,
        original_file_name: Some(name.into()),
        stored_file_name: format!("{id}.bin"),
        extension: "bin".into(),
        content_type: content_type.into(),
        size,
        width: Some(10),
        height: None,
        checksum_sha256: "ab".repeat(32),
        storage_provider: ProviderType::Local,
        storage_profile_id: profile.into(),
        storage_key: format!("originals/2026/11/28/{id}.bin"),
        is_public,
        description: Some(format!("about {name}")),
        alt_text: None,
        created_at: at,
        updated_at: at,
        public_url: None,
    }
}

fn query() -> ListQuery {
    ListQuery {
        public_only: false,
        page: 1,
        page_size: 10,
        query: None,
        content_type: None,
        status: None,
        order_by: AssetOrderBy::CreatedAt,
        direction: OrderDirection::Desc,
    }
}

async fn repository_story(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&backend.database_url(dir.path()).await)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.expect("migrating twice is a no-op");
    db.ping().await.unwrap();

    let profile = db.ensure_local_storage_profile("{}").await.unwrap();
    assert_eq!(profile.provider_type, ProviderType::Local);
    assert!(profile.is_default, "the first profile is the default");
    assert_eq!(
        db.ensure_local_storage_profile("{}").await.unwrap().id,
        profile.id
    );
    assert!(db.storage_profile(&profile.id).await.unwrap().is_some());
    assert!(db.storage_profile("nope").await.unwrap().is_none());

    let a = asset(&profile.id, "Cat_1.png", "image/png", 300, true);
    let b = asset(&profile.id, "dog%.jpg", "image/jpeg", 100, false);
    let c = asset(&profile.id, "bird.png", "image/png", 200, true);
    for x in [&a, &b, &c] {
        db.insert_asset(x, None).await.unwrap();
    }
    let duplicate = Asset {
        id: Uuid::now_v7(),
        ..a.clone()
    };
    assert!(
        db.insert_asset(&duplicate, None).await.is_err(),
        "storage keys are unique"
    );

    let got = db.get_asset(a.id).await.unwrap().expect("stored");
    assert_eq!(got.original_file_name, a.original_file_name);
    assert_eq!(got.created_at, a.created_at);
    assert_eq!(
        (got.width, got.height, got.is_public),
        (Some(10), None, true)
    );
    assert!(db.get_asset(Uuid::now_v7()).await.unwrap().is_none());

    let ids = |items: Vec<Asset>| items.into_iter().map(|x| x.id).collect::<Vec<_>>();
    let (items, total) = db.list_assets(&query()).await.unwrap();
    assert_eq!(
        (ids(items), total),
        (vec![c.id, b.id, a.id], ListTotal::exact(3))
    );
    let (items, total) = db
        .list_assets(&ListQuery {
            content_type: Some(ContentTypeFilter::Exact("image/png".into())),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!((ids(items), total), (vec![c.id, a.id], ListTotal::exact(2)));
    let (items, _) = db
        .list_assets(&ListQuery {
            content_type: Some(ContentTypeFilter::Family("image".into())),
            page_size: 1,
            page: 3,
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(ids(items), vec![a.id]);
    let (items, _) = db
        .list_assets(&ListQuery {
            query: Some("cat_".into()),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(ids(items), vec![a.id]);
    let (items, _) = db
        .list_assets(&ListQuery {
            query: Some("%".into()),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(ids(items), vec![b.id], "% matches literally");
    let (items, _) = db
        .list_assets(&ListQuery {
            query: Some("ABOUT BIRD".into()),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(
        ids(items),
        vec![c.id],
        "description matches case-insensitively"
    );
    let (items, _) = db
        .list_assets(&ListQuery {
            order_by: AssetOrderBy::Size,
            direction: OrderDirection::Asc,
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(ids(items), vec![b.id, c.id, a.id]);
    let (items, total) = db
        .list_assets(&ListQuery {
            status: Some(AssetStatus::Failed),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!((items.len(), total), (0, ListTotal::exact(0)));

    let later = now();
    let updated = db
        .update_asset(
            a.id,
            &AssetUpdate {
                alt_text: Some(Some("alt")),
                description: Some(None),
                ..Default::default()
            },
            later,
        )
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(updated.alt_text.as_deref(), Some("alt"));
    assert_eq!(updated.description, None);
    assert_eq!(updated.original_file_name.as_deref(), Some("Cat_1.png"));
    assert!(updated.is_public);
    assert_eq!(updated.updated_at, later);
    let updated = db
        .update_asset(
            a.id,
            &AssetUpdate {
                is_public: Some(false),
                original_file_name: Some(Some("x.png")),
                ..Default::default()
            },
            now(),
        )
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(
        (
            updated.is_public,
            updated.original_file_name.as_deref(),
            updated.alt_text.as_deref()
        ),
        (false, Some("x.png"), Some("alt"))
    );
    assert!(
        db.update_asset(Uuid::now_v7(), &AssetUpdate::default(), now())
            .await
            .unwrap()
            .is_none()
    );

    // Public content lookups see only public originals and derivatives of public assets.
    assert!(
        db.find_public_content(&a.storage_key)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.find_public_content(&b.storage_key)
            .await
            .unwrap()
            .is_none()
    );
    let found = db
        .find_public_content(&c.storage_key)
        .await
        .unwrap()
        .expect("public");
    assert_eq!(found.content_type, "image/png");
    let derivative_key = format!("derivatives/{}/thumbnail_256.webp", c.id);
    let derivative = tessera::domain::Derivative {
        kind: "thumbnail_256".into(),
        content_type: "image/webp".into(),
        extension: "webp".into(),
        size: 42,
        width: Some(256),
        height: Some(171),
        storage_key: derivative_key.clone(),
        created_at: now(),
        public_url: None,
    };
    assert_eq!(db.upsert_derivative(c.id, &derivative).await.unwrap(), None);
    let moved = tessera::domain::Derivative {
        storage_key: format!("{derivative_key}.v2"),
        ..derivative.clone()
    };
    assert_eq!(
        db.upsert_derivative(c.id, &moved).await.unwrap(),
        Some(derivative_key.clone()),
        "the replaced key is reported"
    );
    assert_eq!(
        db.upsert_derivative(c.id, &derivative).await.unwrap(),
        Some(format!("{derivative_key}.v2"))
    );
    assert_eq!(
        db.find_public_content(&derivative_key)
            .await
            .unwrap()
            .expect("derivative")
            .content_type,
        "image/webp"
    );
    assert_eq!(db.derivatives(c.id).await.unwrap()[0].width, Some(256));

    let stats = db.usage_stats().await.unwrap();
    assert_eq!(
        (
            stats.total_assets,
            stats.total_bytes,
            stats.total_derivatives
        ),
        (3, 600, 1)
    );
    assert_eq!(stats.content_type_breakdown[0].content_type, "image/png");
    assert_eq!(
        (
            stats.content_type_breakdown[0].count,
            stats.content_type_breakdown[0].total_bytes
        ),
        (2, 500)
    );

    let (deleted, derivative_keys) = db.delete_asset(c.id).await.unwrap().expect("deleted");
    assert_eq!(deleted.id, c.id);
    assert_eq!(derivative_keys, vec![derivative_key.clone()]);
    assert!(db.delete_asset(c.id).await.unwrap().is_none());
    assert!(
        db.find_public_content(&derivative_key)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.usage_stats().await.unwrap().total_derivatives, 0);

    assert_eq!(db.count_api_keys().await.unwrap(), 0);
    let key = StoredApiKey {
        id: Uuid::now_v7().to_string(),
        name: "ci".into(),
        prefix: "tsk_abcdefgh".into(),
        key_hash: "00".repeat(32),
        scopes: [Permission::AssetsRead].into_iter().collect(),
        holder: RecordedHolder::Operator,
    };
    db.insert_api_key(&key).await.unwrap();
    assert_eq!(db.count_api_keys().await.unwrap(), 1);
    assert_eq!(
        db.active_api_key_by_prefix("tsk_abcdefgh")
            .await
            .unwrap()
            .map(|k| (k.name, k.holder)),
        Some(("ci".into(), RecordedHolder::Operator))
    );
    let listed = db.api_key(&key.id).await.unwrap().expect("listed");
    assert_eq!(
        (listed.holder, listed.holder_role),
        (RecordedHolder::Operator, None)
    );
    assert_eq!(listed.info.scopes, key.scopes);
    assert!(
        db.active_api_key_by_prefix("tsk_zzzzzzzz")
            .await
            .unwrap()
            .is_none()
    );
    db.close().await;
}

on_both_databases!(job_queue_story);

/// Leasing, renewal, retry with backoff, the reaper and release, as the
/// workers rely on them.
async fn job_queue_story(backend: Backend) {
    use tessera::db::NewJob;

    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&backend.database_url(dir.path()).await)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let job = |n: u32| NewJob {
        kind: "process_asset".into(),
        asset_id: None,
        payload_json: format!("{{\"n\": {n}}}"),
        max_attempts: 2,
    };
    db.enqueue_job(&job(1)).await.unwrap();
    db.enqueue_job(&job(2)).await.unwrap();
    let t = tessera::domain::to_micros(now());
    let sec = 1_000_000;

    let first = db
        .lease_job("a", t, t + 30 * sec)
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(
        (first.payload_json.as_str(), first.attempts),
        ("{\"n\": 1}", 1)
    );
    let second = db
        .lease_job("b", t, t + 30 * sec)
        .await
        .unwrap()
        .expect("the other job");
    assert_eq!(second.payload_json, "{\"n\": 2}");
    assert!(
        db.lease_job("c", t, t + 30 * sec).await.unwrap().is_none(),
        "a leased job is not leased twice"
    );

    assert!(db.renew_lease(&first.id, "a", t + 60 * sec).await.unwrap());
    assert!(
        !db.renew_lease(&first.id, "b", t + 60 * sec).await.unwrap(),
        "only the holder renews"
    );
    db.complete_job(&first.id, "a", t).await.unwrap();

    // A failure is retried after its backoff, then gives up after max attempts.
    assert!(
        db.fail_job(&second, "b", "storage down", t, Some(t + 10 * sec))
            .await
            .unwrap()
    );
    assert!(
        !db.fail_job(&second, "someone else", "x", t, None)
            .await
            .unwrap(),
        "only the holder records the outcome"
    );
    assert!(
        db.lease_job("c", t, t + 30 * sec).await.unwrap().is_none(),
        "not before run_after"
    );
    let retried = db
        .lease_job("c", t + 11 * sec, t + 40 * sec)
        .await
        .unwrap()
        .expect("retried");
    assert_eq!(retried.attempts, 2);

    // The holder dies: the reaper finds the lease and ends it, once.
    assert!(
        db.expired_leases(t + 39 * sec).await.unwrap().is_empty(),
        "lease still valid"
    );
    let expired = db.expired_leases(t + 41 * sec).await.unwrap();
    assert_eq!(
        expired.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        [retried.id.as_str()]
    );
    assert!(
        db.end_expired_lease(&retried.id, t + 41 * sec, true)
            .await
            .unwrap()
    );
    assert!(
        !db.end_expired_lease(&retried.id, t + 41 * sec, true)
            .await
            .unwrap(),
        "a second reaper finds nothing to do"
    );
    let counts = db.job_counts().await.unwrap();
    assert_eq!(
        counts,
        vec![(JobStatus::Failed, 1), (JobStatus::Succeeded, 1)]
    );

    // A job with attempts left is requeued by the reaper; release gives a
    // running job back without spending an attempt.
    db.enqueue_job(&NewJob {
        max_attempts: 5,
        ..job(3)
    })
    .await
    .unwrap();
    let third = db
        .lease_job("d", t + 50 * sec, t + 52 * sec)
        .await
        .unwrap()
        .expect("third");
    assert!(
        db.end_expired_lease(&third.id, t + 53 * sec, false)
            .await
            .unwrap()
    );
    let again = db
        .lease_job("e", t + 53 * sec, t + 80 * sec)
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!((again.id.as_str(), again.attempts), (third.id.as_str(), 2));
    assert_eq!(db.release_jobs("e", t + 54 * sec).await.unwrap(), 1);
    let released = db
        .lease_job("f", t + 54 * sec, t + 90 * sec)
        .await
        .unwrap()
        .expect("released");
    assert_eq!(released.attempts, 2);
    db.close().await;
}

/// The detail read is one statement with the side tables aggregated as
/// JSON; it must give exactly what the separate reads give, in their order.
async fn one_statement_details_match_the_separate_reads(backend: Backend) {
    let server = TestServer::start(backend).await;
    let asset = server.upload_ok("normal/rocket_falcon9.jpg", &[]).await;
    let id = asset["id"].as_str().unwrap().to_string();
    server.wait_settled(&id).await;
    for (skill, body) in [
        ("thumbnail", serde_json::json!({"parameters": {"size": 48}})),
        ("analyze", serde_json::json!({})),
    ] {
        let response = server
            .post(&format!("/api/v1/assets/{id}/skills/{skill}/run"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{skill}");
    }
    let db = Db::connect(&server.database_url).await.unwrap();
    let uuid = Uuid::parse_str(&id).unwrap();
    let one = db.asset_details(uuid).await.unwrap().expect("details");
    assert_eq!(one.derivatives.len(), 2);
    assert!(!one.structured_results.is_empty());
    let latest = one.latest_execution.as_ref().expect("an execution");
    assert!(!latest.steps.is_empty());
    let separate = (
        db.get_asset(uuid).await.unwrap().expect("asset"),
        db.derivatives(uuid).await.unwrap(),
        db.structured_results(uuid).await.unwrap(),
        db.latest_execution(uuid).await.unwrap(),
    );
    assert_eq!(
        format!(
            "{:?}",
            (
                &one.asset,
                &one.derivatives,
                &one.structured_results,
                &one.latest_execution
            )
        ),
        format!("{:?}", (&separate.0, &separate.1, &separate.2, &separate.3))
    );
    assert_eq!(
        db.asset_details(Uuid::now_v7())
            .await
            .unwrap()
            .map(|d| d.asset.id),
        None
    );
}
