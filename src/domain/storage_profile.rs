use chrono::{DateTime, Utc};

use serde_json::{Map, Value};

/// Where a profile keeps its bytes. One spelling in SQL, Rust and JSON:
/// `local`, `s3`, `github-repo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderType {
    Local,
    S3,
    GitHubRepo,
}

impl ProviderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderType::Local => "local",
            ProviderType::S3 => "s3",
            ProviderType::GitHubRepo => "github-repo",
        }
    }

    /// The type a name means (`s3-compatible` and `github` are NekoHub's
    /// aliases), the one table the API and the start-up configuration share.
    pub fn parse(name: &str) -> Option<ProviderType> {
        match name.trim().to_ascii_lowercase().as_str() {
            "local" => Some(ProviderType::Local),
            "s3" | "s3-compatible" => Some(ProviderType::S3),
            "github-repo" | "github" => Some(ProviderType::GitHubRepo),
            _ => None,
        }
    }
}

impl std::str::FromStr for ProviderType {
    type Err = crate::error::Error;

    fn from_str(name: &str) -> Result<ProviderType, Self::Err> {
        ProviderType::parse(name)
            .ok_or_else(|| crate::error::Error::StorageProviderTypeInvalid(name.to_string()))
    }
}

impl std::fmt::Display for ProviderType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A profile as stored: its validated configuration and its secret, sealed
/// and bound to the id. Only the profile service reads it;
/// [`StorageProfile`] is what callers see.
#[derive(Clone, Debug)]
pub struct StoredStorageProfile {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub provider_type: ProviderType,
    pub is_enabled: bool,
    pub is_default: bool,
    /// The non-secret settings.
    pub configuration: Map<String, Value>,
    pub secret_ciphertext: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A storage provider profile as clients see it: no secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageProfile {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub provider_type: ProviderType,
    pub is_enabled: bool,
    pub is_default: bool,
    pub capabilities: serde_json::Value,
    /// The configuration without secrets (`hasSecret` says whether one is set).
    pub configuration_summary: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new profile; `configuration` is provider-specific JSON.
#[derive(Clone, Debug, Default)]
pub struct NewStorageProfile {
    pub name: String,
    pub display_name: Option<String>,
    pub provider_type: String,
    pub is_default: bool,
    pub is_enabled: Option<bool>,
    pub configuration: serde_json::Map<String, serde_json::Value>,
}

/// A change; configuration keys that are present replace the stored ones
/// (the secret stays unless given).
#[derive(Clone, Debug, Default)]
pub struct StorageProfilePatch {
    pub display_name: Option<String>,
    pub is_enabled: Option<bool>,
    pub configuration: Option<serde_json::Map<String, serde_json::Value>>,
}
