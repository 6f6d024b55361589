//! The guards of user management (NekoHub's §2.16 and tessera's own): the
//! order of checks, super admins out of reach, no grant beyond what the
//! caller holds, and the bootstrap on an empty database only.

use reqwest::Method as M;
use serde_json::json;

use crate::common::{API_KEY, Backend, TestServer};
use crate::on_both_databases;
use crate::users::{ROOT_PASSWORD, call, code, create, login, names, start, super_admin, token};

on_both_databases!(
    creating_and_changing_users_is_validated,
    super_admins_are_out_of_reach,
    the_bootstrap_runs_on_an_empty_database_only,
    upgrading_keeps_what_users_and_keys_could_do,
);

/// Check order and codes of create and patch; a refused request changes nothing.
async fn creating_and_changing_users_is_validated(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let bob_id = create(&server, &root, "bob", "user").await;
    create(&server, &root, "carol", "user").await;
    for (body, status, expected) in [
        (
            json!({ "username": "Bob", "password": "another-password", "role": "user" }),
            409,
            "user_username_conflict",
        ),
        (
            json!({ "username": "   ", "password": "another-password", "role": "user" }),
            400,
            "user_username_required",
        ),
        (
            json!({ "username": "", "password": "another-password", "role": "user" }),
            400,
            "request_invalid",
        ),
        (
            json!({ "password": "another-password", "role": "user" }),
            400,
            "request_invalid",
        ),
        (
            json!({ "username": "dave", "password": "another-password" }),
            400,
            "request_invalid",
        ),
        (
            json!({ "username": "dave", "password": "another-password", "role": "god" }),
            400,
            "request_invalid",
        ),
        (
            json!({ "username": "x", "password": "another-password", "role": "user" }),
            400,
            "user_username_invalid",
        ),
        (
            json!({ "username": "dave", "password": "     ", "role": "user" }),
            400,
            "user_password_required",
        ),
        (
            json!({ "username": "dave", "password": "short", "role": "user" }),
            400,
            "user_password_too_short",
        ),
        (
            json!({ "username": "dave", "password": "another-password", "role": "superAdmin" }),
            403,
            "user_super_admin_create_forbidden",
        ),
        // The role is checked before the name: a taken name still hears about the role.
        (
            json!({ "username": "bob", "password": "another-password", "role": "superAdmin" }),
            403,
            "user_super_admin_create_forbidden",
        ),
    ] {
        let (s, b) = call(&server, &root, M::POST, "/api/v1/users", Some(body.clone())).await;
        assert_eq!((s, code(&b)), (status, Some(expected)), "{body}");
    }
    // Unknown permission names are dropped; all unknown means none at all.
    let (status, body) = call(
        &server,
        &root,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "erin", "password": "erin-password", "role": "admin", "permissions": ["nothing.real"] })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["permissions"].clone()),
        (201, json!([]))
    );

    let bob = format!("/api/v1/users/{bob_id}");
    for (body, status, expected) in [
        (
            json!({ "username": "carol" }),
            409,
            "user_username_conflict",
        ),
        (json!({ "username": "  " }), 400, "user_username_required"),
        (
            json!({ "role": "superAdmin" }),
            403,
            "user_super_admin_promote_forbidden",
        ),
        (json!({ "role": "emperor" }), 400, "request_invalid"),
        (json!({ "isEnabled": false }), 400, "request_invalid"),
        (
            json!({ "permissions": ["assets.delete"] }),
            400,
            "request_invalid",
        ),
    ] {
        let (s, b) = call(&server, &root, M::PATCH, &bob, Some(body.clone())).await;
        assert_eq!((s, code(&b)), (status, Some(expected)), "{body}");
    }
    let (_, after) = call(&server, &root, M::GET, &bob, None).await;
    assert_eq!(
        (
            &after["data"]["username"],
            &after["data"]["role"],
            &after["data"]["isActive"]
        ),
        (&json!("bob"), &json!("user"), &json!(true)),
        "refused changes left bob alone"
    );
    for (path, body) in [
        (format!("{bob}/status"), json!({})),
        (
            format!("{bob}/reset-password"),
            json!({ "password": "old-field-name" }),
        ),
    ] {
        let (s, b) = call(&server, &root, M::POST, &path, Some(body)).await;
        assert_eq!((s, code(&b)), (400, Some("request_invalid")), "{path}");
    }
    let (s, b) = call(
        &server,
        &root,
        M::PATCH,
        &format!("{bob}/permissions"),
        Some(json!({ "permissions": null })),
    )
    .await;
    assert_eq!((s, code(&b)), (400, Some("request_invalid")));
    let (s, b) = call(
        &server,
        &root,
        M::POST,
        &format!("{bob}/reset-password"),
        Some(json!({ "newPassword": "   " })),
    )
    .await;
    assert_eq!((s, code(&b)), (400, Some("user_password_required")));
    token(&server, "bob", "bob-password").await;
}

/// A super admin is reached by the operator only, and even then is never
/// disabled, demoted or narrowed; super admins do not manage each other.
async fn super_admins_are_out_of_reach(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let (_, me) = call(&server, &root, M::GET, "/api/v1/auth/me", None).await;
    let root_id = me["data"]["id"].as_str().unwrap().to_string();
    let other_id = super_admin(&server, "other-root").await;
    let other = format!("/api/v1/users/{other_id}");

    let (status, body) = call(&server, &root, M::GET, &other, None).await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_manage_super_admin_forbidden"))
    );
    let (status, body) = call(
        &server,
        &root,
        M::POST,
        &format!("{other}/reset-password"),
        Some(json!({ "newPassword": "taken-over-password" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_manage_super_admin_forbidden"))
    );
    let (status, list) = call(&server, &root, M::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);
    assert!(
        names(&list).contains(&"other-root".to_string()),
        "seen, not managed"
    );
    // Root manages itself, within the guards.
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{root_id}"),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_super_admin_role_change_forbidden"))
    );
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{root_id}"),
        Some(json!({ "username": "root-renamed" })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["username"].as_str()),
        (200, Some("root-renamed"))
    );

    // The operator reaches every account, but the guards still hold.
    for (method, path, body, expected) in [
        (
            M::POST,
            format!("{other}/status"),
            json!({ "isActive": false }),
            "user_super_admin_disable_forbidden",
        ),
        (
            M::PATCH,
            other.clone(),
            json!({ "isActive": false }),
            "user_super_admin_disable_forbidden",
        ),
        (
            M::PATCH,
            other.clone(),
            json!({ "role": "user" }),
            "user_super_admin_role_change_forbidden",
        ),
        (
            M::PATCH,
            format!("{other}/permissions"),
            json!({ "permissions": [] }),
            "user_super_admin_permissions_forbidden",
        ),
    ] {
        let (s, b) = call(&server, API_KEY, method, &path, Some(body.clone())).await;
        assert_eq!((s, code(&b)), (403, Some(expected)), "{path} {body}");
    }
    // Both still log in (racing super admins: key_holders.rs).
    token(&server, "root-renamed", ROOT_PASSWORD).await;
    token(&server, "other-root", "other-root-password-1").await;
}

/// Contract tests 80 and 81.
async fn the_bootstrap_runs_on_an_empty_database_only(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let (_, list) = call(&server, &root, M::GET, "/api/v1/users", None).await;
    assert_eq!(names(&list), ["root"]);
    assert_eq!(list["data"][0]["permissions"].as_array().unwrap().len(), 20);
    // Another configuration naming a different admin finds users: skipped.
    let again = TestServer::start_beside(&server, |config| {
        config.bootstrap_admin_username = Some("second-boot".into());
        config.bootstrap_admin_password =
            Some(tessera::config::Secret::new("second-boot-password"));
    })
    .await;
    let (status, body) = login(&again, "second-boot", "second-boot-password").await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("auth_invalid_credentials"))
    );
    let (_, list) = call(&again, API_KEY, M::GET, "/api/v1/users", None).await;
    assert_eq!(names(&list), ["root"]);
}

/// Migration 0010 on rows as version 0009 wrote them: old permission names
/// become the new names that cover the same, and users of the role `user`
/// keep the four `assets.*` they had by default.
async fn upgrading_keeps_what_users_and_keys_could_do(backend: Backend) {
    use tessera::domain::Permission as P;
    let dir = tempfile::tempdir().unwrap();
    let url = backend.database_url(dir.path()).await;
    let before = dir.path().join("migrations-0009");
    std::fs::create_dir(&before).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0010" {
            std::fs::copy(&path, before.join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for (id, name, role, permissions, enabled) in [
        ("u1", "plain", "user", None, 1),
        (
            "u2",
            "shop-admin",
            "admin",
            Some(r#"["assets.read","storage.manage","apikeys.manage"]"#),
            1,
        ),
        (
            "u3",
            "people",
            "user",
            Some(r#"["users.manage","ai.manage"]"#),
            0,
        ),
    ] {
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, permissions, is_enabled, created_at, updated_at) \
             VALUES ($1, $2, 'x', $3, $4, $5, 1, 1)",
        )
        .bind(id)
        .bind(name)
        .bind(role)
        .bind(permissions)
        .bind(enabled)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at, holder) \
         VALUES ('k1', 'old', 'tsk_oldkey', 'x', '[\"assets.read\",\"storage.manage\"]', 1, 'operator')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let db = tessera::db::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let user = |name: &'static str| {
        let db = db.clone();
        async move { db.user_by_name(name).await.unwrap().unwrap().user }
    };
    let plain = user("plain").await;
    assert_eq!(
        plain.permissions.names(),
        [
            "assets.create",
            "assets.delete",
            "assets.read",
            "assets.update"
        ]
    );
    let admin = user("shop-admin").await;
    assert_eq!(
        admin.permissions.names(),
        [
            "apiKeys.manage",
            "assets.read",
            "providers.create",
            "providers.delete",
            "providers.read",
            "providers.update",
            "settings.read",
            "settings.update",
        ]
    );
    let people = user("people").await;
    assert!(!people.is_active);
    assert!(people.last_login_at.is_none());
    for p in [
        P::UsersRead,
        P::UsersCreate,
        P::UsersUpdate,
        P::UsersDisable,
        P::UsersManagePermissions,
        P::AiProvidersRead,
        P::AiProvidersDelete,
    ] {
        assert!(people.permissions.contains(p), "{p:?}");
    }
    assert_eq!(people.permissions.names().len(), 9);
    let key = db.api_key("k1").await.unwrap().unwrap();
    assert_eq!(
        key.info.scopes.names(),
        [
            "assets.read",
            "providers.create",
            "providers.delete",
            "providers.read",
            "providers.update",
            "settings.read",
            "settings.update"
        ]
    );
}
