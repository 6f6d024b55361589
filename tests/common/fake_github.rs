//! An in-process stand-in for GitHub's repository contents API (served under
//! `/api/v3`, the GitHub Enterprise layout). It checks what GitHub checks:
//! the token, the repository, the branch, base64 content, the blob `sha` on
//! update and delete; and it can answer 401/404/409/422 or a rate limit.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A scripted failure for the next request(s).
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    Status(u16),
    /// GitHub's primary rate limit: 403 with `x-ratelimit-remaining: 0`.
    RateLimited,
}

/// A commit the fake recorded.
#[derive(Clone, Debug)]
pub struct Commit {
    pub operation: &'static str,
    pub path: String,
    pub branch: String,
    pub message: String,
}

struct Repository {
    owner: String,
    repo: String,
    token: String,
    branches: Vec<String>,
    /// (branch, path) -> bytes
    files: BTreeMap<(String, String), Vec<u8>>,
    commits: Vec<Commit>,
    failures: VecDeque<Failure>,
}

#[derive(Clone)]
pub struct FakeGitHub {
    /// The API base URL to configure (`apiBaseUrl`).
    pub api_base_url: String,
    state: Arc<Mutex<Repository>>,
}

/// The blob sha the fake hands out: deterministic in the content, like Git's.
fn blob_sha(bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("blob {}\0", bytes.len()));
    hasher.update(bytes);
    hex::encode(hasher.finalize())[..40].to_string()
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "message": text,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.as_u16().to_string(),
        })),
    )
        .into_response()
}

impl FakeGitHub {
    pub async fn start(owner: &str, repo: &str, token: &str) -> FakeGitHub {
        let state = Arc::new(Mutex::new(Repository {
            owner: owner.into(),
            repo: repo.into(),
            token: token.into(),
            branches: vec!["main".into(), "images".into()],
            files: BTreeMap::new(),
            commits: Vec::new(),
            failures: VecDeque::new(),
        }));
        let app = Router::new()
            .route(
                "/api/v3/repos/{owner}/{repo}/branches/{branch}",
                get(branch),
            )
            .route("/api/v3/repos/{owner}/{repo}/git/trees/{branch}", get(tree))
            .route(
                "/api/v3/repos/{owner}/{repo}/contents/{*path}",
                get(contents).put(contents).delete(contents),
            )
            .route("/api/v3/repos/{owner}/{repo}/contents", get(root_contents))
            .layer(DefaultBodyLimit::max(200 * 1024 * 1024))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeGitHub {
            api_base_url: format!("http://{addr}/api/v3"),
            state,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Repository> {
        self.state.lock().unwrap()
    }

    /// Makes the next `times` requests fail with `failure`.
    pub fn fail_next(&self, failure: Failure, times: usize) {
        let mut repo = self.lock();
        repo.failures.extend(std::iter::repeat_n(failure, times));
    }

    /// Drops scripted failures that were not used.
    pub fn clear_failures(&self) {
        self.lock().failures.clear();
    }

    /// Paths of the files on `branch`.
    pub fn files(&self, branch: &str) -> Vec<String> {
        self.lock()
            .files
            .keys()
            .filter(|(b, _)| b == branch)
            .map(|(_, path)| path.clone())
            .collect()
    }

    pub fn file(&self, branch: &str, path: &str) -> Option<Vec<u8>> {
        self.lock()
            .files
            .get(&(branch.to_string(), path.to_string()))
            .cloned()
    }

    pub fn commits(&self) -> Vec<Commit> {
        self.lock().commits.clone()
    }

    /// Puts a file on `branch` as someone else's commit would.
    pub fn put_file(&self, branch: &str, path: &str, bytes: &[u8]) {
        self.lock()
            .files
            .insert((branch.to_string(), path.to_string()), bytes.to_vec());
    }
}

/// The git trees API (`?recursive=1`): every file on the branch, as blobs.
/// Only the background sweep lists, so scripted failures (meant for the
/// requests a test makes) are left for those.
async fn tree(
    State(state): State<Arc<Mutex<Repository>>>,
    Path((owner, name, branch)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let repo = state.lock().unwrap();
    if let Some(refused) = authorized(&repo, &headers, &owner, &name) {
        return refused;
    }
    if !repo.branches.contains(&branch) {
        return message(StatusCode::NOT_FOUND, "Not Found");
    }
    let entries: Vec<Value> = repo
        .files
        .iter()
        .filter(|((b, _), _)| *b == branch)
        .map(|((_, path), bytes)| {
            json!({ "path": path, "mode": "100644", "type": "blob", "sha": blob_sha(bytes), "size": bytes.len() })
        })
        .collect();
    axum::Json(json!({ "sha": "0123456789abcdef0123456789abcdef01234567", "tree": entries, "truncated": false }))
        .into_response()
}

/// Token, repository and scripted failures: what every route checks first.
fn admit(repo: &mut Repository, headers: &HeaderMap, owner: &str, name: &str) -> Option<Response> {
    if let Some(failure) = repo.failures.pop_front() {
        return Some(match failure {
            Failure::RateLimited => {
                let reset = chrono::Utc::now().timestamp() + 42;
                let mut response = message(
                    StatusCode::FORBIDDEN,
                    "API rate limit exceeded for user ID 1.",
                );
                let headers = response.headers_mut();
                headers.insert("x-ratelimit-limit", 5000.into());
                headers.insert("x-ratelimit-remaining", 0.into());
                headers.insert("x-ratelimit-reset", reset.into());
                response
            }
            Failure::Status(status) => {
                let status = StatusCode::from_u16(status).unwrap();
                let text = match status.as_u16() {
                    401 => "Bad credentials",
                    404 => "Not Found",
                    409 => "is at 0000000 but expected 1111111",
                    422 => "Invalid request.",
                    _ => "Server Error",
                };
                message(status, text)
            }
        });
    }
    authorized(repo, headers, owner, name)
}

/// The token and repository checks alone (no scripted failure).
fn authorized(repo: &Repository, headers: &HeaderMap, owner: &str, name: &str) -> Option<Response> {
    let expected = format!("Bearer {}", repo.token);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorization != Some(expected.as_str())
        && authorization != Some(format!("token {}", repo.token).as_str())
    {
        return Some(message(StatusCode::UNAUTHORIZED, "Bad credentials"));
    }
    if owner != repo.owner || name != repo.repo {
        return Some(message(StatusCode::NOT_FOUND, "Not Found"));
    }
    None
}

async fn branch(
    State(state): State<Arc<Mutex<Repository>>>,
    Path((owner, name, branch)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut repo = state.lock().unwrap();
    if let Some(refused) = admit(&mut repo, &headers, &owner, &name) {
        return refused;
    }
    if !repo.branches.contains(&branch) {
        return message(StatusCode::NOT_FOUND, "Branch not found");
    }
    axum::Json(json!({ "name": branch, "commit": { "sha": "0123456789abcdef0123456789abcdef01234567" }, "protected": false })).into_response()
}

fn describe(path: &str, bytes: &[u8], with_content: bool) -> Value {
    let sha = blob_sha(bytes);
    let name = path.rsplit('/').next().unwrap_or(path);
    let url = format!("https://api.github.test/repos/o/r/contents/{path}");
    // Like GitHub: inline base64 content only up to 1 MB.
    let (encoding, content) = if with_content && bytes.len() <= 1024 * 1024 {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        // GitHub wraps the base64 at 60 characters.
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(60)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        ("base64", wrapped.join("\n"))
    } else {
        ("none", String::new())
    };
    json!({
        "type": "file", "encoding": encoding, "size": bytes.len(), "name": name, "path": path,
        "content": content, "sha": sha, "url": url,
        "git_url": format!("https://api.github.test/repos/o/r/git/blobs/{sha}"),
        "html_url": format!("https://github.test/o/r/blob/main/{path}"),
        "download_url": format!("https://raw.github.test/o/r/main/{path}"),
        "_links": { "self": url, "git": format!("https://api.github.test/repos/o/r/git/blobs/{sha}"), "html": format!("https://github.test/o/r/blob/main/{path}") }
    })
}

/// GitHub's listing of a folder: its files and subfolders, one level deep;
/// `None` when nothing lies under `path`.
fn folder(repo: &Repository, branch: &str, path: &str) -> Option<Value> {
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut entries: BTreeMap<String, Value> = BTreeMap::new();
    for ((file_branch, file), bytes) in &repo.files {
        let Some(rest) = file.strip_prefix(&prefix).filter(|_| file_branch == branch) else {
            continue;
        };
        match rest.split_once('/') {
            None => {
                entries.insert(rest.to_string(), describe(file, bytes, false));
            }
            Some((dir, _)) => {
                let dir_path = format!("{prefix}{dir}");
                entries.entry(dir.to_string()).or_insert_with(|| {
                    json!({
                        "type": "dir", "size": 0, "name": dir, "path": dir_path,
                        "sha": blob_sha(dir_path.as_bytes()), "download_url": null,
                        "url": format!("https://api.github.test/repos/o/r/contents/{dir_path}")
                    })
                });
            }
        }
    }
    (!entries.is_empty() || path.is_empty()).then(|| Value::Array(entries.into_values().collect()))
}

/// The repository root's listing (`GET .../contents`).
async fn root_contents(
    State(state): State<Arc<Mutex<Repository>>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut repo = state.lock().unwrap();
    if let Some(refused) = admit(&mut repo, &headers, &owner, &name) {
        return refused;
    }
    let branch = query
        .get("ref")
        .cloned()
        .unwrap_or(repo.branches[0].clone());
    axum::Json(folder(&repo, &branch, "").unwrap_or_default()).into_response()
}

fn commit(message: &str) -> Value {
    json!({ "sha": blob_sha(message.as_bytes()), "message": message })
}

async fn contents(
    State(state): State<Arc<Mutex<Repository>>>,
    Path((owner, name, path)): Path<(String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut repo = state.lock().unwrap();
    if let Some(refused) = admit(&mut repo, &headers, &owner, &name) {
        return refused;
    }
    let default_branch = repo.branches[0].clone();
    if method == Method::GET {
        let branch = query.get("ref").cloned().unwrap_or(default_branch);
        if !repo.branches.contains(&branch) {
            return message(
                StatusCode::NOT_FOUND,
                &format!("No commit found for the ref {branch}"),
            );
        }
        let Some(bytes) = repo.files.get(&(branch.clone(), path.clone())) else {
            return match folder(&repo, &branch, &path) {
                Some(listing) => axum::Json(listing).into_response(),
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            };
        };
        let raw = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("raw"));
        if raw {
            return (
                [(header::CONTENT_TYPE, "application/vnd.github.raw")],
                bytes.clone(),
            )
                .into_response();
        }
        return axum::Json(describe(&path, bytes, true)).into_response();
    }

    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return message(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    let Some(commit_message) = request["message"].as_str().filter(|m| !m.is_empty()) else {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"message\" wasn't supplied.",
        );
    };
    let branch = request["branch"]
        .as_str()
        .map(str::to_string)
        .unwrap_or(default_branch);
    if !repo.branches.contains(&branch) {
        return message(StatusCode::NOT_FOUND, &format!("Branch {branch} not found"));
    }
    let key = (branch.clone(), path.clone());
    let current_sha = repo.files.get(&key).map(|bytes| blob_sha(bytes));
    let given_sha = request["sha"].as_str();

    if method == Method::PUT {
        let Some(content) = request["content"].as_str() else {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request.\n\n\"content\" wasn't supplied.",
            );
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(content) else {
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "content is not valid Base64",
            );
        };
        let created = match (&current_sha, given_sha) {
            (None, _) => true,
            (Some(_), None) => {
                return message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request.\n\n\"sha\" wasn't supplied.",
                );
            }
            (Some(current), Some(given)) if current != given => {
                return message(
                    StatusCode::CONFLICT,
                    &format!("{path} does not match {given}"),
                );
            }
            (Some(_), Some(_)) => false,
        };
        let content = describe(&path, &bytes, false);
        repo.files.insert(key, bytes);
        repo.commits.push(Commit {
            operation: if created { "create" } else { "update" },
            path,
            branch,
            message: commit_message.to_string(),
        });
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return (
            status,
            axum::Json(json!({ "content": content, "commit": commit(commit_message) })),
        )
            .into_response();
    }

    // DELETE
    let Some(current) = current_sha else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    match given_sha {
        None => message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"sha\" wasn't supplied.",
        ),
        Some(given) if given != current => message(
            StatusCode::CONFLICT,
            &format!("{path} does not match {given}"),
        ),
        Some(_) => {
            repo.files.remove(&key);
            repo.commits.push(Commit {
                operation: "delete",
                path,
                branch,
                message: commit_message.to_string(),
            });
            axum::Json(json!({ "content": null, "commit": commit(commit_message) })).into_response()
        }
    }
}
