//! Users, sessions and permissions on NekoHub's contract (§1.5, §1.6, §2.15,
//! §2.16 and its tests 61 to 81), through REST and gRPC.

use reqwest::Method as M;
use serde_json::{Value, json};
use tessera::api::grpc::proto::{
    CreateUserRequest, GetUserRequest, ListUsersRequest, ResetUserPasswordRequest,
    SetUserPermissionsRequest, SetUserStatusRequest, UpdateUserRequest,
    user_service_client::UserServiceClient,
};
use tonic::Code;

use crate::common::{API_KEY, Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(
    sessions_follow_the_contract,
    users_follow_the_contract,
    users_through_grpc,
);

pub const ROOT_PASSWORD: &str = "root-password-123";

/// A server with the super admin `root`.
pub async fn start(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.bootstrap_admin_username = Some("root".into());
        config.bootstrap_admin_password = Some(tessera::config::Secret::new(ROOT_PASSWORD));
    })
    .await
}

/// The whole login answer for `username`.
pub async fn login(server: &TestServer, username: &str, password: &str) -> (u16, Value) {
    let response = server
        .post("/api/v1/auth/login")
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// An access token for `username`.
pub async fn token(server: &TestServer, username: &str, password: &str) -> String {
    let (_, body) = login(server, username, password).await;
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

async fn refresh(server: &TestServer, refresh_token: &Value) -> (u16, Value) {
    let response = server
        .post("/api/v1/auth/refresh")
        .json(&json!({ "refreshToken": refresh_token }))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Creates a user as `by` and returns their id.
pub async fn create(server: &TestServer, by: &str, username: &str, role: &str) -> String {
    let (status, body) = call(
        server,
        by,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": username, "password": format!("{username}-password"), "role": role })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"]["id"].as_str().unwrap().to_string()
}

/// A super admin made on the server, as `tessera user create --role
/// superAdmin` makes one (the API makes none); returns their id.
pub async fn super_admin(server: &TestServer, username: &str) -> String {
    let db = tessera::db::Db::connect(&server.database_url)
        .await
        .unwrap();
    let config = tessera::Config {
        data_dir: server.data_dir.path().to_path_buf(),
        ..tessera::Config::default()
    };
    let auth = tessera::service::auth_service(&config, db.clone()).unwrap();
    let made = auth
        .create_user(
            username,
            &format!("{username}-password-1"),
            tessera::domain::Role::SuperAdmin,
        )
        .await
        .unwrap();
    db.close().await;
    made.id
}

pub fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

/// Contract tests 61 to 67, and the request checks of §1.5.
async fn sessions_follow_the_contract(backend: Backend) {
    let server = start(backend).await;
    let (status, session) = login(&server, "root", ROOT_PASSWORD).await;
    assert_eq!(status, 200);
    let data = &session["data"];
    assert_eq!(data["user"]["role"], "superAdmin");
    assert_eq!(data["user"]["isActive"], true);
    assert!(data["user"]["lastLoginAtUtc"].is_string(), "{data}");
    let access = data["accessToken"].as_str().unwrap().to_string();

    let (status, me) = call(&server, &access, M::GET, "/api/v1/auth/me", None).await;
    assert_eq!(
        (status, me["data"]["username"].as_str()),
        (200, Some("root"))
    );
    let permissions: Vec<&str> = me["data"]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(permissions.contains(&"users.managePermissions"));
    let mut sorted = permissions.clone();
    sorted.sort_unstable();
    assert_eq!(permissions, sorted, "listed in ordinal order");
    assert_eq!(permissions.len(), 20, "NekoHub's 19 and apiKeys.manage");

    let (status, rotated) = refresh(&server, &data["refreshToken"]).await;
    assert_eq!(status, 200);
    assert_ne!(rotated["data"]["refreshToken"], data["refreshToken"]);
    let (status, body) = refresh(&server, &data["refreshToken"]).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("auth_refresh_token_reused"))
    );

    let (_, fresh) = login(&server, "root", ROOT_PASSWORD).await;
    let fresh_access = fresh["data"]["accessToken"].as_str().unwrap();
    let logout = server
        .post("/api/v1/auth/logout")
        .bearer_auth(fresh_access)
        .json(&json!({ "refreshToken": fresh["data"]["refreshToken"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(
        refresh(&server, &fresh["data"]["refreshToken"]).await.0,
        401
    );

    for (body, status, expected) in [
        (
            json!({ "username": "", "password": "x" }),
            400,
            "request_invalid",
        ),
        (json!({ "username": "root" }), 400, "request_invalid"),
        (
            json!({ "username": "root", "password": "wrong-password" }),
            401,
            "auth_invalid_credentials",
        ),
    ] {
        let response = server
            .post("/api/v1/auth/login")
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = response.status().as_u16();
        let b: Value = response.json().await.unwrap();
        assert_eq!((s, code(&b)), (status, Some(expected)), "{body}");
    }
    for (token, status, expected) in [
        (json!("   "), 400, "auth_request_invalid"),
        (json!(""), 400, "request_invalid"),
        (json!("no-such-token"), 401, "auth_refresh_token_invalid"),
    ] {
        let (s, b) = refresh(&server, &token).await;
        assert_eq!((s, code(&b)), (status, Some(expected)), "{token}");
    }

    // Test 66: an inactive user is told so, once the password is right.
    let (status, body) = call(
        &server,
        &access,
        M::POST,
        "/api/v1/users",
        Some(json!({
            "username": "inactive-user", "password": "inactive-password",
            "role": "user", "isActive": false, "permissions": ["assets.read"],
        })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["isActive"].as_bool()),
        (201, Some(false))
    );
    let (status, body) = login(&server, "inactive-user", "inactive-password").await;
    assert_eq!((status, code(&body)), (401, Some("auth_user_inactive")));
    let (status, body) = login(&server, "inactive-user", "not-the-password").await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("auth_invalid_credentials"))
    );

    // Test 67: an admin holding users.create still creates no admin.
    create(&server, &access, "limited-admin", "admin").await;
    let admin = token(&server, "limited-admin", "limited-admin-password").await;
    let (status, body) = call(
        &server,
        &admin,
        M::POST,
        "/api/v1/users",
        Some(json!({ "username": "other-admin", "password": "other-password", "role": "admin" })),
    )
    .await;
    assert_eq!((status, code(&body)), (403, Some("user_create_forbidden")));
}

/// Contract tests 68 to 76.
async fn users_follow_the_contract(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let (_, me) = call(&server, &root, M::GET, "/api/v1/auth/me", None).await;
    let root_id = me["data"]["id"].as_str().unwrap().to_string();
    let create_response = server
        .post("/api/v1/users")
        .bearer_auth(&root)
        .json(&json!({ "username": "admin-actor", "password": "admin-actor-password", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(create_response.status(), 201);
    let location = create_response.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let actor: Value = create_response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/users/{}", actor["data"]["id"].as_str().unwrap())
    );
    assert!(actor["data"]["lastLoginAtUtc"].is_null());
    let peer_id = create(&server, &root, "peer-admin", "admin").await;
    let managed_id = create(&server, &root, "managed-user", "user").await;
    let actor = token(&server, "admin-actor", "admin-actor-password").await;

    // 68: an admin sees plain users only; root sees everyone, newest first.
    let (status, list) = call(&server, &actor, M::GET, "/api/v1/users", None).await;
    assert_eq!(
        (status, names(&list)),
        (200, vec!["managed-user".to_string()])
    );
    let (_, list) = call(&server, &root, M::GET, "/api/v1/users", None).await;
    assert_eq!(
        names(&list),
        ["managed-user", "peer-admin", "admin-actor", "root"]
    );
    assert!(
        !list.to_string().contains("argon2"),
        "never a password hash"
    );
    // 69, 70.
    let (status, body) = call(
        &server,
        &actor,
        M::GET,
        &format!("/api/v1/users/{managed_id}"),
        None,
    )
    .await;
    assert_eq!((status, body["data"]["role"].as_str()), (200, Some("user")));
    assert_eq!(body["data"]["permissions"], json!(["assets.read"]));
    for path in [
        format!("/api/v1/users/{peer_id}"),
        format!("/api/v1/users/{root_id}"),
    ] {
        let (status, body) = call(&server, &actor, M::GET, &path, None).await;
        assert_eq!((status, code(&body)), (403, Some("user_manage_forbidden")));
    }
    // A plain user sees nobody and manages nobody.
    let managed = token(&server, "managed-user", "managed-user-password").await;
    let (status, body) = call(&server, &managed, M::GET, "/api/v1/users", None).await;
    assert_eq!((status, code(&body)), (403, Some("auth_forbidden")));

    // 71: rename (trimmed, lowercased) and promote; permissions follow the role.
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{managed_id}"),
        Some(json!({ "username": "  Renamed-User  ", "role": "admin" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["username"], "renamed-user");
    assert_eq!(body["data"]["role"], "admin");
    let granted = body["data"]["permissions"].as_array().unwrap();
    assert!(granted.contains(&json!("settings.update")));
    assert!(granted.contains(&json!("users.managePermissions")));
    let renamed = token(&server, "renamed-user", "managed-user-password").await;
    let (status, me) = call(&server, &renamed, M::GET, "/api/v1/auth/me", None).await;
    assert_eq!((status, me["data"]["role"].as_str()), (200, Some("admin")));
    // Back to user: the permissions go back to the user role's.
    let (_, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{managed_id}"),
        Some(json!({ "role": "user" })),
    )
    .await;
    assert_eq!(body["data"]["permissions"], json!(["assets.read"]));

    // 72: status toggles, and login follows.
    let status_path = format!("/api/v1/users/{managed_id}/status");
    let (status, body) = call(
        &server,
        &actor,
        M::POST,
        &status_path,
        Some(json!({ "isActive": false })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["isActive"].as_bool()),
        (200, Some(false))
    );
    let (status, body) = login(&server, "renamed-user", "managed-user-password").await;
    assert_eq!((status, code(&body)), (401, Some("auth_user_inactive")));
    let (status, body) = call(&server, &renamed, M::GET, "/api/v1/auth/me", None).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("auth_unauthorized")),
        "at once"
    );
    let (status, body) = call(
        &server,
        &actor,
        M::POST,
        &status_path,
        Some(json!({ "isActive": true })),
    )
    .await;
    assert_eq!(
        (status, body["data"]["isActive"].as_bool()),
        (200, Some(true))
    );
    let renamed = token(&server, "renamed-user", "managed-user-password").await;

    // 73: nobody disables a super admin, through either route.
    let root_status = format!("/api/v1/users/{root_id}/status");
    let (status, body) = call(
        &server,
        &root,
        M::POST,
        &root_status,
        Some(json!({ "isActive": false })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_super_admin_disable_forbidden"))
    );
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{root_id}"),
        Some(json!({ "isActive": false })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_super_admin_disable_forbidden"))
    );

    // 74: a reset password ends the sessions.
    let (_, session) = login(&server, "renamed-user", "managed-user-password").await;
    let (status, body) = call(
        &server,
        &actor,
        M::POST,
        &format!("/api/v1/users/{managed_id}/reset-password"),
        Some(json!({ "newPassword": "brand-new-password" })),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, body) = login(&server, "renamed-user", "managed-user-password").await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("auth_invalid_credentials"))
    );
    assert_eq!(
        refresh(&server, &session["data"]["refreshToken"]).await.0,
        401
    );
    let renamed_again = token(&server, "renamed-user", "brand-new-password").await;
    assert_eq!(
        call(&server, &renamed_again, M::GET, "/api/v1/auth/me", None)
            .await
            .0,
        200
    );
    drop(renamed);

    // 75: permissions normalised; they take effect at once.
    let (status, body) = call(
        &server,
        &actor,
        M::PATCH,
        &format!("/api/v1/users/{managed_id}/permissions"),
        Some(json!({ "permissions": [" users.read ", "assets.read", "users.read", "unknown.permission"] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["permissions"],
        json!(["assets.read", "users.read"])
    );
    let (status, _) = call(&server, &renamed_again, M::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200, "users.read granted");
    // 76.
    let (status, body) = call(
        &server,
        &root,
        M::PATCH,
        &format!("/api/v1/users/{root_id}/permissions"),
        Some(json!({ "permissions": ["assets.read"] })),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (403, Some("user_super_admin_permissions_forbidden"))
    );

    // Not found, through the operator's key.
    let missing = format!("/api/v1/users/{}", uuid::Uuid::now_v7());
    let (status, body) = call(&server, API_KEY, M::GET, &missing, None).await;
    assert_eq!((status, code(&body)), (404, Some("user_not_found")));
}

async fn users_through_grpc(backend: Backend) {
    let server = start(backend).await;
    let root = token(&server, "root", ROOT_PASSWORD).await;
    let (channel, interceptor) = server.grpc_parts(Some(&root)).await;
    let mut users = UserServiceClient::with_interceptor(channel, interceptor);
    let created = users
        .create_user(CreateUserRequest {
            username: " Gina ".into(),
            password: "gina-password-1".into(),
            role: "user".into(),
            is_active: None,
            permissions: vec![
                " assets.read ".into(),
                "assets.create".into(),
                "bogus".into(),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(
        (
            created.username.as_str(),
            created.role.as_str(),
            created.is_active
        ),
        ("gina", "user", true)
    );
    assert_eq!(created.permissions, ["assets.create", "assets.read"]);
    assert!(created.last_login_at_utc.is_none());
    let refused = |err: tonic::Status| (err.code(), reason(&err));
    let err = users
        .create_user(CreateUserRequest {
            username: "gina".into(),
            password: "gina-password-1".into(),
            role: "user".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused(err),
        (Code::AlreadyExists, "user_username_conflict".into())
    );
    let err = users
        .create_user(CreateUserRequest {
            username: "hank".into(),
            password: "hank-password-1".into(),
            role: "superAdmin".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused(err),
        (
            Code::PermissionDenied,
            "user_super_admin_create_forbidden".into()
        )
    );
    let err = users
        .create_user(CreateUserRequest {
            username: "hank".into(),
            password: "hank-password-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused(err),
        (Code::InvalidArgument, "request_invalid".into())
    );

    let updated = users
        .update_user(UpdateUserRequest {
            id: created.id.clone(),
            username: Some("gina-renamed".into()),
            role: Some("admin".into()),
            is_active: None,
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(
        (updated.username.as_str(), updated.permissions.len()),
        ("gina-renamed", 20)
    );
    let narrowed = users
        .set_user_permissions(SetUserPermissionsRequest {
            id: created.id.clone(),
            permissions: vec![
                "users.read".into(),
                "users.read".into(),
                "assets.read ".into(),
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(narrowed.permissions, ["assets.read", "users.read"]);
    let gina = token(&server, "gina-renamed", "gina-password-1").await;
    let inactive = users
        .set_user_status(SetUserStatusRequest {
            id: created.id.clone(),
            is_active: false,
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(!inactive.is_active);
    assert!(inactive.last_login_at_utc.is_some(), "gina logged in");
    let (status, body) = call(&server, &gina, M::GET, "/api/v1/auth/me", None).await;
    assert_eq!((status, code(&body)), (401, Some("auth_unauthorized")));
    users
        .set_user_status(SetUserStatusRequest {
            id: created.id.clone(),
            is_active: true,
        })
        .await
        .unwrap();
    users
        .reset_user_password(ResetUserPasswordRequest {
            id: created.id.clone(),
            new_password: "gina-password-2".into(),
        })
        .await
        .unwrap();
    let (status, _) = login(&server, "gina-renamed", "gina-password-1").await;
    assert_eq!(status, 401);
    token(&server, "gina-renamed", "gina-password-2").await;

    let listed = users
        .list_users(ListUsersRequest {})
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(
        listed
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["gina-renamed", "root"]
    );
    let me = listed.iter().find(|u| u.username == "root").unwrap();
    for err in [
        users
            .set_user_status(SetUserStatusRequest {
                id: me.id.clone(),
                is_active: false,
            })
            .await
            .unwrap_err(),
        users
            .update_user(UpdateUserRequest {
                id: me.id.clone(),
                is_active: Some(false),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            refused(err),
            (
                Code::PermissionDenied,
                "user_super_admin_disable_forbidden".into()
            )
        );
    }
    let err = users
        .set_user_permissions(SetUserPermissionsRequest {
            id: me.id.clone(),
            permissions: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused(err),
        (
            Code::PermissionDenied,
            "user_super_admin_permissions_forbidden".into()
        )
    );
    let err = users
        .update_user(UpdateUserRequest {
            id: created.id.clone(),
            role: Some("emperor".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused(err),
        (Code::InvalidArgument, "request_invalid".into())
    );

    // An admin reaches plain users only, as over REST.
    let admin_id = create(&server, &root, "grpc-admin", "admin").await;
    let admin = token(&server, "grpc-admin", "grpc-admin-password").await;
    let (channel, interceptor) = server.grpc_parts(Some(&admin)).await;
    let mut as_admin = UserServiceClient::with_interceptor(channel, interceptor);
    let seen = as_admin
        .list_users(ListUsersRequest {})
        .await
        .unwrap()
        .into_inner()
        .users;
    assert!(
        seen.is_empty(),
        "gina is an admin now; root is a super admin"
    );
    for id in [me.id.clone(), admin_id] {
        let err = as_admin.get_user(GetUserRequest { id }).await.unwrap_err();
        assert_eq!(
            refused(err),
            (Code::PermissionDenied, "user_manage_forbidden".into())
        );
    }
}
