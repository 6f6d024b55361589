//! Decoding is bounded: at most `TESSERA_MAX_CONCURRENT_DECODES` images are
//! decoded at once, by workers and synchronous skill runs together. A run
//! waits its turn; one that cannot get a slot within
//! `TESSERA_DECODE_WAIT_SECONDS` is refused with `503 imaging_busy` and
//! `Retry-After` (gRPC `UNAVAILABLE`, same reason), never with a 500 or by
//! taking the memory of yet another large image.

use futures_util::future::join_all;
use serde_json::Value;
use tessera::api::grpc::proto::RunSkillRequest;
use tonic::Code;

use crate::common::{Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(parallel_runs_wait_for_a_slot_or_are_refused);

async fn parallel_runs_wait_for_a_slot_or_are_refused(backend: Backend) {
    // One slot and no patience: runs that overlap the first one are refused.
    let server = TestServer::start_with(backend.clone(), |config| {
        config.max_concurrent_decodes = 1;
        config.decode_wait_seconds = 0;
    })
    .await;
    let big = server
        .upload_ok("generated/big_6000x6000.png", &[("runEnrichment", "false")])
        .await;
    let id = big["id"].as_str().unwrap().to_string();
    let rest_run = || {
        let server = &server;
        let id = id.clone();
        async move {
            let response = server
                .post(&format!("/api/v1/assets/{id}/skills/thumbnail/run"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body: Value = response.json().await.unwrap();
            (status, retry_after, body)
        }
    };
    let grpc_run = || {
        let server = &server;
        let id = id.clone();
        async move {
            server
                .grpc()
                .await
                .run_skill(RunSkillRequest {
                    id,
                    skill_name: "thumbnail".into(),
                    parameters: None,
                })
                .await
        }
    };
    let (rest, grpc) = tokio::join!(
        join_all([rest_run(), rest_run()]),
        join_all([grpc_run(), grpc_run()])
    );
    let mut succeeded = 0;
    for (status, retry_after, body) in &rest {
        match status {
            200 => succeeded += 1,
            503 => {
                assert_eq!(body["error"]["code"], "imaging_busy", "{body}");
                assert_eq!(retry_after.as_deref(), Some("5"));
            }
            other => panic!("{other}: {body}"),
        }
    }
    for result in &grpc {
        match result {
            Ok(_) => succeeded += 1,
            Err(err) => assert_eq!(
                (err.code(), reason(err).as_str()),
                (Code::Unavailable, "imaging_busy")
            ),
        }
    }
    assert_eq!(succeeded, 1, "one slot, four overlapping runs: {rest:?}");

    // With time to wait, every run gets its turn.
    let patient = TestServer::start_beside(&server, |config| {
        config.max_concurrent_decodes = 1;
        config.decode_wait_seconds = 120;
    })
    .await;
    let runs = join_all((0..3).map(|_| {
        let (server, id) = (&patient, id.clone());
        async move {
            server
                .post(&format!("/api/v1/assets/{id}/skills/thumbnail/run"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }))
    .await;
    assert_eq!(runs, [200, 200, 200]);
}
