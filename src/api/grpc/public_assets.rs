use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    assets::list_params,
    proto::{
        self, GetPublicAssetRequest, GetPublicAssetResponse, ListAssetsRequest,
        ListPublicAssetsRequest, ListPublicAssetsResponse,
        public_asset_service_server::PublicAssetService,
    },
    timestamp,
};
use crate::{domain::Asset, service::Services};

/// `tessera.v1.PublicAssetService`: anonymous, over the shared services.
pub struct PublicAssetsGrpc {
    services: Services,
}

impl PublicAssetsGrpc {
    pub fn new(services: Services) -> Self {
        PublicAssetsGrpc { services }
    }
}

fn to_proto(a: Asset) -> proto::PublicAsset {
    proto::PublicAsset {
        id: a.id.to_string(),
        r#type: a.asset_type,
        original_file_name: a.original_file_name.unwrap_or_default(),
        content_type: a.content_type,
        size: i64::try_from(a.size).unwrap_or(i64::MAX),
        width: a.width.and_then(|w| i32::try_from(w).ok()),
        height: a.height.and_then(|h| i32::try_from(h).ok()),
        public_url: a.public_url,
        description: a.description,
        alt_text: a.alt_text,
        created_at_utc: Some(timestamp(a.created_at)),
        updated_at_utc: Some(timestamp(a.updated_at)),
        derivatives: Vec::new(),
    }
}

#[tonic::async_trait]
impl PublicAssetService for PublicAssetsGrpc {
    async fn list_public_assets(
        &self,
        request: Request<ListPublicAssetsRequest>,
    ) -> Result<Response<ListPublicAssetsResponse>, Status> {
        let call = Authenticated::lenient(&request);
        let r = request.into_inner();
        let params = list_params(ListAssetsRequest {
            page: r.page,
            page_size: r.page_size,
            query: r.query,
            content_type: r.content_type,
            status: proto::AssetStatus::Unspecified.into(),
            order_by: r.order_by,
            order_direction: r.order_direction,
        })
        .map_err(|e| call.fail(e))?;
        let page = self
            .services
            .assets
            .list_public(params)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListPublicAssetsResponse {
            items: page.items.into_iter().map(to_proto).collect(),
            page: i32::try_from(page.page).unwrap_or(i32::MAX),
            page_size: i32::try_from(page.page_size).unwrap_or(i32::MAX),
            total: i64::try_from(page.total).unwrap_or(i64::MAX),
            total_estimated: page.total_estimated,
        }))
    }

    async fn get_public_asset(
        &self,
        request: Request<GetPublicAssetRequest>,
    ) -> Result<Response<GetPublicAssetResponse>, Status> {
        let call = Authenticated::lenient(&request);
        let details = self
            .services
            .assets
            .get_public(&request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        let mut asset = to_proto(details.asset);
        asset.derivatives = details
            .derivatives
            .into_iter()
            .map(|d| proto::PublicDerivative {
                kind: d.kind,
                content_type: d.content_type,
                width: d.width.and_then(|w| i32::try_from(w).ok()),
                height: d.height.and_then(|h| i32::try_from(h).ok()),
                size: i64::try_from(d.size).unwrap_or(i64::MAX),
                public_url: d.public_url,
            })
            .collect();
        Ok(Response::new(GetPublicAssetResponse { asset: Some(asset) }))
    }
}
