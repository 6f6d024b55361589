//! What a storage profile's configuration may say, per provider type:
//! validated fields with defaults, the secret kept apart, and capabilities.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::{
    domain::ProviderType,
    error::{Error, Result},
    storage::{DEFAULT_COMMIT_MESSAGE_TEMPLATE, GITHUB_MAX_FILE_BYTES, validate_key},
};

/// The configuration field that holds a provider's secret.
pub(super) fn secret_field(provider_type: ProviderType) -> &'static str {
    match provider_type {
        ProviderType::GitHubRepo => "token",
        ProviderType::S3 | ProviderType::Local => "secretAccessKey",
    }
}

/// GitHub's public-read policies: `public-only` refuses private assets,
/// `private-token` allows them (served through tessera with the token).
pub(super) const PUBLIC_ONLY: &str = "public-only";
pub(super) const PRIVATE_TOKEN: &str = "private-token";

pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::StorageProfileConfigurationInvalid {
        field,
        message: message.into(),
    }
}

fn text<'a>(config: &'a Map<String, Value>, field: &'static str) -> Result<Option<&'a str>> {
    match config.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim())),
        Some(_) => Err(invalid(field, "must be a non-empty string")),
    }
}

fn required<'a>(config: &'a Map<String, Value>, field: &'static str) -> Result<&'a str> {
    text(config, field)?.ok_or_else(|| invalid(field, "is required"))
}

fn http_url(config: &Map<String, Value>, field: &'static str) -> Result<Option<String>> {
    let Some(url) = text(config, field)? else {
        return Ok(None);
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(field, e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(field, "must be an http(s) URL"));
    }
    Ok(Some(url.trim_end_matches('/').to_string()))
}

/// A name of `allowed` bytes with length in `lengths`.
fn identifier<'a>(
    config: &'a Map<String, Value>,
    field: &'static str,
    lengths: std::ops::RangeInclusive<usize>,
    allowed: impl Fn(u8) -> bool,
    rule: &str,
) -> Result<&'a str> {
    let value = required(config, field)?;
    if lengths.contains(&value.len()) && value.bytes().all(allowed) {
        Ok(value)
    } else {
        Err(invalid(field, rule.to_string()))
    }
}

pub(super) fn capabilities(provider_type: ProviderType, config: &Map<String, Value>) -> Value {
    match provider_type {
        ProviderType::S3 => {
            json!({ "publicUrls": true, "rangeReads": true, "multipartUpload": true, "privateAssets": true })
        }
        ProviderType::GitHubRepo => json!({
            "publicUrls": true,
            "rangeReads": true,
            "multipartUpload": false,
            "privateAssets": config.get("visibilityPolicy").and_then(Value::as_str) == Some(PRIVATE_TOKEN),
            "maxObjectBytes": GITHUB_MAX_FILE_BYTES,
        }),
        ProviderType::Local => {
            json!({ "publicUrls": true, "rangeReads": true, "multipartUpload": false, "privateAssets": true })
        }
    }
}

/// Checks a provider's configuration; returns the non-secret part and the secret.
pub(super) fn validate(
    data_dir: &Path,
    provider_type: ProviderType,
    name: &str,
    config: &Map<String, Value>,
    old_secret: Option<String>,
) -> Result<(Map<String, Value>, Option<String>)> {
    let mut clean = Map::new();
    match provider_type {
        ProviderType::Local => {
            let root = match text(config, "rootPath")? {
                Some(root) => root.to_string(),
                None => data_dir.join("storage").join(name).display().to_string(),
            };
            clean.insert("rootPath".into(), root.into());
            Ok((clean, None))
        }
        ProviderType::GitHubRepo => {
            validate_github(config, &mut clean)?;
            let token = match text(config, "token")? {
                Some(token) => Some(token.to_string()),
                None => old_secret,
            };
            let token = token.ok_or_else(|| invalid("token", "is required"))?;
            // The token goes into an HTTP header: visible ASCII only.
            if token.len() > 255 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "token",
                    "must be up to 255 visible ASCII characters without spaces",
                ));
            }
            Ok((clean, Some(token)))
        }
        ProviderType::S3 => {
            let endpoint =
                http_url(config, "endpoint")?.ok_or_else(|| invalid("endpoint", "is required"))?;
            let bucket = required(config, "bucket")?;
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !bucket_ok {
                return Err(invalid(
                    "bucket",
                    "must be 3 to 63 lowercase letters, digits, '-' or '.'",
                ));
            }
            clean.insert("endpoint".into(), endpoint.into());
            clean.insert(
                "region".into(),
                text(config, "region")?.unwrap_or("us-east-1").into(),
            );
            clean.insert("bucket".into(), bucket.into());
            clean.insert(
                "accessKeyId".into(),
                required(config, "accessKeyId")?.into(),
            );
            let path_style = match config.get("forcePathStyle") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(invalid("forcePathStyle", "must be true or false")),
            };
            clean.insert("forcePathStyle".into(), path_style.into());
            if let Some(url) = http_url(config, "publicBaseUrl")? {
                clean.insert("publicBaseUrl".into(), url.into());
            }
            let secret = match text(config, "secretAccessKey")? {
                Some(secret) => Some(secret.to_string()),
                None => old_secret,
            };
            let secret = secret.ok_or_else(|| invalid("secretAccessKey", "is required"))?;
            Ok((clean, Some(secret)))
        }
    }
}

/// The non-secret part of a GitHub repository profile, with defaults.
fn validate_github(config: &Map<String, Value>, clean: &mut Map<String, Value>) -> Result<()> {
    let owner = identifier(
        config,
        "owner",
        1..=39,
        |b| b.is_ascii_alphanumeric() || b == b'-',
        "must be 1 to 39 letters, digits or '-'",
    )?;
    let repo = identifier(
        config,
        "repo",
        1..=100,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'),
        "must be 1 to 100 letters, digits, '-', '_' or '.'",
    )?;
    let branch = text(config, "branch")?.unwrap_or("main");
    let branch_ok = branch.len() <= 200
        && !branch.starts_with('/')
        && !branch.ends_with('/')
        && !branch.contains("..")
        && !branch.contains("//")
        && branch
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !branch_ok {
        return Err(invalid(
            "branch",
            "must be a branch name of letters, digits, '-', '_', '.' or '/'",
        ));
    }
    // Empty means the repository's root.
    let base_path = match config.get("basePath") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(path)) => path.trim().trim_matches('/').to_string(),
        Some(_) => return Err(invalid("basePath", "must be a string")),
    };
    if !base_path.is_empty() && validate_key(&base_path).is_err() {
        return Err(invalid(
            "basePath",
            "must be a relative folder of letters, digits, '-', '_' or '.'",
        ));
    }
    let api_base_url =
        http_url(config, "apiBaseUrl")?.unwrap_or_else(|| "https://api.github.com".into());
    let raw_base_url = http_url(config, "rawBaseUrl")?
        .unwrap_or_else(|| "https://raw.githubusercontent.com".into());
    let template =
        text(config, "commitMessageTemplate")?.unwrap_or(DEFAULT_COMMIT_MESSAGE_TEMPLATE);
    if template.chars().count() > 500 {
        return Err(invalid(
            "commitMessageTemplate",
            "must be at most 500 characters",
        ));
    }
    let policy = match text(config, "visibilityPolicy")? {
        None => PUBLIC_ONLY,
        Some(policy) if policy == PUBLIC_ONLY || policy == PRIVATE_TOKEN => policy,
        Some(_) => {
            return Err(invalid(
                "visibilityPolicy",
                "must be public-only or private-token",
            ));
        }
    };
    clean.insert("owner".into(), owner.into());
    clean.insert("repo".into(), repo.into());
    clean.insert("branch".into(), branch.into());
    clean.insert("basePath".into(), base_path.into());
    clean.insert("apiBaseUrl".into(), api_base_url.into());
    clean.insert("rawBaseUrl".into(), raw_base_url.into());
    clean.insert("commitMessageTemplate".into(), template.into());
    clean.insert("visibilityPolicy".into(), policy.into());
    Ok(())
}
