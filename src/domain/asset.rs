use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Error;

/// Longest `description` / `altText`, in characters (also the cap on what an
/// AI step writes into them).
pub const MAX_TEXT_LEN: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetStatus {
    Pending,
    Processing,
    Ready,
    Failed,
}

impl AssetStatus {
    pub const ALL: [AssetStatus; 4] = [
        AssetStatus::Pending,
        AssetStatus::Processing,
        AssetStatus::Ready,
        AssetStatus::Failed,
    ];

    /// `ready` and `failed` are final: processing is over.
    pub fn is_settled(self) -> bool {
        matches!(self, AssetStatus::Ready | AssetStatus::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssetStatus::Pending => "pending",
            AssetStatus::Processing => "processing",
            AssetStatus::Ready => "ready",
            AssetStatus::Failed => "failed",
        }
    }
}

impl FromStr for AssetStatus {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(AssetStatus::Pending),
            "processing" => Ok(AssetStatus::Processing),
            "ready" => Ok(AssetStatus::Ready),
            "failed" => Ok(AssetStatus::Failed),
            _ => Err(Error::InvalidStatus(value.to_string())),
        }
    }
}

/// The `status` filter of a list. `deleted` is NekoHub's status of deleted
/// assets, which its clients may ask for; tessera deletes for real, so it
/// matches nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    Is(AssetStatus),
    Deleted,
}

impl FromStr for StatusFilter {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        if value.trim().eq_ignore_ascii_case("deleted") {
            return Ok(StatusFilter::Deleted);
        }
        value.parse().map(StatusFilter::Is)
    }
}

/// A stored image and what tessera knows about it.
#[derive(Clone, Debug)]
pub struct Asset {
    pub id: Uuid,
    /// `type` in SQL, JSON and proto: always `image` today; kept so other
    /// media can join without a contract change.
    pub asset_type: String,
    pub status: AssetStatus,
    /// The name the client gave; `None` once a client cleared it.
    pub original_file_name: Option<String>,
    pub stored_file_name: String,
    pub extension: String,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub checksum_sha256: String,
    pub storage_provider: super::ProviderType,
    pub storage_profile_id: String,
    pub storage_key: String,
    pub is_public: bool,
    pub description: Option<String>,
    pub alt_text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Filled by the service from the storage backend, only while the asset is public.
    pub public_url: Option<String>,
}

/// A file produced from an asset (thumbnail, converted copy).
#[derive(Clone, Debug)]
pub struct Derivative {
    pub kind: String,
    pub content_type: String,
    pub extension: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
    pub public_url: Option<String>,
}

/// JSON produced by a skill step (caption, analysis).
#[derive(Clone, Debug)]
pub struct StructuredResult {
    pub kind: String,
    pub payload_json: String,
    pub created_at: DateTime<Utc>,
}

/// An asset with everything attached to it, as `GET /assets/{id}` shows it.
#[derive(Clone, Debug)]
pub struct AssetDetails {
    pub asset: Asset,
    pub derivatives: Vec<Derivative>,
    pub structured_results: Vec<StructuredResult>,
    pub latest_execution: Option<super::SkillExecution>,
}

/// Client-supplied metadata of an upload, from the multipart fields or the
/// first gRPC message.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadMetadata {
    pub file_name: Option<String>,
    pub description: Option<String>,
    pub alt_text: Option<String>,
    pub is_public: Option<bool>,
    pub storage_profile_id: Option<String>,
    pub run_enrichment: Option<bool>,
    pub commit_message: Option<String>,
}

impl UploadMetadata {
    /// Adds fields that arrived later; a field sent again replaces the earlier value.
    pub fn merge(&mut self, later: UploadMetadata) {
        fn take<T>(field: &mut Option<T>, later: Option<T>) {
            if later.is_some() {
                *field = later;
            }
        }
        take(&mut self.file_name, later.file_name);
        take(&mut self.description, later.description);
        take(&mut self.alt_text, later.alt_text);
        take(&mut self.is_public, later.is_public);
        take(&mut self.storage_profile_id, later.storage_profile_id);
        take(&mut self.run_enrichment, later.run_enrichment);
        take(&mut self.commit_message, later.commit_message);
    }
}

/// One piece of an upload in the order the client sent it. Metadata may come
/// in several pieces, before or after the file (multipart fields arrive in
/// the client's order); what comes before the file steers where it is stored.
#[derive(Debug)]
pub enum UploadPart {
    Metadata(UploadMetadata),
    /// Bytes of the file. The first chunk, even an empty one, begins the file;
    /// the file is sent in one run of chunks.
    Chunk(bytes::Bytes),
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct AssetPatch {
    pub description: Option<Option<String>>,
    pub alt_text: Option<Option<String>>,
    pub original_file_name: Option<Option<String>>,
    pub is_public: Option<bool>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AssetOrderBy {
    #[default]
    CreatedAt,
    Size,
}

impl FromStr for AssetOrderBy {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "createdatutc" | "createdat" | "created_at" => Ok(AssetOrderBy::CreatedAt),
            "size" => Ok(AssetOrderBy::Size),
            _ => Err(Error::InvalidOrderBy(value.to_string())),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderDirection {
    #[default]
    Desc,
    Asc,
}

impl FromStr for OrderDirection {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "desc" => Ok(OrderDirection::Desc),
            "asc" => Ok(OrderDirection::Asc),
            _ => Err(Error::InvalidOrderDirection(value.to_string())),
        }
    }
}

/// `image/png` matches exactly; `image/*` matches the family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentTypeFilter {
    Exact(String),
    Family(String),
}

impl FromStr for ContentTypeFilter {
    type Err = Error;
    fn from_str(value: &str) -> Result<Self, Error> {
        let normalized = value.trim().to_ascii_lowercase();
        let token_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match normalized.split_once('/') {
            Some((family, "*")) if token_ok(family) => Ok(ContentTypeFilter::Family(family.into())),
            Some((family, sub)) if token_ok(family) && token_ok(sub) => {
                Ok(ContentTypeFilter::Exact(normalized))
            }
            _ => Err(Error::InvalidContentType(value.to_string())),
        }
    }
}

/// Listing parameters as the client sent them; the service validates and clamps.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub query: Option<String>,
    pub content_type: Option<ContentTypeFilter>,
    pub status: Option<StatusFilter>,
    pub order_by: AssetOrderBy,
    pub direction: OrderDirection,
}

/// Validated listing parameters, as the repository takes them.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// Only public assets (the anonymous gallery).
    pub public_only: bool,
    pub page: u32,
    pub page_size: u32,
    pub query: Option<String>,
    pub content_type: Option<ContentTypeFilter>,
    pub status: Option<AssetStatus>,
    pub order_by: AssetOrderBy,
    pub direction: OrderDirection,
}

/// What a delete reports back.
#[derive(Clone, Debug)]
pub struct DeletedAsset {
    pub id: Uuid,
    pub status: AssetStatus,
    pub deleted_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct BatchDeleteOutcome {
    pub requested_count: u32,
    pub deleted_count: u32,
    pub not_found_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentTypeUsage {
    pub content_type: String,
    pub count: u64,
    pub total_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillUsage {
    pub skill_name: String,
    pub run_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageStats {
    pub total_assets: u64,
    pub total_bytes: u64,
    pub total_derivatives: u64,
    pub content_type_breakdown: Vec<ContentTypeUsage>,
    pub most_active_skill: Option<SkillUsage>,
}

/// Parses a client-supplied asset id.
pub fn parse_asset_id(value: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(value.trim()).map_err(|_| Error::AssetIdInvalid(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_filters_parse_family_and_exact() {
        assert_eq!(
            "image/*".parse::<ContentTypeFilter>().ok(),
            Some(ContentTypeFilter::Family("image".into()))
        );
        assert_eq!(
            "IMAGE/PNG".parse::<ContentTypeFilter>().ok(),
            Some(ContentTypeFilter::Exact("image/png".into()))
        );
        for bad in ["", "image", "/png", "image/", "im age/png", "*/*"] {
            assert!(bad.parse::<ContentTypeFilter>().is_err(), "{bad}");
        }
    }
}
