//! A key acts for the user who made it and never outranks them: an admin's
//! key cannot make admins or super admins or touch them, it stops when its
//! user is disabled and shrinks when they are demoted, and users manage only
//! their own keys and those of users they outrank. Only operator keys (the
//! configuration, the CLI) have full rank, and even they make no super
//! admin through the API. Through REST and gRPC.

use reqwest::Method as M;
use serde_json::{Value, json};
use tessera::api::grpc::proto::{
    CreateUserRequest, ListApiKeysRequest, ResetUserPasswordRequest, RevokeApiKeyRequest,
    SetUserPermissionsRequest, SetUserStatusRequest, UpdateUserRequest,
    api_key_service_client::ApiKeyServiceClient, user_service_client::UserServiceClient,
};
use tonic::Code;

use crate::common::{API_KEY, Backend, TestServer, reason};
use crate::on_both_databases;
use crate::users::{ROOT_PASSWORD, call, code, start, super_admin, token};

on_both_databases!(
    an_admins_key_never_outranks_the_admin,
    keys_follow_their_holder_now,
    keys_are_managed_by_their_holder_or_those_above,
    cli_keys_have_the_operators_rank,
    keys_from_before_holders_keep_their_scopes_but_no_rank,
    nobody_makes_a_user_stronger_than_themselves,
    super_admins_disabling_each_other_are_both_refused,
);

/// Creates a user as root and returns their id.
async fn user(server: &TestServer, root: &str, username: &str, role: &str) -> String {
    let (status, body) = call(
        server,
        root,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": username, "password": format!("{username}-password-1"), "role": role })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

/// Creates a plain user holding `permissions` as root and returns their id.
async fn granted_user(
    server: &TestServer,
    root: &str,
    username: &str,
    permissions: &[&str],
) -> String {
    let (status, body) = call(
        server,
        root,
        M::POST,
        "/api/v1/users",
        Some(json!({
            "username": username,
            "password": format!("{username}-password-1"),
            "role": "user",
            "permissions": permissions,
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mut sorted = permissions.to_vec();
    sorted.sort_unstable();
    assert_eq!(body["data"]["permissions"], json!(sorted), "{body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

/// A key made by the holder of `token` with its own permissions: (id, secret).
async fn key(server: &TestServer, token: &str, name: &str) -> (String, String) {
    let (status, body) = call(
        server,
        token,
        M::POST,
        "/api/v1/apikeys",
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["data"]["id"].as_str().unwrap().to_string(),
        body["data"]["key"].as_str().unwrap().to_string(),
    )
}

async fn root_id(server: &TestServer, root: &str) -> String {
    let (_, me) = call(server, root, M::GET, "/api/v1/auth/me", None).await;
    me["data"]["id"].as_str().unwrap().to_string()
}

/// An admin manages plain users only (not other admins, not herself, not a
/// super admin), and creates plain users only: her keys, and the keys they
/// make, are held to the same.
async fn an_admins_key_never_outranks_the_admin(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let root_id = root_id(&server, &root).await;
    let alice_id = user(&server, &root, "alice", "admin").await;
    let alice = token(&server, "alice", "alice-password-1").await;
    let (_, alice_key) = key(&server, &alice, "alice's script").await;
    // A key made by that key is no stronger either.
    let (_, second_key) = key(&server, &alice_key, "made by a key").await;

    for credential in [&alice_key, &second_key] {
        for (method, path, body, expected) in [
            (
                M::POST,
                "/api/v1/users".to_string(),
                json!({ "username": "mallory", "password": "mallory-password", "role": "superAdmin" }),
                "user_super_admin_create_forbidden",
            ),
            (
                M::POST,
                "/api/v1/users".to_string(),
                json!({ "username": "mallory", "password": "mallory-password", "role": "admin" }),
                "user_create_forbidden",
            ),
            (
                M::PATCH,
                format!("/api/v1/users/{alice_id}"),
                json!({ "role": "superAdmin" }),
                "user_manage_forbidden",
            ),
            (
                M::PATCH,
                format!("/api/v1/users/{alice_id}/permissions"),
                json!({ "permissions": ["assets.read"] }),
                "user_manage_forbidden",
            ),
            (
                M::POST,
                format!("/api/v1/users/{root_id}/reset-password"),
                json!({ "newPassword": "taken-over-password" }),
                "user_manage_forbidden",
            ),
            (
                M::PATCH,
                format!("/api/v1/users/{root_id}"),
                json!({ "isActive": false }),
                "user_manage_forbidden",
            ),
            (
                M::POST,
                format!("/api/v1/users/{root_id}/status"),
                json!({ "isActive": false }),
                "user_manage_forbidden",
            ),
            (
                M::PATCH,
                format!("/api/v1/users/{root_id}/permissions"),
                json!({ "permissions": [] }),
                "user_manage_forbidden",
            ),
        ] {
            let (status, body) = call(&server, credential, method, &path, Some(body.clone())).await;
            assert_eq!(
                (status, code(&body)),
                (403, Some(expected)),
                "{path} {body}"
            );
        }
        // Nor may it even look at a super admin.
        let (status, body) = call(
            &server,
            credential,
            M::GET,
            &format!("/api/v1/users/{root_id}"),
            None,
        )
        .await;
        assert_eq!((status, code(&body)), (403, Some("user_manage_forbidden")));
    }
    // Nothing changed: root still logs in with the old password and is
    // active, alice is an admin with every permission.
    token(&server, "root", ROOT_PASSWORD).await;
    let (_, root_now) = call(
        &server,
        &root,
        M::GET,
        &format!("/api/v1/users/{root_id}"),
        None,
    )
    .await;
    assert_eq!(root_now["data"]["isActive"], true, "{root_now}");
    let (_, alice_now) = call(
        &server,
        &root,
        M::GET,
        &format!("/api/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(alice_now["data"]["role"], "admin");
    assert_eq!(
        alice_now["data"]["permissions"].as_array().map(Vec::len),
        Some(tessera::domain::Permission::ALL.len())
    );
    // What the admin may do, the key may do: plain users.
    let (status, body) = call(
        &server,
        &alice_key,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "carol", "password": "carol-password-1", "role": "user" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["permissions"], json!(["assets.read"]));

    // gRPC: the same refusals.
    let (channel, interceptor) = server.grpc_parts(Some(&alice_key)).await;
    let mut users = UserServiceClient::with_interceptor(channel, interceptor);
    let err = users
        .create_user(CreateUserRequest {
            username: "mallory".into(),
            password: "mallory-password".into(),
            role: "superAdmin".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "user_super_admin_create_forbidden")
    );
    let err = users
        .create_user(CreateUserRequest {
            username: "mallory".into(),
            password: "mallory-password".into(),
            role: "admin".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "user_create_forbidden")
    );
    let err = users
        .update_user(UpdateUserRequest {
            id: alice_id.clone(),
            role: Some("superAdmin".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "user_manage_forbidden")
    );
    let err = users
        .set_user_status(SetUserStatusRequest {
            id: root_id.clone(),
            is_active: false,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "user_manage_forbidden")
    );
    let err = users
        .reset_user_password(ResetUserPasswordRequest {
            id: root_id.clone(),
            new_password: "taken-over-password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "user_manage_forbidden")
    );
    token(&server, "root", ROOT_PASSWORD).await;
}

async fn keys_follow_their_holder_now(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let alice_id = user(&server, &root, "alice", "admin").await;
    let alice = token(&server, "alice", "alice-password-1").await;
    let (_, alice_key) = key(&server, &alice, "alice's script").await;
    let (status, _) = call(&server, &alice_key, M::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);

    // Demoted: her permissions fall back to the user role's defaults, and
    // the key shrinks with her (a user may not manage users).
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{alice_id}"),
        Some(json!({ "role": "user" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["permissions"], json!(["assets.read"]));
    let (status, body) = call(&server, &alice_key, M::GET, "/api/v1/users", None).await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
    let (status, _) = call(&server, &alice_key, M::GET, "/api/v1/assets", None).await;
    assert_eq!(status, 200, "what a user may do still works");
    let missing = format!("/api/v1/assets/{}", uuid::Uuid::now_v7());
    let (status, body) = call(&server, &alice_key, M::DELETE, &missing, None).await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("auth_forbidden")),
        "a plain user only reads assets"
    );

    // Disabled: the key is refused like an unknown one, over REST and gRPC.
    let (status, body) = call(
        &server,
        &root,
        M::POST,
        &format!("/api/v1/users/{alice_id}/status"),
        Some(json!({ "isActive": false })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["isActive"], false);
    let (status, body) = call(&server, &alice_key, M::GET, "/api/v1/assets", None).await;
    assert_eq!((status, code(&body)), (401, Some("api_key_invalid")));
    let err = server
        .grpc_with_key(Some(&alice_key))
        .await
        .list_assets(tessera::api::grpc::proto::ListAssetsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "api_key_invalid")
    );

    // Active again, promoted again: the key follows.
    let (status, body) = call(
        &server,
        &root,
        M::POST,
        &format!("/api/v1/users/{alice_id}/status"),
        Some(json!({ "isActive": true })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{alice_id}"),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(&server, &alice_key, M::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);
}

async fn keys_are_managed_by_their_holder_or_those_above(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    user(&server, &root, "alice", "admin").await;
    user(&server, &root, "amy", "admin").await;
    let alice = token(&server, "alice", "alice-password-1").await;
    let amy = token(&server, "amy", "amy-password-1").await;
    let (root_key, root_secret) = key(&server, &root, "root's key").await;
    let (alice_key, _) = key(&server, &alice, "alice's key").await;
    let (amy_key, _) = key(&server, &amy, "amy's key").await;

    let listed = |body: &Value| -> Vec<String> {
        let mut ids: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<&String>| -> Vec<String> {
        ids.sort();
        ids.into_iter().cloned().collect()
    };
    // An admin sees her own keys only: not the super admin's, not another admin's.
    let (_, body) = call(&server, &alice, M::GET, "/api/v1/apikeys", None).await;
    assert_eq!(listed(&body), vec![alice_key.clone()]);
    for other in [&root_key, &amy_key] {
        let (status, body) = call(
            &server,
            &alice,
            M::DELETE,
            &format!("/api/v1/apikeys/{other}"),
            None,
        )
        .await;
        assert_eq!((status, code(&body)), (404, Some("api_key_not_found")));
    }
    let (status, _) = call(&server, &root_secret, M::GET, "/api/v1/assets", None).await;
    assert_eq!(status, 200, "root's key still works");
    // The super admin sees and manages the keys of those below.
    let (_, body) = call(&server, &root, M::GET, "/api/v1/apikeys", None).await;
    assert_eq!(listed(&body), sorted(vec![&root_key, &alice_key, &amy_key]));
    // The operator sees every key.
    let (_, body) = call(&server, API_KEY, M::GET, "/api/v1/apikeys", None).await;
    assert!(listed(&body).contains(&root_key) && listed(&body).contains(&amy_key));

    // gRPC: the same view and the same refusal.
    let (channel, interceptor) = server.grpc_parts(Some(&alice)).await;
    let mut keys = ApiKeyServiceClient::with_interceptor(channel, interceptor);
    let seen: Vec<String> = keys
        .list_api_keys(ListApiKeysRequest {})
        .await
        .unwrap()
        .into_inner()
        .api_keys
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(seen, vec![alice_key.clone()]);
    let err = keys
        .revoke_api_key(RevokeApiKeyRequest {
            id: root_key.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "api_key_not_found")
    );
    // Her own key she may revoke; the super admin may revoke an admin's.
    keys.revoke_api_key(RevokeApiKeyRequest {
        id: alice_key.clone(),
    })
    .await
    .unwrap();
    let (status, _) = call(
        &server,
        &root,
        M::DELETE,
        &format!("/api/v1/apikeys/{amy_key}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
}

/// A key made with the CLI is the operator's: it manages anyone, a super
/// admin included (which no admin, and no other super admin, may), though
/// not even the operator makes a super admin through the API.
async fn cli_keys_have_the_operators_rank(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let root_id = root_id(&server, &root).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["apikey", "create", "--name", "ops"])
        .env_clear()
        .env("TESSERA_DATA_DIR", server.data_dir.path())
        .env("TESSERA_DATABASE_URL", &server.database_url)
        .env("TESSERA_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let secret = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let (status, body) = call(
        &server,
        &secret,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "second-root", "password": "second-root-password", "role": "superAdmin" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_super_admin_create_forbidden")),
        "{body}"
    );
    let (status, body) = call(
        &server,
        &secret,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "second-admin", "password": "second-admin-password", "role": "admin" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        &server,
        &secret,
        M::GET,
        &format!("/api/v1/users/{root_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &server,
        &secret,
        M::POST,
        &format!("/api/v1/users/{root_id}/reset-password"),
        Some(json!({ "newPassword": "set-by-the-operator" })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    token(&server, "root", "set-by-the-operator").await;
}

/// A key stored before keys recorded their holder (as an upgrade finds it):
/// its scopes keep working, but it manages no user and no other key.
async fn keys_from_before_holders_keep_their_scopes_but_no_rank(backend: Backend) {
    let server = start(backend).await;
    let secret = tessera::auth::generate_api_key();
    let db = tessera::db::Db::connect(&server.database_url)
        .await
        .unwrap();
    use tessera::domain::Permission;
    db.insert_api_key(&tessera::domain::StoredApiKey {
        id: uuid::Uuid::now_v7().to_string(),
        name: "from an older version".into(),
        prefix: tessera::auth::lookup_prefix(&secret).unwrap().into(),
        key_hash: tessera::auth::hash_secret_hex(&secret),
        scopes: [
            Permission::AssetsRead,
            Permission::UsersRead,
            Permission::UsersCreate,
            Permission::UsersUpdate,
            Permission::ApiKeysManage,
        ]
        .into_iter()
        .collect(),
        holder: tessera::domain::RecordedHolder::Unknown,
    })
    .await
    .unwrap();
    db.close().await;
    let (status, _) = call(&server, &secret, M::GET, "/api/v1/assets", None).await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &server,
        &secret,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "mallory", "password": "mallory-password", "role": "user" })),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("user_create_forbidden")));
    // It sees no user.
    let (status, body) = call(&server, &secret, M::GET, "/api/v1/users", None).await;
    assert_eq!((status, &body["data"]), (200, &json!([])), "{body}");
    let (_, body) = call(&server, &secret, M::GET, "/api/v1/apikeys", None).await;
    assert_eq!(body["data"], json!([]));
    // Nobody answers for it, so it may not multiply itself.
    let (status, body) = call(
        &server,
        &secret,
        M::POST,
        "/api/v1/apikeys",
        Some(json!({ "name": "offspring", "scopes": ["assets.read"] })),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
    // The super admin can see it and clean it up.
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let (_, body) = call(&server, &root, M::GET, "/api/v1/apikeys", None).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    // Not even a plain user is within its reach.
    let bob_id = user(&server, &root, "bob", "user").await;
    for (method, path, body) in [
        (M::GET, format!("/api/v1/users/{bob_id}"), None),
        (
            M::POST,
            format!("/api/v1/users/{bob_id}/reset-password"),
            Some(json!({ "newPassword": "taken-over-password" })),
        ),
    ] {
        let (status, body) = call(&server, &secret, method, &path, body).await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("user_manage_forbidden")),
            "{path}"
        );
    }
    token(&server, "bob", "bob-password-1").await;
}

/// Role defaults and granted lists count as granted permissions: a caller
/// cannot create a user holding what it does not hold, grant it, promote a
/// user to a role that holds it, nor take over a stronger user by resetting
/// their password; a key scoped to user management alone cannot even
/// create a plain user (who reads assets), and nobody creates a super
/// admin. REST and gRPC.
async fn nobody_makes_a_user_stronger_than_themselves(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let rita_id = user(&server, &root, "rita", "admin").await;
    let bob_id = granted_user(&server, &root, "bob", &["assets.read", "assets.delete"]).await;
    let cleo_id = user(&server, &root, "cleo", "user").await;
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{rita_id}/permissions"),
        Some(json!({ "permissions": [
            "assets.read",
            "users.read",
            "users.create",
            "users.update",
            "users.managePermissions",
        ] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["permissions"],
        json!([
            "assets.read",
            "users.create",
            "users.managePermissions",
            "users.read",
            "users.update",
        ])
    );
    let rita = token(&server, "rita", "rita-password-1").await;
    for (method, path, body) in [
        (
            M::POST,
            "/api/v1/users".to_string(),
            json!({
                "username": "puppet",
                "password": "puppet-password-1",
                "role": "user",
                "permissions": ["assets.read", "assets.delete"],
            }),
        ),
        (
            M::POST,
            format!("/api/v1/users/{bob_id}/reset-password"),
            json!({ "newPassword": "taken-over-password" }),
        ),
        (
            M::PATCH,
            format!("/api/v1/users/{cleo_id}/permissions"),
            json!({ "permissions": ["assets.read", "assets.delete"] }),
        ),
        (
            M::PATCH,
            format!("/api/v1/users/{cleo_id}"),
            json!({ "role": "admin" }),
        ),
    ] {
        let (status, body) = call(&server, &rita, method, &path, Some(body)).await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("auth_forbidden")),
            "{path}"
        );
    }
    token(&server, "bob", "bob-password-1").await;
    let (_, cleo_now) = call(
        &server,
        &root,
        M::GET,
        &format!("/api/v1/users/{cleo_id}"),
        None,
    )
    .await;
    assert_eq!(
        (&cleo_now["data"]["role"], &cleo_now["data"]["permissions"]),
        (&json!("user"), &json!(["assets.read"]))
    );
    // What she holds, she may grant (the list trimmed, unknown names
    // dropped, duplicates merged, sorted by name).
    let (status, body) = call(
        &server,
        &rita,
        M::PATCH,
        &format!("/api/v1/users/{cleo_id}/permissions"),
        Some(json!({ "permissions": ["users.read", " assets.read ", "users.read", "no.such"] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["permissions"],
        json!(["assets.read", "users.read"])
    );
    // Once bob holds no more than she does, she may reset his password.
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{bob_id}/permissions"),
        Some(json!({ "permissions": ["assets.read"] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &server,
        &rita,
        M::POST,
        &format!("/api/v1/users/{bob_id}/reset-password"),
        Some(json!({ "newPassword": "a-new-password-1" })),
    )
    .await;
    assert_eq!((status, &body), (204, &Value::Null));
    token(&server, "bob", "a-new-password-1").await;

    // An operator key scoped to user management only.
    let (status, scoped) = call(
        &server,
        API_KEY,
        M::POST,
        "/api/v1/apikeys",
        Some(json!({ "name": "user admin", "scopes": [
            "users.read",
            "users.create",
            "users.update",
            "users.disable",
            "users.managePermissions",
        ] })),
    )
    .await;
    assert_eq!(status, 201, "{scoped}");
    let scoped = scoped["data"]["key"].as_str().unwrap().to_string();
    let (channel, interceptor) = server.grpc_parts(Some(&scoped)).await;
    let mut users = UserServiceClient::with_interceptor(channel, interceptor);
    for (role, expected) in [
        // A plain user reads assets, which the key may not.
        ("user", "auth_forbidden"),
        ("admin", "auth_forbidden"),
        ("superAdmin", "user_super_admin_create_forbidden"),
    ] {
        let err = users
            .create_user(CreateUserRequest {
                username: "puppet".into(),
                password: "puppet-password-1".into(),
                role: role.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), reason(&err).as_str()),
            (Code::PermissionDenied, expected),
            "{role}"
        );
    }
    let err = users
        .set_user_permissions(SetUserPermissionsRequest {
            id: cleo_id.clone(),
            permissions: vec!["assets.read".into(), "assets.create".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "auth_forbidden")
    );
    // Without a role there is nothing to create.
    let err = users
        .create_user(CreateUserRequest {
            username: "puppet".into(),
            password: "puppet-password-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "request_invalid")
    );
}

/// Super admins are never disabled through the API: not by each other,
/// even at the same moment, not by themselves, not even by the operator.
/// (Another super admin is made on the server, as the CLI makes one.)
async fn super_admins_disabling_each_other_are_both_refused(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let root_id = root_id(&server, &root).await;
    let other_id = super_admin(&server, "root2").await;
    let other = token(&server, "root2", "root2-password-1").await;
    let (other_path, root_path) = (
        format!("/api/v1/users/{other_id}"),
        format!("/api/v1/users/{root_id}"),
    );
    let disable = Some(json!({ "isActive": false }));
    for round in 0..4 {
        // Through the status route and through a profile change.
        let suffix = if round % 2 == 0 { "/status" } else { "" };
        let method = if suffix.is_empty() { M::PATCH } else { M::POST };
        let (to_other, to_root) = (
            format!("{other_path}{suffix}"),
            format!("{root_path}{suffix}"),
        );
        let (first, second) = tokio::join!(
            call(&server, &root, method.clone(), &to_other, disable.clone()),
            call(&server, &other, method.clone(), &to_root, disable.clone()),
        );
        for (status, body) in [&first, &second] {
            assert_eq!(
                (*status, code(body)),
                (403, Some("user_manage_super_admin_forbidden")),
                "round {round}: {body}"
            );
        }
        let (_, users) = call(&server, API_KEY, M::GET, "/api/v1/users", None).await;
        let active = users["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["role"] == "superAdmin" && u["isActive"] == true)
            .count();
        assert_eq!(active, 2, "round {round}: {users}");
    }
    // Nor by themselves, nor by the operator.
    for (credential, id) in [
        (root.as_str(), &root_id),
        (other.as_str(), &other_id),
        (API_KEY, &root_id),
    ] {
        let (status, body) = call(
            &server,
            credential,
            M::POST,
            &format!("/api/v1/users/{id}/status"),
            disable.clone(),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (403, Some("user_super_admin_disable_forbidden")),
            "{body}"
        );
    }
    let (channel, interceptor) = server.grpc_parts(Some(API_KEY)).await;
    let err = UserServiceClient::with_interceptor(channel, interceptor)
        .set_user_status(SetUserStatusRequest {
            id: other_id.clone(),
            is_active: false,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "user_super_admin_disable_forbidden")
    );
    // Both still log in.
    token(&server, "root", ROOT_PASSWORD).await;
    token(&server, "root2", "root2-password-1").await;
}
