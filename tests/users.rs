//! User management and its guards, through REST and gRPC.

use serde_json::{Value, json};
use tessera::api::grpc::proto::{
    CreateUserRequest, ListUsersRequest, PermissionList, ResetUserPasswordRequest,
    UpdateUserRequest, user_service_client::UserServiceClient,
};
use tonic::Code;

use crate::common::{API_KEY, Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(guards_hold_for_admins_and_super_admins, users_through_grpc);

pub const ROOT_PASSWORD: &str = "root-password-123";

/// A server with the super admin `root`.
pub async fn start(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.bootstrap_admin_username = Some("root".into());
        config.bootstrap_admin_password = Some(tessera::config::Secret::new(ROOT_PASSWORD));
    })
    .await
}

/// An access token for `username`.
pub async fn token(server: &TestServer, username: &str, password: &str) -> String {
    let response = server
        .http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["data"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("login {username}: {body}"))
        .to_string()
}

pub async fn call(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn guards_hold_for_admins_and_super_admins(backend: Backend) {
    use reqwest::Method as M;
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let (status, alice) = call(
        &server,
        &root,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "alice", "password": "alice-password-1", "role": "admin" })),
    )
    .await;
    assert_eq!(status, 201, "{alice}");
    let (_, bob) = call(
        &server,
        &root,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "bob", "password": "bob-password-12" })),
    )
    .await;
    assert_eq!(bob["data"]["role"], "user");
    let (alice_id, bob_id) = (
        alice["data"]["id"].as_str().unwrap().to_string(),
        bob["data"]["id"].as_str().unwrap().to_string(),
    );
    let root_id = {
        let (_, me) = call(&server, &root, M::GET, "/api/v1/auth/me", None).await;
        me["data"]["id"].as_str().unwrap().to_string()
    };

    for (body, status, expected) in [
        (
            json!({ "username": "bob", "password": "another-password" }),
            409,
            "user_username_taken",
        ),
        (
            json!({ "username": "x", "password": "another-password" }),
            400,
            "user_username_invalid",
        ),
        (
            json!({ "username": "dave", "password": "short" }),
            400,
            "user_password_too_short",
        ),
        (
            json!({ "username": "dave", "password": "long-enough-pass", "role": "god" }),
            400,
            "user_role_invalid",
        ),
    ] {
        let (s, b) = call(&server, &root, M::POST, "/api/v1/users", Some(body.clone())).await;
        assert_eq!((s, code(&b)), (status, Some(expected)), "{body}");
    }

    // An admin manages plain users only.
    let alice_token = token(&server, "alice", "alice-password-1").await;
    let (status, list) = call(&server, &alice_token, M::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    assert!(
        !list.to_string().contains("argon2"),
        "never the password hash"
    );
    let (status, _) = call(
        &server,
        &alice_token,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "carol", "password": "carol-password-1" })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = call(
        &server,
        &alice_token,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "eve", "password": "eve-password-12", "role": "admin" })),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
    let (status, body) = call(
        &server,
        &alice_token,
        M::POST,
        &format!("/api/v1/users/{root_id}/disable"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
    let (status, body) = call(
        &server,
        &alice_token,
        M::PATCH,
        &format!("/api/v1/users/{alice_id}"),
        Some(json!({ "role": "superAdmin" })),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));

    // Disabling takes effect at once; enabling restores.
    let bob_token = token(&server, "bob", "bob-password-12").await;
    assert_eq!(
        call(&server, &bob_token, M::GET, "/api/v1/assets", None)
            .await
            .0,
        200
    );
    let (status, body) = call(
        &server,
        &alice_token,
        M::POST,
        &format!("/api/v1/users/{bob_id}/disable"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["data"]["isEnabled"].as_bool()),
        (200, Some(false))
    );
    let (status, body) = call(&server, &bob_token, M::GET, "/api/v1/assets", None).await;
    assert_eq!((status, code(&body)), (401, Some("auth_unauthorized")));
    call(
        &server,
        &alice_token,
        M::POST,
        &format!("/api/v1/users/{bob_id}/enable"),
        None,
    )
    .await;
    let bob_token = token(&server, "bob", "bob-password-12").await;

    // Permissions of one's own: read-only bob cannot delete; null restores the role's.
    let (status, body) = call(
        &server,
        &alice_token,
        M::PUT,
        &format!("/api/v1/users/{bob_id}/permissions"),
        Some(json!({ "permissions": ["assets.read"] })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["permissions"].clone()),
        (200, json!(["assets.read"]))
    );
    let missing = format!("/api/v1/assets/{}", uuid::Uuid::now_v7());
    let (status, body) = call(&server, &bob_token, M::DELETE, &missing, None).await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
    call(
        &server,
        &alice_token,
        M::PUT,
        &format!("/api/v1/users/{bob_id}/permissions"),
        Some(json!({ "permissions": null })),
    )
    .await;
    let (status, _) = call(&server, &bob_token, M::DELETE, &missing, None).await;
    assert_eq!(status, 404, "allowed again (the asset just does not exist)");

    // Password reset ends sessions.
    let login = server
        .http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": "bob", "password": "bob-password-12" }))
        .send()
        .await
        .unwrap();
    let session: Value = login.json().await.unwrap();
    let (status, _) = call(
        &server,
        &alice_token,
        M::POST,
        &format!("/api/v1/users/{bob_id}/reset-password"),
        Some(json!({ "password": "bob-new-password" })),
    )
    .await;
    assert_eq!(status, 200);
    let refresh = server
        .http
        .post(server.url("/api/v1/auth/refresh"))
        .json(&json!({ "refreshToken": session["data"]["refreshToken"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
    token(&server, "bob", "bob-new-password").await;

    // Nobody disables or demotes themselves; the last super admin stays.
    let (status, body) = call(
        &server,
        &root,
        M::POST,
        &format!("/api/v1/users/{root_id}/disable"),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (409, Some("user_self_change_refused"))
    );
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{root_id}"),
        Some(json!({ "role": "user" })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (409, Some("user_self_change_refused"))
    );
    let (status, body) = call(
        &server,
        API_KEY,
        M::POST,
        &format!("/api/v1/users/{root_id}/disable"),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (409, Some("user_last_super_admin")));
    let (status, _) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{alice_id}"),
        Some(json!({ "role": "superAdmin" })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &server,
        API_KEY,
        M::POST,
        &format!("/api/v1/users/{root_id}/disable"),
        None,
    )
    .await;
    assert_eq!(status, 200, "another super admin remains");
    let (status, body) = call(
        &server,
        &root,
        M::GET,
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("auth_unauthorized")),
        "root is disabled now"
    );
    let (status, body) = call(
        &server,
        API_KEY,
        M::GET,
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (404, Some("user_not_found")));
    // Plain users cannot manage users.
    let (status, body) = call(
        &server,
        &token(&server, "bob", "bob-new-password").await,
        M::GET,
        "/api/v1/users",
        None,
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));
}

async fn users_through_grpc(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let channel = tonic::transport::Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {root}").parse().unwrap();
    let mut users =
        UserServiceClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
            Ok(request)
        });
    let created = users
        .create_user(CreateUserRequest {
            username: "gina".into(),
            password: "gina-password-1".into(),
            role: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(created.role, "user");
    let err = users
        .create_user(CreateUserRequest {
            username: "gina".into(),
            password: "gina-password-1".into(),
            role: "user".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::AlreadyExists, "user_username_taken")
    );
    let updated = users
        .update_user(UpdateUserRequest {
            id: created.id.clone(),
            role: None,
            is_enabled: Some(false),
            permissions: Some(PermissionList {
                permissions: vec!["assets.read".into()],
            }),
            reset_permissions: false,
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(!updated.is_enabled);
    assert_eq!(updated.permissions, vec!["assets.read"]);
    users
        .reset_user_password(ResetUserPasswordRequest {
            id: created.id.clone(),
            password: "gina-password-2".into(),
        })
        .await
        .unwrap();
    let listed = users
        .list_users(ListUsersRequest {})
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(listed.len(), 2);
    let me = listed.iter().find(|u| u.username == "root").unwrap();
    let err = users
        .update_user(UpdateUserRequest {
            id: me.id.clone(),
            is_enabled: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "user_self_change_refused")
    );
    let err = users
        .update_user(UpdateUserRequest {
            id: me.id.clone(),
            role: Some("emperor".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "user_role_invalid")
    );
}
