//! NekoHub's repository operations on a `github-repo` profile, against the
//! contents API stand-in: browse (paths, depth, filters, paging, order) and
//! upsert (create, update, the `expectedSha` rules), with their codes.

use base64::Engine;
use serde_json::{Value, json};
use tonic::Code;

use crate::common::fake_github::{Failure, FakeGitHub};
use crate::common::{Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(
    browsing_a_repository,
    writing_files_into_a_repository,
    repository_operations_through_grpc
);

const PROFILES: &str = "/api/v1/system/storage/providers";
const OWNER: &str = "octo-org";
const REPO: &str = "image-host";
const TOKEN: &str = "ghp_repoOpsToken0123456789";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A github-repo profile over `fake` with base path `assets`, and a few files.
async fn repository(server: &TestServer, fake: &FakeGitHub, policy: &str) -> String {
    for path in [
        "assets/images/zeta.png",
        "assets/images/alpha.png",
        "assets/images/alpha-dir/x.png",
        "assets/images/beta-dir/deep/y.png",
        "assets/top.txt",
        "outside/secret.png",
    ] {
        fake.put_file("main", path, path.as_bytes());
    }
    let (status, created) = send(server.post(PROFILES).json(&json!({
        "name": format!("repo-{policy}"), "providerType": "github-repo",
        "configuration": {
            "owner": OWNER, "repo": REPO, "ref": "main", "basePath": "assets",
            "visibilityPolicy": policy, "apiBaseUrl": fake.api_base_url,
            "rawBaseUrl": "https://raw.example"
        },
        "secretConfiguration": { "token": TOKEN }
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    created["data"]["id"].as_str().unwrap().to_string()
}

fn paths(browse: &Value) -> Vec<String> {
    browse["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["path"].as_str().unwrap().to_string())
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn browsing_a_repository(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;
    let id = repository(&server, &fake, "public-only").await;
    let browse = |query: &str| server.get(&format!("{PROFILES}/{id}/github-repo/browse{query}"));

    // The base path itself: NekoHub's defaults echoed.
    let (status, root) = send(browse("")).await;
    assert_eq!(status, 200, "{root}");
    let data = &root["data"];
    assert_eq!(data["profileId"], id.as_str());
    assert_eq!(data["requestedPath"], "");
    assert_eq!(
        (&data["recursive"], &data["maxDepth"], &data["type"]),
        (&json!(false), &json!(2), &json!("all"))
    );
    assert!(data["keyword"].is_null());
    assert_eq!(
        (&data["page"], &data["pageSize"], &data["hasMore"]),
        (&json!(1), &json!(50), &json!(false))
    );
    assert_eq!(data["visibilityPolicy"], "public-only");
    assert_eq!(data["usesControlledRead"], false);
    assert_eq!(
        paths(&root),
        ["images", "top.txt"],
        "nothing outside the base path"
    );
    let folder = &data["items"][0];
    assert_eq!(
        (&folder["type"], &folder["isDirectory"], &folder["isFile"]),
        (&json!("dir"), &json!(true), &json!(false))
    );
    assert!(folder["publicUrl"].is_null() && folder["size"].is_null());
    let file = &data["items"][1];
    assert_eq!(
        (&file["name"], &file["type"], &file["isFile"], &file["size"]),
        (&json!("top.txt"), &json!("file"), &json!(true), &json!(14))
    );
    assert_eq!(
        file["publicUrl"],
        format!("https://raw.example/{OWNER}/{REPO}/main/assets/top.txt")
    );
    assert_eq!(file["sha"].as_str().unwrap().len(), 40);

    // Folders first, then by name; recursion down to maxDepth.
    let (_, one_level) = send(browse("?path=/images/")).await;
    assert_eq!(
        paths(&one_level),
        [
            "images/alpha-dir",
            "images/beta-dir",
            "images/alpha.png",
            "images/zeta.png"
        ]
    );
    let (_, deep) = send(browse("?path=images&recursive=true&maxDepth=3")).await;
    assert_eq!(deep["data"]["total"], 7);
    assert_eq!(
        paths(&deep),
        [
            "images/alpha-dir",
            "images/beta-dir",
            "images/beta-dir/deep",
            "images/alpha.png",
            "images/alpha-dir/x.png",
            "images/beta-dir/deep/y.png",
            "images/zeta.png"
        ]
    );
    let (_, two) = send(browse("?path=images&recursive=true")).await;
    assert_eq!(two["data"]["total"], 6, "maxDepth 2 stops above deep/");

    // Type and keyword filter, then pages.
    let (_, first) = send(browse("?path=images&type=file&keyword=A&page=1&pageSize=1")).await;
    let data = &first["data"];
    assert_eq!(
        (
            &data["type"],
            &data["keyword"],
            &data["total"],
            &data["hasMore"]
        ),
        (&json!("file"), &json!("A"), &json!(2), &json!(true))
    );
    assert_eq!(paths(&first), ["images/alpha.png"]);
    let (_, second) = send(browse("?path=images&type=file&keyword=a&page=2&pageSize=1")).await;
    assert_eq!(second["data"]["hasMore"], false);
    assert_eq!(paths(&second), ["images/zeta.png"]);
    let (_, dirs) = send(browse("?path=images&type=dir&keyword=BETA")).await;
    assert_eq!(paths(&dirs), ["images/beta-dir"]);
    let (_, beyond) = send(browse("?path=images&page=9")).await;
    assert_eq!(
        (&beyond["data"]["total"], paths(&beyond).len()),
        (&json!(4), 0)
    );

    for (query, status, code) in [
        (
            "?path=../secrets",
            400,
            "storage_provider_relative_path_invalid",
        ),
        (
            "?path=images/../../outside",
            400,
            "storage_provider_relative_path_invalid",
        ),
        ("?path=missing", 404, "storage_provider_directory_not_found"),
        ("?path=top.txt", 400, "storage_provider_directory_expected"),
        ("?type=link", 400, "storage_provider_directory_type_invalid"),
        ("?page=0", 400, "storage_provider_directory_page_invalid"),
        (
            "?page=first",
            400,
            "storage_provider_directory_page_invalid",
        ),
        (
            "?pageSize=201",
            400,
            "storage_provider_directory_page_size_invalid",
        ),
        (
            "?pageSize=0",
            400,
            "storage_provider_directory_page_size_invalid",
        ),
        (
            "?maxDepth=0",
            400,
            "storage_provider_directory_depth_invalid",
        ),
        ("?recursive=maybe", 400, "request_invalid"),
    ] {
        let (got, error) = send(browse(query)).await;
        assert_eq!(
            (got, error["error"]["code"].as_str()),
            (status, Some(code)),
            "{query}"
        );
    }
    fake.fail_next(Failure::Status(401), 1);
    let (status, error) = send(browse("")).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_access_denied"))
    );
    fake.fail_next(Failure::RateLimited, 1);
    let (status, error) = send(browse("")).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (503, Some("storage_rate_limited"))
    );

    // private-token: no raw addresses, reads are controlled.
    let private = repository(&server, &fake, "private-token").await;
    let (_, listed) = send(server.get(&format!("{PROFILES}/{private}/github-repo/browse"))).await;
    assert_eq!(listed["data"]["usesControlledRead"], true);
    assert!(listed["data"]["items"][1]["publicUrl"].is_null());
    // A private-token profile whose token went missing (edited behind tessera's back).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    sqlx::query("UPDATE storage_profiles SET secret_ciphertext = NULL WHERE id = $1")
        .bind(&private)
        .execute(&pool)
        .await
        .unwrap();
    let (status, error) =
        send(server.get(&format!("{PROFILES}/{private}/github-repo/browse"))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (
            400,
            Some("storage_provider_profile_github_repo_token_required_for_private")
        )
    );

    // Only enabled github-repo profiles.
    let (_, overview) = server.get_json(PROFILES).await;
    let local = overview["data"]["profiles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, error) = send(server.get(&format!("{PROFILES}/{local}/github-repo/browse"))).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_provider_type_mismatch"))
    );
    let (status, _) = send(server.post(&format!("{PROFILES}/{id}/disable"))).await;
    assert_eq!(status, 200);
    let (status, error) = send(browse("")).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_profile_disabled"))
    );
    let (status, error) = send(server.get(&format!(
        "{PROFILES}/{}/github-repo/browse",
        uuid::Uuid::now_v7()
    )))
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("storage_provider_profile_not_found"))
    );
}

async fn writing_files_into_a_repository(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;
    let id = repository(&server, &fake, "public-only").await;
    let upsert = |body: Value| {
        server
            .post(&format!("{PROFILES}/{id}/github-repo/upsert"))
            .json(&body)
    };

    let (status, created) = send(upsert(json!({
        "path": "images/new.png", "contentBase64": base64(b"\x89PNG"),
        "commitMessage": "chore: add new image"
    })))
    .await;
    assert_eq!(status, 200, "{created}");
    let data = &created["data"];
    assert_eq!(
        (
            &data["profileId"],
            &data["path"],
            &data["operation"],
            &data["size"]
        ),
        (
            &json!(id),
            &json!("images/new.png"),
            &json!("created"),
            &json!(4)
        )
    );
    assert_eq!(
        (&data["visibilityPolicy"], &data["usesControlledRead"]),
        (&json!("public-only"), &json!(false))
    );
    assert_eq!(
        data["publicUrl"],
        format!("https://raw.example/{OWNER}/{REPO}/main/assets/images/new.png")
    );
    assert_eq!(
        fake.file("main", "assets/images/new.png").unwrap(),
        b"\x89PNG"
    );
    let last = fake.commits().last().unwrap().clone();
    assert_eq!(
        (last.operation, last.message.as_str()),
        ("create", "chore: add new image")
    );
    let first_sha = data["sha"].as_str().unwrap().to_string();
    let (_, listed) = send(server.get(&format!(
        "{PROFILES}/{id}/github-repo/browse?path=images&type=file&keyword=new"
    )))
    .await;
    assert_eq!(listed["data"]["items"][0]["sha"], first_sha.as_str());

    // An update of exactly the version read.
    let (status, updated) = send(upsert(json!({
        "path": "images/new.png", "contentBase64": base64(b"version two"), "expectedSha": first_sha
    })))
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["operation"], "updated");
    assert_eq!(updated["data"]["size"], 11);
    let second_sha = updated["data"]["sha"].as_str().unwrap().to_string();
    assert_ne!(second_sha, first_sha);
    assert_eq!(
        fake.commits().last().unwrap().message,
        "tessera: update images/new.png",
        "the profile's template without a message, the path relative to the base path"
    );
    // Without expectedSha, an existing file is overwritten.
    let (_, overwritten) = send(upsert(
        json!({ "path": "top.txt", "contentBase64": base64(b"top") }),
    ))
    .await;
    assert_eq!(overwritten["data"]["operation"], "updated");

    // The expectedSha rules: nothing is written when they fail.
    let commits = fake.commits().len();
    for (body, code) in [
        (
            json!({ "path": "images/new.png", "contentBase64": base64(b"stale"), "expectedSha": first_sha }),
            "storage_provider_upsert_expected_sha_conflict",
        ),
        (
            json!({ "path": "images/none.png", "contentBase64": base64(b"x"), "expectedSha": second_sha }),
            "storage_provider_upsert_expected_sha_target_missing",
        ),
    ] {
        let (status, error) = send(upsert(body)).await;
        assert_eq!((status, error["error"]["code"].as_str()), (409, Some(code)));
    }
    assert_eq!(fake.commits().len(), commits);
    assert_eq!(
        fake.file("main", "assets/images/new.png").unwrap(),
        b"version two"
    );
    assert!(fake.file("main", "assets/images/none.png").is_none());

    for (body, code) in [
        (
            json!({ "contentBase64": base64(b"x") }),
            "storage_provider_upsert_path_required",
        ),
        (
            json!({ "path": "/", "contentBase64": base64(b"x") }),
            "storage_provider_upsert_path_required",
        ),
        (
            json!({ "path": "a.png" }),
            "storage_provider_upsert_content_required",
        ),
        (
            json!({ "path": "a.png", "contentBase64": "  " }),
            "storage_provider_upsert_content_required",
        ),
        (
            json!({ "path": "a.png", "contentBase64": "not base64!" }),
            "storage_provider_upsert_content_base64_invalid",
        ),
        (
            json!({ "path": "../escape.png", "contentBase64": base64(b"x") }),
            "storage_provider_relative_path_invalid",
        ),
        (
            json!({ "path": "images", "contentBase64": base64(b"x") }),
            "storage_provider_file_expected",
        ),
        (
            json!({ "path": "a.png", "contentBase64": base64(b"x"), "sha": "x" }),
            "request_invalid",
        ),
    ] {
        let (status, error) = send(upsert(body.clone())).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    assert_eq!(fake.commits().len(), commits);
    fake.fail_next(Failure::Status(422), 2);
    let (status, error) = send(upsert(
        json!({ "path": "b.png", "contentBase64": base64(b"x") }),
    ))
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("storage_provider_upsert_failed"))
    );
    fake.clear_failures();

    // A key that may read providers may browse but not write.
    let (status, key) = send(
        server
            .post("/api/v1/apikeys")
            .json(&json!({ "name": "reader", "scopes": ["providers.read"] })),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let reader = key["data"]["key"].as_str().unwrap();
    let as_reader = |request: reqwest::RequestBuilder| request.bearer_auth(reader);
    let (status, _) =
        send(as_reader(server.http.get(
            server.url(&format!("{PROFILES}/{id}/github-repo/browse")),
        )))
        .await;
    assert_eq!(status, 200);
    let (status, error) = send(as_reader(
        server
            .http
            .post(server.url(&format!("{PROFILES}/{id}/github-repo/upsert")))
            .json(&json!({ "path": "c.png", "contentBase64": base64(b"x") })),
    ))
    .await;
    assert_eq!(status, 403, "{error}");
    assert!(fake.file("main", "assets/c.png").is_none());

    // private-token: written, but no raw address.
    let private = repository(&server, &fake, "private-token").await;
    let (status, written) = send(
        server
            .post(&format!("{PROFILES}/{private}/github-repo/upsert"))
            .json(&json!({ "path": "secret/plan.png", "contentBase64": base64(b"plan") })),
    )
    .await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(
        (
            &written["data"]["visibilityPolicy"],
            &written["data"]["usesControlledRead"]
        ),
        (&json!("private-token"), &json!(true))
    );
    assert!(written["data"]["publicUrl"].is_null());
}

async fn repository_operations_through_grpc(backend: Backend) {
    use tessera::api::grpc::proto::{
        BrowseGitHubRepositoryRequest, UpsertGitHubRepositoryFileRequest,
    };

    let server = TestServer::start(backend).await;
    let fake = FakeGitHub::start(OWNER, REPO, TOKEN).await;
    let id = repository(&server, &fake, "public-only").await;
    let mut profiles = server.storage_profiles_grpc().await;

    let browse = profiles
        .browse_git_hub_repository(BrowseGitHubRepositoryRequest {
            id: id.clone(),
            path: Some("images".into()),
            recursive: true,
            max_depth: Some(3),
            r#type: Some("file".into()),
            page_size: Some(2),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (browse.total, browse.has_more, browse.page_size),
        (4, true, 2)
    );
    let names: Vec<&str> = browse.items.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(names, ["images/alpha.png", "images/alpha-dir/x.png"]);
    assert_eq!(browse.items[0].r#type, "file");
    assert!(browse.items[0].public_url.is_some());
    let err = profiles
        .browse_git_hub_repository(BrowseGitHubRepositoryRequest {
            id: id.clone(),
            path: Some("../secrets".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "storage_provider_relative_path_invalid"
        )
    );
    let err = profiles
        .browse_git_hub_repository(BrowseGitHubRepositoryRequest {
            id: id.clone(),
            path: Some("nowhere".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "storage_provider_directory_not_found")
    );

    let upsert = |content: &[u8], expected_sha: Option<String>| UpsertGitHubRepositoryFileRequest {
        id: id.clone(),
        path: "images/grpc.png".into(),
        content: content.to_vec().into(),
        commit_message: Some("add through gRPC".into()),
        expected_sha,
    };
    let written = profiles
        .upsert_git_hub_repository_file(upsert(b"bytes, not base64", None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((written.operation.as_str(), written.size), ("created", 17));
    assert_eq!(
        fake.file("main", "assets/images/grpc.png").unwrap(),
        b"bytes, not base64"
    );
    let err = profiles
        .upsert_git_hub_repository_file(upsert(b"", None))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "storage_provider_upsert_content_empty"
        )
    );
    let err = profiles
        .upsert_git_hub_repository_file(upsert(b"v2", Some("0".repeat(40))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (
            Code::Aborted,
            "storage_provider_upsert_expected_sha_conflict"
        )
    );
    let updated = profiles
        .upsert_git_hub_repository_file(upsert(b"v2", Some(written.sha)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.operation, "updated");
}
