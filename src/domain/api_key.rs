use chrono::{DateTime, Utc};

use super::{Permissions, Role};

/// A stored API key as its owner sees it (prefix only, never the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Permissions,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whom a stored key acts for, as recorded when it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordedHolder {
    /// The operator's machine keys (configuration, CLI, and keys they made).
    Operator,
    /// A user, by id; what the key may do follows that user as they are now.
    User(String),
    /// Made before keys recorded their holder (see migration 0008).
    Unknown,
}

impl RecordedHolder {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            RecordedHolder::User(id) => Some(id),
            RecordedHolder::Operator | RecordedHolder::Unknown => None,
        }
    }
}

/// An API key as stored: a prefix for lookup and a hash of the whole key,
/// never the key.
#[derive(Clone, Debug)]
pub struct StoredApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Permissions,
    pub holder: RecordedHolder,
}

/// A key as listed for management: never the hash, with its holder and the
/// holding user's role now (managing a key needs outranking its holder).
#[derive(Clone, Debug)]
pub struct ApiKeyListing {
    pub info: ApiKeyInfo,
    pub holder: RecordedHolder,
    pub holder_role: Option<Role>,
}
