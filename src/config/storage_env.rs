//! `TESSERA_STORAGE_PROVIDER` with `TESSERA_STORAGE_S3_*` or
//! `TESSERA_STORAGE_GITHUB_*`: a default storage profile from the
//! environment only (its fields follow the profile's configuration).

use super::{ConfigError, Secret, setting_value};
use crate::domain::ProviderType;

/// A default storage profile described by the environment; the profile
/// service validates it like any profile created through the API.
#[derive(Clone, Debug)]
pub struct StorageEnv {
    /// `s3-compatible` or `github-repo`.
    pub provider_type: ProviderType,
    /// The profile's configuration without its secret.
    pub configuration: serde_json::Map<String, serde_json::Value>,
    /// The S3 secret access key or the GitHub token.
    pub secret: Secret,
}

/// The default profile named by `TESSERA_STORAGE_PROVIDER`; `local` means none.
pub(super) fn storage_env(
    provider: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<StorageEnv>, ConfigError> {
    let provider_type = match ProviderType::parse(provider) {
        Some(ProviderType::Local) => return Ok(None),
        Some(ProviderType::GitHubReleases) | None => {
            return Err(ConfigError::Invalid {
                name: "TESSERA_STORAGE_PROVIDER",
                message: format!(
                    "expected local, s3 (s3-compatible) or github-repo, got '{provider}'"
                ),
            });
        }
        Some(provider_type) => provider_type,
    };
    let (prefix, secret_name, fields): (&str, &'static str, &[(&str, &str)]) =
        if provider_type == ProviderType::S3 {
            (
                "TESSERA_STORAGE_S3_",
                "TESSERA_STORAGE_S3_SECRET_ACCESS_KEY",
                &[
                    ("ENDPOINT", "endpoint"),
                    ("REGION", "region"),
                    ("BUCKET", "bucket"),
                    ("ACCESS_KEY_ID", "accessKeyId"),
                    ("FORCE_PATH_STYLE", "forcePathStyle"),
                    ("PUBLIC_BASE_URL", "publicBaseUrl"),
                ],
            )
        } else {
            (
                "TESSERA_STORAGE_GITHUB_",
                "TESSERA_STORAGE_GITHUB_TOKEN",
                &[
                    ("OWNER", "owner"),
                    ("REPO", "repo"),
                    ("BRANCH", "branch"),
                    ("BASE_PATH", "basePath"),
                    ("API_BASE_URL", "apiBaseUrl"),
                    ("RAW_BASE_URL", "rawBaseUrl"),
                    ("COMMIT_MESSAGE_TEMPLATE", "commitMessageTemplate"),
                    ("VISIBILITY_POLICY", "visibilityPolicy"),
                ],
            )
        };
    let mut configuration = serde_json::Map::new();
    for (suffix, field) in fields {
        let name = format!("{prefix}{suffix}");
        if let Some(value) = get(&name) {
            let value = if *field == "forcePathStyle" {
                serde_json::Value::Bool(setting_value(
                    "TESSERA_STORAGE_S3_FORCE_PATH_STYLE",
                    &value,
                )?)
            } else {
                serde_json::Value::String(value)
            };
            configuration.insert((*field).to_string(), value);
        }
    }
    // The environment keeps its defaults (the API asks for both).
    let (field, default) = if provider_type == ProviderType::S3 {
        ("region", "us-east-1")
    } else {
        ("branch", "main")
    };
    configuration.entry(field).or_insert_with(|| default.into());
    let secret = get(secret_name).ok_or(ConfigError::Invalid {
        name: secret_name,
        message: format!("is required with TESSERA_STORAGE_PROVIDER={provider_type}"),
    })?;
    Ok(Some(StorageEnv {
        provider_type,
        configuration,
        secret: Secret::new(secret),
    }))
}
