//! The JSON shapes of assets, as docs/api.md defines them.

use serde::Serialize;
use utoipa::ToSchema;

use super::super::utc;
use crate::domain::{Asset, AssetDetails, Derivative, Page, SkillExecution, StructuredResult};

/// The fields of a list item (`GET /assets`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetSummaryDto {
    id: String,
    /// Always `image` today.
    #[serde(rename = "type")]
    asset_type: String,
    /// `pending`, `processing`, `ready` or `failed`.
    status: &'static str,
    original_file_name: Option<String>,
    content_type: String,
    size: u64,
    width: Option<u32>,
    height: Option<u32>,
    storage_provider: &'static str,
    storage_provider_profile_id: String,
    public_url: Option<String>,
    is_public: bool,
    created_at_utc: String,
    updated_at_utc: String,
}

/// The full asset (`GET /assets/{id}` and every write that returns an asset).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetDto {
    #[serde(flatten)]
    summary: AssetSummaryDto,
    stored_file_name: String,
    extension: String,
    checksum_sha256: String,
    storage_key: String,
    description: Option<String>,
    alt_text: Option<String>,
    derivatives: Vec<DerivativeDto>,
    structured_results: Vec<StructuredResultDto>,
    latest_execution_summary: Option<ExecutionSummaryDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExecutionSummaryDto {
    execution_id: String,
    skill_name: String,
    trigger_source: &'static str,
    started_at_utc: String,
    completed_at_utc: String,
    succeeded: bool,
    steps: Vec<ExecutionStepDto>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExecutionStepDto {
    step_name: String,
    succeeded: bool,
    error_message: Option<String>,
    /// The step had nothing to do (an AI step of the enrichment without an
    /// active AI provider); it counts as succeeded.
    skipped: bool,
    started_at_utc: String,
    completed_at_utc: String,
}

impl From<SkillExecution> for ExecutionSummaryDto {
    fn from(e: SkillExecution) -> Self {
        ExecutionSummaryDto {
            execution_id: e.execution_id.to_string(),
            skill_name: e.skill_name,
            trigger_source: e.trigger_source.as_str(),
            started_at_utc: utc(e.started_at),
            completed_at_utc: utc(e.completed_at),
            succeeded: e.succeeded,
            steps: e
                .steps
                .into_iter()
                .map(|s| ExecutionStepDto {
                    step_name: s.step_name,
                    succeeded: s.succeeded,
                    error_message: s.error_message,
                    skipped: s.skipped,
                    started_at_utc: utc(s.started_at),
                    completed_at_utc: utc(s.completed_at),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DerivativeDto {
    kind: String,
    content_type: String,
    extension: String,
    size: u64,
    width: Option<u32>,
    height: Option<u32>,
    public_url: Option<String>,
    created_at_utc: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StructuredResultDto {
    kind: String,
    payload_json: String,
    created_at_utc: String,
}

impl From<Asset> for AssetSummaryDto {
    fn from(asset: Asset) -> Self {
        AssetSummaryDto {
            id: asset.id.to_string(),
            asset_type: asset.asset_type,
            status: asset.status.as_str(),
            original_file_name: asset.original_file_name,
            content_type: asset.content_type,
            size: asset.size,
            width: asset.width,
            height: asset.height,
            storage_provider: asset.storage_provider.provider_name(),
            storage_provider_profile_id: asset.storage_profile_id,
            public_url: asset.public_url,
            is_public: asset.is_public,
            created_at_utc: utc(asset.created_at),
            updated_at_utc: utc(asset.updated_at),
        }
    }
}

impl From<AssetDetails> for AssetDto {
    fn from(details: AssetDetails) -> Self {
        let AssetDetails {
            asset,
            derivatives,
            structured_results,
            latest_execution,
        } = details;
        AssetDto {
            stored_file_name: asset.stored_file_name.clone(),
            extension: asset.extension.clone(),
            checksum_sha256: asset.checksum_sha256.clone(),
            storage_key: asset.storage_key.clone(),
            description: asset.description.clone(),
            alt_text: asset.alt_text.clone(),
            summary: asset.into(),
            derivatives: derivatives.into_iter().map(DerivativeDto::from).collect(),
            structured_results: structured_results
                .into_iter()
                .map(StructuredResultDto::from)
                .collect(),
            latest_execution_summary: latest_execution.map(ExecutionSummaryDto::from),
        }
    }
}

impl From<Derivative> for DerivativeDto {
    fn from(d: Derivative) -> Self {
        DerivativeDto {
            kind: d.kind,
            content_type: d.content_type,
            extension: d.extension,
            size: d.size,
            width: d.width,
            height: d.height,
            public_url: d.public_url,
            created_at_utc: utc(d.created_at),
        }
    }
}

impl From<StructuredResult> for StructuredResultDto {
    fn from(r: StructuredResult) -> Self {
        StructuredResultDto {
            kind: r.kind,
            payload_json: r.payload_json,
            created_at_utc: utc(r.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssetPageDto {
    items: Vec<AssetSummaryDto>,
    page: u32,
    page_size: u32,
    total: u64,
    /// `total` is the database's estimate: lists matching more than 10 000
    /// assets on PostgreSQL.
    total_estimated: bool,
}

impl From<Page<Asset>> for AssetPageDto {
    fn from(page: Page<Asset>) -> Self {
        AssetPageDto {
            items: page.items.into_iter().map(AssetSummaryDto::from).collect(),
            page: page.page,
            page_size: page.page_size,
            total: page.total,
            total_estimated: page.total_estimated,
        }
    }
}
