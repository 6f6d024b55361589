//! Many assets at once, written straight into the database (an upload each
//! would take minutes): asset `i` (from 1) is `failed` when `i % 5 == 0`,
//! else `ready`; PNG when `i % 3 == 0`, JPEG when 1, WebP when 2; all public.
//! Shared by the list tests and the API benchmark.

/// Inserts `count` assets into the server's database, then refreshes the
/// planner's statistics.
pub async fn seed_assets(database_url: &str, count: u64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.expect("connect");
    let profile: String =
        sqlx::query_scalar("SELECT id FROM storage_profiles WHERE is_default = 1")
            .fetch_one(&pool)
            .await
            .expect("default profile");
    let series = if database_url.starts_with("postgres") {
        "SELECT i FROM generate_series(1, $2) AS s(i)"
    } else {
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $2) SELECT i FROM s"
    };
    let id = if database_url.starts_with("postgres") {
        "'00000000-0000-7000-8000-' || lpad(i::text, 12, '0')"
    } else {
        "printf('00000000-0000-7000-8000-%012d', i)"
    };
    let sql = format!(
        "INSERT INTO assets (id, type, status, original_file_name, stored_file_name, extension, \
         content_type, size, width, height, checksum_sha256, storage_provider, storage_profile_id, \
         storage_key, is_public, description, alt_text, created_at, updated_at) \
         SELECT {id}, 'image', CASE WHEN i % 5 = 0 THEN 'failed' ELSE 'ready' END, \
         'photo-' || i || '.jpg', {id} || '.jpg', 'jpg', \
         CASE i % 3 WHEN 0 THEN 'image/png' WHEN 1 THEN 'image/jpeg' ELSE 'image/webp' END, \
         1000 + i, 640, 480, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', \
         'local', $1, 'originals/bench/' || i || '.jpg', 1, 'A photo', NULL, \
         1700000000000000 + i * 1000000, 1700000000000000 + i * 1000000 FROM ({series}) AS n"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(profile)
        .bind(i64::try_from(count).expect("count"))
        .execute(&pool)
        .await
        .expect("seed assets");
    // What autovacuum / a running SQLite would have done by now: statistics
    // for the planner and, on PostgreSQL, the visibility map for index-only counts.
    let maintenance = if database_url.starts_with("postgres") {
        "VACUUM ANALYZE assets"
    } else {
        "ANALYZE"
    };
    sqlx::query(maintenance)
        .execute(&pool)
        .await
        .expect("analyze");
    pool.close().await;
}
