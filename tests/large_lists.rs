//! Totals of large lists: exact up to `EXACT_TOTAL_LIMIT` matches; past it,
//! PostgreSQL answers its planner's estimate and says so, SQLite still
//! counts. The same through REST and gRPC, for the owner's and the public list.

use tessera::{
    api::grpc::proto::{
        self, ListAssetsRequest, ListPublicAssetsRequest,
        public_asset_service_client::PublicAssetServiceClient,
    },
    domain::EXACT_TOTAL_LIMIT,
};

use crate::common::{Backend, TestServer, seed::seed_assets};
use crate::on_both_databases;

on_both_databases!(a_total_past_the_limit_is_flagged_as_estimated);

/// 12 500 seeded assets: 10 000 `ready` (exactly the limit), 2 500 `failed`.
const SEEDED: u64 = 12_500;

async fn a_total_past_the_limit_is_flagged_as_estimated(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres(_));
    let server = TestServer::start(backend).await;
    seed_assets(&server.database_url, SEEDED).await;
    assert_eq!(
        EXACT_TOTAL_LIMIT, 10_000,
        "the seeded counts straddle the limit"
    );

    // (REST filter, gRPC status, exact count)
    let cases = [
        ("", proto::AssetStatus::Unspecified, SEEDED),
        ("&status=ready", proto::AssetStatus::Ready, 10_000),
        ("&status=failed", proto::AssetStatus::Failed, 2_500),
    ];
    let mut grpc = server.grpc().await;
    for (filter, status, exact) in cases {
        let (code, body) = server
            .get_json(&format!("/api/v1/assets?pageSize=5{filter}"))
            .await;
        assert_eq!(code, 200, "{body}");
        let page = &body["data"];
        assert_eq!(page["items"].as_array().map(Vec::len), Some(5));
        let total = page["total"].as_u64().expect("total");
        let estimated = page["totalEstimated"].as_bool().expect("totalEstimated");
        if postgres && exact > EXACT_TOTAL_LIMIT {
            assert!(estimated, "{filter}: {page}");
            // Past the limit, and near the truth (the statistics are fresh).
            assert!(total > EXACT_TOTAL_LIMIT, "{filter}: {total}");
            assert!(
                total.abs_diff(exact) <= exact / 5,
                "{filter}: estimate {total} is far from {exact}"
            );
        } else {
            assert_eq!((total, estimated), (exact, false), "{filter}");
        }

        let list = grpc
            .list_assets(ListAssetsRequest {
                page_size: 5,
                status: status.into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(
            (list.total, list.total_estimated, list.items.len()),
            (i64::try_from(total).expect("total"), estimated, 5),
            "gRPC answers as REST does for {filter}"
        );
    }

    // A text search is always counted: the planner cannot estimate `LIKE '%...%'`.
    let (code, body) = server
        .get_json("/api/v1/assets?pageSize=5&query=photo")
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (&body["data"]["total"], &body["data"]["totalEstimated"]),
        (&serde_json::json!(SEEDED), &serde_json::json!(false)),
        "a search over every seeded asset"
    );
    // A filtered list past the limit: every seeded asset is an image.
    let (code, body) = server
        .get_json("/api/v1/assets?pageSize=5&contentType=image/*")
        .await;
    assert_eq!(code, 200, "{body}");
    let total = body["data"]["total"].as_u64().expect("total");
    assert_eq!(body["data"]["totalEstimated"], postgres, "{body}");
    assert!(
        total > EXACT_TOTAL_LIMIT && total.abs_diff(SEEDED) <= SEEDED / 5,
        "{total}"
    );

    // The public list holds the 10 000 `ready` ones (all public): exactly
    // at the limit, so counted, through both doors.
    let (code, body) = server.get_json("/api/v1/public/assets?pageSize=5").await;
    assert_eq!(code, 200, "{body}");
    let public = &body["data"];
    assert_eq!(
        (&public["total"], &public["totalEstimated"]),
        (&serde_json::json!(10_000), &serde_json::json!(false)),
        "{public}"
    );
    let (anonymous, _) = server.grpc_parts(None).await;
    let mut gallery = PublicAssetServiceClient::new(anonymous);
    let list = gallery
        .list_public_assets(ListPublicAssetsRequest {
            page_size: 5,
            ..Default::default()
        })
        .await
        .expect("public list")
        .into_inner();
    assert_eq!((list.total, list.total_estimated), (10_000, false));
}
