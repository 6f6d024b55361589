//! Resumable uploads: a file sent in pieces over several requests (gRPC
//! `UploadService`, tus), possibly to several instances, that becomes an
//! asset once every byte is in.

use chrono::{DateTime, Utc};

use super::UploadMetadata;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadState {
    /// Taking bytes.
    Open,
    /// Every byte is in and one request is turning them into an asset.
    Completing,
    /// The asset exists (`asset_id`); kept until it expires so that a client
    /// that lost the answer can still learn the asset id.
    Completed,
}

impl UploadState {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Open => "open",
            UploadState::Completing => "completing",
            UploadState::Completed => "completed",
        }
    }

    pub fn parse(value: &str) -> Option<UploadState> {
        match value {
            "open" => Some(UploadState::Open),
            "completing" => Some(UploadState::Completing),
            "completed" => Some(UploadState::Completed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Upload {
    pub id: String,
    /// The principal that created it ([`super::Principal::owner_key`]).
    pub owner: String,
    /// The whole file, declared at creation.
    pub size: u64,
    /// How many bytes are in: where the next chunk starts.
    pub offset: u64,
    pub metadata: UploadMetadata,
    /// Lowercase hex, checked at completion when given.
    pub expected_sha256: Option<String>,
    /// The profile whose store holds the staged parts.
    pub staging_profile_id: String,
    /// Sniffed once the first bytes are in.
    pub content_type: Option<String>,
    pub state: UploadState,
    pub asset_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A staged run of bytes: `size` bytes of the file from `offset`, stored
/// under `storage_key` in the upload's staging store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadChunk {
    pub offset: u64,
    pub size: u64,
    pub storage_key: String,
}

/// What a client gives to start an upload.
#[derive(Clone, Debug, Default)]
pub struct NewUpload {
    pub size: Option<u64>,
    pub metadata: UploadMetadata,
    pub expected_sha256: Option<String>,
}
