//! Users and sessions: login, JWT access tokens, refresh rotation with reuse
//! detection, rate limiting, through REST, gRPC and grpc-web.

use std::io::Write;

use serde_json::{Value, json};
use tessera::{
    api::grpc::proto::{
        GetMeRequest, LoginRequest, RefreshSessionRequest, auth_service_client::AuthServiceClient,
    },
    auth::tokens::JwtKeys,
};
use tonic::Code;

use crate::common::{Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(
    sessions_rotate_and_detect_reuse,
    bad_tokens_are_refused_with_precise_codes,
    failed_logins_are_rate_limited,
    trusted_proxies_tell_the_client,
    sessions_through_grpc_and_grpc_web,
    cli_creates_users_who_can_log_in,
);

const ADMIN: &str = "admin";
const PASSWORD: &str = "correct-horse-battery";

async fn start(backend: Backend) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.api_keys.clear();
        config.bootstrap_admin_username = Some(ADMIN.into());
        config.bootstrap_admin_password = Some(tessera::config::Secret::new(PASSWORD));
    })
    .await
}

async fn post_json(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = server
        .http
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(server: &TestServer, username: &str, password: &str) -> (u16, Value) {
    post_json(
        server,
        "/api/v1/auth/login",
        json!({ "username": username, "password": password }),
    )
    .await
}

async fn get_with(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    let response = server
        .http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sessions_rotate_and_detect_reuse(backend: Backend) {
    let server = start(backend).await;
    let (status, body) = login(&server, ADMIN, "wrong-password").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_invalid_credentials"))
    );
    let (status, body) = login(&server, "nobody", PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_invalid_credentials")),
        "same answer for unknown users"
    );
    for (username, password) in [("", PASSWORD), ("   ", PASSWORD), (ADMIN, "")] {
        let (status, body) = login(&server, username, password).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("request_invalid")),
            "{username:?} {password:?}"
        );
    }

    let (status, session) = login(&server, "ADMIN", PASSWORD).await;
    assert_eq!(status, 200, "{session}");
    let session = &session["data"];
    for field in [
        "accessToken",
        "refreshToken",
        "accessTokenExpiresAtUtc",
        "refreshTokenExpiresAtUtc",
    ] {
        assert!(
            session[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    assert_eq!(session["user"]["username"], ADMIN);
    assert_eq!(session["user"]["role"], "superAdmin");
    assert!(session["user"].get("passwordHash").is_none());
    assert_eq!(session["user"]["isActive"], true);
    assert!(
        session["user"]["lastLoginAtUtc"].is_string(),
        "the login is recorded: {session}"
    );
    let access = session["accessToken"].as_str().unwrap().to_string();
    let refresh = session["refreshToken"].as_str().unwrap().to_string();

    let (status, me) = get_with(&server, "/api/v1/auth/me", &access).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["username"], ADMIN);
    assert!(me["data"]["lastLoginAtUtc"].is_string(), "{me}");
    // A super admin holds every permission, listed by name.
    let mut every: Vec<&str> = tessera::domain::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    every.sort_unstable();
    assert_eq!(me["data"]["permissions"], json!(every));
    assert!(every.contains(&"users.managePermissions") && every.contains(&"apiKeys.manage"));
    // The access token opens the asset routes too.
    let (status, _) = get_with(&server, "/api/v1/assets", &access).await;
    assert_eq!(status, 200);
    // No quickstart key was made: an admin was configured.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(keys, 0);
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        stored.iter().all(|h| *h != refresh),
        "refresh tokens are stored hashed"
    );

    // Rotation: the new pair works; the old refresh token is spent.
    let (status, rotated) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": refresh }),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new_refresh = rotated["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_refresh, refresh);
    let (status, _) = get_with(
        &server,
        "/api/v1/auth/me",
        rotated["data"]["accessToken"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    // Reuse of the spent token ends every session of the user.
    let (status, body) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": refresh }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_refresh_token_reused"))
    );
    let (status, body) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": new_refresh }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_refresh_token_invalid"))
    );

    // Logout ends the session; logging out twice is fine.
    let (_, fresh) = login(&server, ADMIN, PASSWORD).await;
    let fresh_refresh = fresh["data"]["refreshToken"].as_str().unwrap();
    let (status, _) = post_json(
        &server,
        "/api/v1/auth/logout",
        json!({ "refreshToken": fresh_refresh }),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = post_json(
        &server,
        "/api/v1/auth/logout",
        json!({ "refreshToken": fresh_refresh }),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": fresh_refresh }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_refresh_token_invalid"))
    );
    let (status, body) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": "rt_made_up" }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_refresh_token_invalid"))
    );
    for (token, expected) in [("", "request_invalid"), ("   ", "auth_request_invalid")] {
        let (status, body) = post_json(
            &server,
            "/api/v1/auth/refresh",
            json!({ "refreshToken": token }),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(expected)),
            "{token:?}"
        );
    }

    // An expired refresh token is told apart from an invalid one.
    let (_, late) = login(&server, ADMIN, PASSWORD).await;
    let late_refresh = late["data"]["refreshToken"].as_str().unwrap();
    sqlx::query(
        "UPDATE refresh_tokens SET expires_at = 1 WHERE used_at IS NULL AND revoked_at IS NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (status, body) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": late_refresh }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_refresh_token_expired"))
    );
}

async fn bad_tokens_are_refused_with_precise_codes(backend: Backend) {
    let server = start(backend).await;
    let (_, session) = login(&server, ADMIN, PASSWORD).await;
    let access = session["data"]["accessToken"].as_str().unwrap().to_string();
    let user_id = session["data"]["user"]["id"].as_str().unwrap().to_string();
    let refresh = session["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();

    // The server's own secret, from its data dir, mints an expired token.
    let keys = JwtKeys::load(None, server.data_dir.path()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let expired = keys.issue(&user_id, now - 3600, 60);
    let (status, body) = get_with(&server, "/api/v1/assets", &expired).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_token_expired"))
    );
    let foreign = JwtKeys::from_secret(b"some other secret that is long enough")
        .unwrap()
        .issue(&user_id, now, 600);
    let (status, body) = get_with(&server, "/api/v1/assets", &foreign).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_unauthorized"))
    );
    let payload = access.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let (status, body) = get_with(&server, "/api/v1/assets", &none).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_unauthorized"))
    );
    let tampered = format!("{}x", access);
    let (status, _) = get_with(&server, "/api/v1/assets", &tampered).await;
    assert_eq!(status, 401);

    // Disabling a user stops their tokens at once.
    let (status, _) = get_with(&server, "/api/v1/assets", &access).await;
    assert_eq!(status, 200);
    let db = tessera::db::Db::connect(&server.database_url)
        .await
        .unwrap();
    db.set_user_active(&user_id, false, 0).await.unwrap();
    let (status, body) = get_with(&server, "/api/v1/assets", &access).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_unauthorized"))
    );
    // The right password learns the account is disabled; a wrong one learns nothing.
    let (status, body) = login(&server, ADMIN, PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_user_inactive"))
    );
    let (status, body) = login(&server, ADMIN, "wrong-password").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_invalid_credentials"))
    );
    // Nor does a session of theirs go on.
    let (status, body) = post_json(
        &server,
        "/api/v1/auth/refresh",
        json!({ "refreshToken": refresh }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("auth_user_inactive"))
    );
    // A session that is not a user's: /me needs a user.
    let (status, body) = server.get_json("/api/v1/auth/me").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("api_key_invalid")),
        "the static key is not configured here"
    );
}

/// A login from a client at `from` (a loopback address of its own), with
/// extra headers.
async fn login_from(
    server: &TestServer,
    from: [u8; 4],
    headers: &[(&str, &str)],
    username: &str,
    password: &str,
) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .unwrap();
    let mut request = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Guessing locks the guessing address out, not the owner: failures lock
/// the (username, address) pair; the username is only slowed elsewhere; an
/// address failing across usernames is locked. Forwarding headers from an
/// untrusted peer change nothing.
async fn failed_logins_are_rate_limited(backend: Backend) {
    let server = start(backend).await;
    const ATTACKER: [u8; 4] = [127, 0, 0, 1];
    const OWNER: [u8; 4] = [127, 0, 0, 2];
    for _ in 0..10 {
        let (status, _) = login_from(&server, ATTACKER, &[], ADMIN, "guess").await;
        assert_eq!(status, 401);
    }
    let (status, body) = login_from(&server, ATTACKER, &[], ADMIN, PASSWORD).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("auth_rate_limited")),
        "even the right password waits, from the guessing address"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("seconds")
    );
    let (status, _) = login_from(
        &server,
        ATTACKER,
        &[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.1"),
        ],
        ADMIN,
        PASSWORD,
    )
    .await;
    assert_eq!(
        status, 429,
        "a claimed address from an untrusted peer is ignored"
    );
    // The owner, from their own address, gets in: slowed, not locked.
    let started = std::time::Instant::now();
    let (status, body) = login_from(&server, OWNER, &[], ADMIN, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200),
        "slowed"
    );

    // One address failing across many usernames is locked for all of them.
    const SPRAYER: [u8; 4] = [127, 0, 0, 3];
    for n in 0..50 {
        login_from(&server, SPRAYER, &[], &format!("user{n}"), "guess").await;
    }
    let (status, _) = login_from(&server, SPRAYER, &[], ADMIN, PASSWORD).await;
    assert_eq!(status, 429);
}

/// Behind a trusted proxy (TESSERA_TRUSTED_PROXIES), the client address,
/// scheme and host come from its forwarding headers: the limiter keys on the
/// real client (the first untrusted hop, so a client cannot pick its own
/// address by prepending one) and public links use the client's origin.
async fn trusted_proxies_tell_the_client(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.bootstrap_admin_username = Some(ADMIN.into());
        config.bootstrap_admin_password = Some(tessera::config::Secret::new(PASSWORD));
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    const PROXY: [u8; 4] = [127, 0, 0, 1];
    for n in 0..10 {
        let forwarded = format!("10.9.9.{n}, 203.0.113.5");
        let (status, _) = login_from(
            &server,
            PROXY,
            &[("x-forwarded-for", &forwarded)],
            ADMIN,
            "guess",
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, _) = login_from(
        &server,
        PROXY,
        &[("x-forwarded-for", "8.8.8.8, 203.0.113.5")],
        ADMIN,
        PASSWORD,
    )
    .await;
    assert_eq!(status, 429, "the same client behind the proxy");
    for headers in [
        vec![("x-forwarded-for", "203.0.113.6")],
        vec![("x-forwarded-for", "2001:db8::6")],
    ] {
        let (status, body) = login_from(&server, PROXY, &headers, ADMIN, PASSWORD).await;
        assert_eq!(status, 200, "another client behind the same proxy: {body}");
    }

    let asset = server
        .upload_ok("normal/rocket_falcon9.jpg", &[("runEnrichment", "false")])
        .await;
    let id = asset["id"].as_str().unwrap();
    let response = server
        .get(&format!("/api/v1/assets/{id}"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "img.example.test")
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["publicUrl"],
        format!(
            "https://img.example.test/content/{}",
            asset["storageKey"].as_str().unwrap()
        )
    );
    // A peer that is not the proxy is not believed.
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 9]))
        .build()
        .unwrap();
    let body: Value = client
        .get(server.url(&format!("/api/v1/assets/{id}")))
        .bearer_auth(crate::common::API_KEY)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "img.example.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["publicUrl"],
        server.url(&format!(
            "/content/{}",
            asset["storageKey"].as_str().unwrap()
        ))
    );
}

async fn sessions_through_grpc_and_grpc_web(backend: Backend) {
    let server = start(backend).await;
    let channel = tonic::transport::Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = AuthServiceClient::new(channel.clone());
    let err = client
        .login(LoginRequest {
            username: ADMIN.into(),
            password: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "auth_invalid_credentials")
    );
    let session = client
        .login(LoginRequest {
            username: ADMIN.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    let user = session.user.as_ref().unwrap();
    assert_eq!(user.role, "superAdmin");
    assert!(user.is_active);
    assert!(user.last_login_at_utc.is_some(), "the login is recorded");
    let err = client
        .login(LoginRequest {
            username: String::new(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "request_invalid")
    );

    let mut request = tonic::Request::new(GetMeRequest {});
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", session.access_token).parse().unwrap(),
    );
    let me = client
        .get_me(request)
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(me.username, ADMIN);
    let err = client.get_me(GetMeRequest {}).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "auth_unauthorized")
    );

    let rotated = client
        .refresh_session(RefreshSessionRequest {
            refresh_token: session.refresh_token.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    assert_ne!(rotated.refresh_token, session.refresh_token);
    let err = client
        .refresh_session(RefreshSessionRequest {
            refresh_token: session.refresh_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "auth_refresh_token_reused")
    );

    // The same access token on the asset service, over gRPC.
    let mut assets = server.grpc_with_key(Some(&rotated.access_token)).await;
    assets
        .list_assets(tessera::api::grpc::proto::ListAssetsRequest::default())
        .await
        .expect("JWT accepted by AssetService");
    let keys = JwtKeys::load(None, server.data_dir.path()).unwrap();
    let expired = keys.issue(&me.id, chrono::Utc::now().timestamp() - 3600, 60);
    let mut stale = server.grpc_with_key(Some(&expired)).await;
    let err = stale
        .list_assets(tessera::api::grpc::proto::ListAssetsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::Unauthenticated, "auth_token_expired")
    );

    // grpc-web: GetMe with the bearer token over HTTP/1.1.
    let response = server
        .http
        .post(server.url("/tessera.v1.AuthService/GetMe"))
        .header("content-type", "application/grpc-web+proto")
        .bearer_auth(&rotated.access_token)
        .body(vec![0u8, 0, 0, 0, 0])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("grpc-status:0"));
    assert!(String::from_utf8_lossy(&body).contains(ADMIN));
}

/// `tessera user create` reads the password from stdin and stores it hashed.
async fn cli_creates_users_who_can_log_in(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database_url = backend.database_url(dir.path()).await;
    let run = |args: &[&str], input: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env_clear()
            .env("TESSERA_DATA_DIR", dir.path())
            .env("TESSERA_DATABASE_URL", &database_url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["user", "create", "--username", "Editor", "--role", "admin"],
        "a-long-enough-password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &["user", "create", "--username", "editor"],
        "another-long-password\n",
    );
    assert!(!out.status.success(), "duplicate usernames are refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = run(&["user", "create", "--username", "shorty"], "short\n");
    assert!(!out.status.success());

    let data_dir = dir.path().to_path_buf();
    let server = TestServer::start_beside_database(database_url, data_dir).await;
    let (status, session) = login(&server, "editor", "a-long-enough-password").await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["data"]["user"]["role"], "admin");
}
