//! The anonymous gallery: public, ready assets only, without storage
//! internals (keys, checksums, providers), results or executions.

use axum::{extract::State, response::IntoResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    ApiError, AssetIdPath, Data,
    assets::{AssetListQuery, list_params},
    data, utc,
};
use super::{Path, Query};
use crate::{
    domain::{Asset, AssetDetails, Derivative, Page},
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PublicAssetDto {
    id: String,
    #[serde(rename = "type")]
    asset_type: String,
    original_file_name: Option<String>,
    content_type: String,
    size: u64,
    width: Option<u32>,
    height: Option<u32>,
    public_url: Option<String>,
    description: Option<String>,
    alt_text: Option<String>,
    created_at_utc: String,
    updated_at_utc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    derivatives: Option<Vec<PublicDerivativeDto>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PublicDerivativeDto {
    kind: String,
    content_type: String,
    width: Option<u32>,
    height: Option<u32>,
    size: u64,
    public_url: Option<String>,
}

impl From<Asset> for PublicAssetDto {
    fn from(a: Asset) -> Self {
        PublicAssetDto {
            id: a.id.to_string(),
            asset_type: a.asset_type,
            original_file_name: a.original_file_name,
            content_type: a.content_type,
            size: a.size,
            width: a.width,
            height: a.height,
            public_url: a.public_url,
            description: a.description,
            alt_text: a.alt_text,
            created_at_utc: utc(a.created_at),
            updated_at_utc: utc(a.updated_at),
            derivatives: None,
        }
    }
}

impl From<Derivative> for PublicDerivativeDto {
    fn from(d: Derivative) -> Self {
        PublicDerivativeDto {
            kind: d.kind,
            content_type: d.content_type,
            width: d.width,
            height: d.height,
            size: d.size,
            public_url: d.public_url,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PublicAssetPageDto {
    items: Vec<PublicAssetDto>,
    page: u32,
    page_size: u32,
    total: u64,
    /// `total` is the database's estimate: lists matching more than 10 000
    /// assets on PostgreSQL.
    total_estimated: bool,
}

#[utoipa::path(
    get,
    operation_id = "listPublicAssets",
    path = "/api/v1/public/assets",
    tag = "public",
    params(AssetListQuery),
    security(()),
    responses((status = OK, body = Data<PublicAssetPageDto>))
)]
pub async fn list(
    State(services): State<Services>,
    Query(query): Query<AssetListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let Page {
        items,
        page,
        page_size,
        total,
        total_estimated,
    } = services.assets.list_public(list_params(query)?).await?;
    Ok(data(PublicAssetPageDto {
        items: items.into_iter().map(PublicAssetDto::from).collect(),
        page,
        page_size,
        total,
        total_estimated,
    }))
}

#[utoipa::path(
    get,
    operation_id = "getPublicAsset",
    path = "/api/v1/public/assets/{id}",
    tag = "public",
    params(AssetIdPath),
    security(()),
    responses((status = OK, body = Data<PublicAssetDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Path(AssetIdPath { id }): Path<AssetIdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let AssetDetails {
        asset, derivatives, ..
    } = services.assets.get_public(&id).await?;
    let mut dto = PublicAssetDto::from(asset);
    dto.derivatives = Some(
        derivatives
            .into_iter()
            .map(PublicDerivativeDto::from)
            .collect(),
    );
    Ok(data(dto))
}
