use chrono::{DateTime, Utc};

/// The provider type a name means (`s3-compatible` and `github` are NekoHub's
/// aliases), the one table the API and the start-up configuration share.
pub fn canonical_provider_type(name: &str) -> Option<&'static str> {
    match name.trim().to_ascii_lowercase().as_str() {
        "local" => Some("local"),
        "s3" | "s3-compatible" => Some("s3"),
        "github-repo" | "github" => Some("github-repo"),
        _ => None,
    }
}

/// A storage provider profile as clients see it: no secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageProfile {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub provider_type: String,
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
