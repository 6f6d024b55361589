use chrono::{DateTime, Utc};

use serde_json::{Map, Value};

/// Where a profile keeps its bytes, by NekoHub's type names (one spelling in
/// SQL, Rust and JSON): `local`, `s3-compatible`, `github-repo`, and the
/// read-only `github-releases`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderType {
    Local,
    S3,
    GitHubRepo,
    GitHubReleases,
}

impl ProviderType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderType::Local => "local",
            ProviderType::S3 => "s3-compatible",
            ProviderType::GitHubRepo => "github-repo",
            ProviderType::GitHubReleases => "github-releases",
        }
    }

    /// The name an asset's `storageProvider` carries (NekoHub's provider
    /// name): `s3` for S3-compatible storage, otherwise the type.
    pub const fn provider_name(self) -> &'static str {
        match self {
            ProviderType::S3 => "s3",
            other => other.as_str(),
        }
    }

    /// The type a name means (`s3` and `github` are accepted aliases), the
    /// one table the API, the database and the start-up configuration share.
    pub fn parse(name: &str) -> Option<ProviderType> {
        match name.trim().to_ascii_lowercase().as_str() {
            "local" => Some(ProviderType::Local),
            "s3" | "s3-compatible" => Some(ProviderType::S3),
            "github-repo" | "github" => Some(ProviderType::GitHubRepo),
            "github-releases" => Some(ProviderType::GitHubReleases),
            _ => None,
        }
    }
}

impl std::str::FromStr for ProviderType {
    type Err = crate::error::Error;

    fn from_str(name: &str) -> Result<ProviderType, Self::Err> {
        ProviderType::parse(name)
            .ok_or_else(|| crate::error::Error::StorageProviderTypeUnsupported(name.to_string()))
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
    /// NekoHub's ten capability flags.
    pub capabilities: serde_json::Value,
    /// NekoHub's eighteen summary keys (null where absent) and `hasSecret`;
    /// never a secret.
    pub configuration_summary: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new profile as NekoHub's clients send it: `configuration` is the
/// provider's settings, `secretConfiguration` its credentials (tessera also
/// takes the credentials inside `configuration`, as it always did).
#[derive(Clone, Debug, Default)]
pub struct NewStorageProfile {
    pub name: String,
    pub display_name: Option<String>,
    pub provider_type: String,
    pub is_default: bool,
    pub is_enabled: Option<bool>,
    pub configuration: Option<Value>,
    pub secret_configuration: Option<Value>,
}

/// A change: `None` keeps a field; `configuration` replaces the stored one
/// whole; an absent secret keeps the stored one, `Value::Null` clears it.
#[derive(Clone, Debug, Default)]
pub struct StorageProfilePatch {
    pub name: Option<String>,
    pub display_name: Option<Option<String>>,
    pub is_enabled: Option<bool>,
    pub configuration: Option<Value>,
    pub secret_configuration: Option<Value>,
}

/// What a delete did: a profile that assets still use is disabled instead,
/// so they stay readable.
#[derive(Clone, Debug)]
pub struct DeletedStorageProfile {
    pub id: String,
    pub was_default: bool,
    pub status: DeletionStatus,
    pub deleted_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionStatus {
    Deleted,
    Disabled,
}

impl DeletionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::Deleted => "deleted",
            DeletionStatus::Disabled => "disabled",
        }
    }
}

/// The storage page at a glance (NekoHub's overview): every profile, the
/// default, and where uploads without a profile go now.
#[derive(Clone, Debug)]
pub struct StorageOverview {
    pub profiles: Vec<StorageProfile>,
    pub default_profile: Option<StorageProfile>,
    pub runtime: StorageRuntime,
    pub alignment: StorageAlignment,
}

/// The backend uploads without a profile use.
#[derive(Clone, Debug)]
pub struct StorageRuntime {
    pub provider_type: ProviderType,
    pub provider_name: String,
    pub capabilities: Value,
    /// No default profile: the instance's configured storage is used.
    pub is_configuration_driven: bool,
    pub matches_default_profile_type: Option<bool>,
}

/// Whether the runtime agrees with the database's default, with NekoHub's
/// codes and messages.
#[derive(Clone, Debug)]
pub struct StorageAlignment {
    pub runtime_selection_source: &'static str,
    pub has_default_profile: bool,
    pub is_default_profile_enabled: Option<bool>,
    pub provider_type_matches_default_profile: Option<bool>,
    pub code: &'static str,
    pub message: &'static str,
}

/// A browse of a `github-repo` profile's repository, as a client asks for it
/// (NekoHub's query parameters; `None` takes the default).
#[derive(Clone, Debug, Default)]
pub struct RepositoryBrowseRequest {
    pub path: Option<String>,
    pub recursive: bool,
    pub max_depth: Option<i64>,
    /// `all`, `file` or `dir`.
    pub entry_type: Option<String>,
    pub keyword: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// One page of a repository folder (and its subfolders when recursive).
#[derive(Clone, Debug)]
pub struct RepositoryBrowse {
    pub profile_id: String,
    pub requested_path: String,
    pub recursive: bool,
    pub max_depth: u32,
    pub entry_type: &'static str,
    pub keyword: Option<String>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub has_more: bool,
    pub visibility_policy: String,
    /// Reads go through tessera with the token (`private-token`).
    pub uses_controlled_read: bool,
    pub items: Vec<RepositoryItem>,
}

/// A file or folder, its path relative to the profile's base path.
#[derive(Clone, Debug)]
pub struct RepositoryItem {
    pub name: String,
    pub path: String,
    pub is_directory: bool,
    pub size: Option<u64>,
    pub sha: Option<String>,
    /// The raw address of a file, unless the repository is read with a token.
    pub public_url: Option<String>,
}

/// The bytes of a file written into a repository.
#[derive(Clone, Debug)]
pub enum FileContent {
    /// REST's `contentBase64`, decoded by the service so both doors share its codes.
    Base64(Option<String>),
    Raw(bytes::Bytes),
}

/// Writes a file at a path of a `github-repo` profile's repository;
/// `expected_sha` makes it an update of exactly that version.
#[derive(Clone, Debug)]
pub struct RepositoryUpsertRequest {
    pub path: Option<String>,
    pub content: FileContent,
    pub commit_message: Option<String>,
    pub expected_sha: Option<String>,
}

/// What a repository write did.
#[derive(Clone, Debug)]
pub struct RepositoryUpsert {
    pub profile_id: String,
    pub path: String,
    pub created: bool,
    pub size: u64,
    pub sha: String,
    pub visibility_policy: String,
    pub uses_controlled_read: bool,
    pub public_url: Option<String>,
}
