//! A key acts for the user who made it and never outranks them: an admin's
//! key cannot make super admins or touch them, it stops when its user is
//! disabled and shrinks when they are demoted, and users manage only their
//! own keys and those of users they outrank. Only operator keys (the
//! configuration, the CLI) have full rank. Through REST and gRPC.

use reqwest::Method as M;
use serde_json::{Value, json};
use tessera::api::grpc::proto::{
    CreateUserRequest, ListApiKeysRequest, RevokeApiKeyRequest, UpdateUserRequest,
    api_key_service_client::ApiKeyServiceClient, user_service_client::UserServiceClient,
};
use tonic::Code;

use crate::common::{API_KEY, Backend, TestServer, reason};
use crate::on_both_databases;
use crate::users::{ROOT_PASSWORD, call, code, start, token};

on_both_databases!(
    an_admins_key_never_outranks_the_admin,
    keys_follow_their_holder_now,
    keys_are_managed_by_their_holder_or_those_above,
    cli_keys_have_the_operators_rank,
    keys_from_before_holders_keep_their_scopes_but_no_rank,
    nobody_makes_a_user_stronger_than_themselves,
    two_super_admins_cannot_disable_each_other_at_once,
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
        for (method, path, body) in [
            (
                M::POST,
                "/api/v1/users".to_string(),
                json!({ "username": "mallory", "password": "mallory-password", "role": "superAdmin" }),
            ),
            (
                M::POST,
                "/api/v1/users".to_string(),
                json!({ "username": "mallory", "password": "mallory-password", "role": "admin" }),
            ),
            (
                M::PATCH,
                format!("/api/v1/users/{alice_id}"),
                json!({ "role": "superAdmin" }),
            ),
            (
                M::POST,
                format!("/api/v1/users/{root_id}/reset-password"),
                json!({ "password": "taken-over-password" }),
            ),
            (
                M::PATCH,
                format!("/api/v1/users/{root_id}"),
                json!({ "isEnabled": false }),
            ),
        ] {
            let (status, body) = call(&server, credential, method, &path, Some(body.clone())).await;
            assert_eq!(
                (status, code(&body)),
                (403, Some("auth_forbidden")),
                "{path} {body}"
            );
        }
    }
    // Nothing changed: root still logs in with the old password, alice is an admin.
    token(&server, "root", ROOT_PASSWORD).await;
    let (_, alice_now) = call(
        &server,
        &root,
        M::GET,
        &format!("/api/v1/users/{alice_id}"),
        None,
    )
    .await;
    assert_eq!(alice_now["data"]["role"], "admin");
    // What the admin may do, the key may do: plain users.
    let (status, body) = call(
        &server,
        &alice_key,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "carol", "password": "carol-password-1" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // gRPC: the same refusals.
    let (channel, interceptor) = server.grpc_parts(Some(&alice_key)).await;
    let mut users = UserServiceClient::with_interceptor(channel, interceptor);
    let err = users
        .create_user(CreateUserRequest {
            username: "mallory".into(),
            password: "mallory-password".into(),
            role: "superAdmin".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "auth_forbidden")
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
        (Code::PermissionDenied, "auth_forbidden")
    );
}

async fn keys_follow_their_holder_now(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let alice_id = user(&server, &root, "alice", "admin").await;
    let alice = token(&server, "alice", "alice-password-1").await;
    let (_, alice_key) = key(&server, &alice, "alice's script").await;
    let (status, _) = call(&server, &alice_key, M::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);

    // Demoted: the key shrinks with her (a user may not manage users).
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{alice_id}"),
        Some(json!({ "role": "user" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(&server, &alice_key, M::GET, "/api/v1/users", None).await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
    let (status, _) = call(&server, &alice_key, M::GET, "/api/v1/assets", None).await;
    assert_eq!(status, 200, "what a user may do still works");

    // Disabled: the key is refused like an unknown one, over REST and gRPC.
    let (status, _) = call(
        &server,
        &root,
        M::POST,
        &format!("/api/v1/users/{alice_id}/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200);
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

    // Enabled again, promoted again: the key follows.
    call(
        &server,
        &root,
        M::POST,
        &format!("/api/v1/users/{alice_id}/enable"),
        None,
    )
    .await;
    call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{alice_id}"),
        Some(json!({ "role": "admin" })),
    )
    .await;
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

/// A key made with the CLI is the operator's: it may make a super admin.
async fn cli_keys_have_the_operators_rank(backend: Backend) {
    let server = start(backend).await;
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
    assert_eq!(status, 201, "{body}");
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
            Permission::UsersManage,
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
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
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
}

/// Role defaults count as granted permissions: a caller holding only
/// `users.manage` cannot create a user with the default asset permissions,
/// nor take over a stronger user by resetting their password; a key scoped
/// to `users.manage` cannot create a super admin. REST and gRPC.
async fn nobody_makes_a_user_stronger_than_themselves(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let rita_id = user(&server, &root, "rita", "admin").await;
    let bob_id = user(&server, &root, "bob", "user").await;
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{rita_id}"),
        Some(json!({ "permissions": ["users.manage", "assets.read"] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rita = token(&server, "rita", "rita-password-1").await;
    for (method, path, body) in [
        (
            M::POST,
            "/api/v1/users".to_string(),
            json!({ "username": "puppet", "password": "puppet-password-1" }),
        ),
        (
            M::POST,
            format!("/api/v1/users/{bob_id}/reset-password"),
            json!({ "password": "taken-over-password" }),
        ),
        (
            M::PATCH,
            format!("/api/v1/users/{bob_id}"),
            json!({ "permissions": ["assets.read"] }),
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
    // What she holds, she may grant.
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{bob_id}"),
        Some(json!({ "permissions": ["assets.read"] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &server,
        &rita,
        M::POST,
        &format!("/api/v1/users/{bob_id}/reset-password"),
        Some(json!({ "password": "a-new-password-1" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // An operator key scoped to user management only.
    let (status, scoped) = call(
        &server,
        API_KEY,
        M::POST,
        "/api/v1/apikeys",
        Some(json!({ "name": "user admin", "scopes": ["users.manage"] })),
    )
    .await;
    assert_eq!(status, 201, "{scoped}");
    let scoped = scoped["data"]["key"].as_str().unwrap().to_string();
    let (channel, interceptor) = server.grpc_parts(Some(&scoped)).await;
    let err = UserServiceClient::with_interceptor(channel, interceptor)
        .create_user(CreateUserRequest {
            username: "second-root".into(),
            password: "second-root-password".into(),
            role: "superAdmin".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "auth_forbidden")
    );
}

/// The last enabled super admin stays, even when two super admins disable
/// each other at the same moment (the check is made where the write is).
async fn two_super_admins_cannot_disable_each_other_at_once(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let root_id = root_id(&server, &root).await;
    let other_id = user(&server, &root, "root2", "superAdmin").await;
    for round in 0..8 {
        let root = token(&server, "root", ROOT_PASSWORD).await;
        let other = token(&server, "root2", "root2-password-1").await;
        let (other_path, root_path) = (
            format!("/api/v1/users/{other_id}"),
            format!("/api/v1/users/{root_id}"),
        );
        let disable = Some(json!({ "isEnabled": false }));
        let (first, second) = tokio::join!(
            call(&server, &root, M::PATCH, &other_path, disable.clone()),
            call(&server, &other, M::PATCH, &root_path, disable.clone()),
        );
        let (_, users) = call(&server, API_KEY, M::GET, "/api/v1/users", None).await;
        let enabled = users["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["role"] == "superAdmin" && u["isEnabled"] == true)
            .count();
        assert_eq!(enabled, 1, "round {round}: {first:?} {second:?}");
        // The operator puts both back for the next round.
        for id in [&root_id, &other_id] {
            let (status, body) = call(
                &server,
                API_KEY,
                M::PATCH,
                &format!("/api/v1/users/{id}"),
                Some(json!({ "isEnabled": true })),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
    }
}
