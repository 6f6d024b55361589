//! Many writes at once: no client ever sees a lock error. On SQLite a
//! transaction that reads before it writes used to fail with "database is
//! locked" (a 500) when another connection was writing.

use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tessera::api::grpc::proto::{DeleteAssetRequest, RunSkillRequest};

use crate::common::{Backend, TestServer, read_fixture};
use crate::on_both_databases;

on_both_databases!(parallel_writes_never_fail_with_a_lock);

const ASSETS: usize = 60;

async fn parallel_writes_never_fail_with_a_lock(backend: Backend) {
    let server = TestServer::start(backend).await;
    let photo = read_fixture("normal/flower_canon_s40.jpg");
    // Uploads at once.
    let ids: Vec<String> = stream::iter(0..ASSETS)
        .map(|i| {
            let (server, photo) = (&server, photo.clone());
            async move {
                let (status, body) = server
                    .upload(
                        &format!("flower-{i}.jpg"),
                        photo,
                        &[("runEnrichment", "false")],
                    )
                    .await;
                assert_eq!(status, 202, "{body}");
                body["data"]["id"].as_str().unwrap().to_string()
            }
        })
        .buffer_unordered(ASSETS)
        .collect()
        .await;

    // Skill runs (each records an execution and rewrites rows) and patches at once.
    let statuses: Vec<(u16, Value)> = stream::iter(ids.iter().take(20))
        .flat_map(|id| {
            stream::iter([
                (format!("/api/v1/assets/{id}/skills/thumbnail/run"), None),
                (
                    format!("/api/v1/assets/{id}"),
                    Some(json!({ "description": "patched at once" })),
                ),
            ])
        })
        .map(|(path, patch)| {
            let server = &server;
            async move {
                let request = match patch {
                    Some(body) => server.patch(&path).json(&body),
                    None => server.post(&path),
                };
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
        })
        .buffer_unordered(40)
        .collect()
        .await;
    for (status, body) in &statuses {
        assert_eq!(*status, 200, "{body}");
    }
    let runs = stream::iter(ids.iter().skip(20).take(10))
        .map(|id| {
            let server = &server;
            async move {
                server
                    .grpc()
                    .await
                    .run_skill(RunSkillRequest {
                        id: id.clone(),
                        skill_name: "thumbnail".into(),
                        parameters: None,
                    })
                    .await
            }
        })
        .buffer_unordered(10)
        .collect::<Vec<_>>()
        .await;
    for run in runs {
        assert!(run.expect("gRPC skill run").into_inner().succeeded);
    }

    // Deletes at once: single ones over REST and gRPC, and batches.
    let (batch, single) = ids.split_at(20);
    let (rest, grpc) = single.split_at(single.len() / 2);
    let rest_deletes = stream::iter(rest.iter())
        .map(|id| {
            let server = &server;
            async move {
                let response = server
                    .http
                    .delete(server.url(&format!("/api/v1/assets/{id}")))
                    .bearer_auth(crate::common::API_KEY)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
        })
        .buffer_unordered(rest.len());
    let grpc_deletes = stream::iter(grpc.iter())
        .map(|id| {
            let server = &server;
            async move {
                server
                    .grpc()
                    .await
                    .delete_asset(DeleteAssetRequest {
                        id: id.clone(),
                        commit_message: None,
                    })
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(grpc.len());
    let batch_deletes = stream::iter(batch.chunks(4))
        .map(|chunk| {
            let server = &server;
            async move {
                let response = server
                    .post("/api/v1/assets/batch-delete")
                    .json(&chunk)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body)
            }
        })
        .buffer_unordered(5);
    let (rest_results, grpc_results, batch_results) = tokio::join!(
        rest_deletes.collect::<Vec<_>>(),
        grpc_deletes.collect::<Vec<_>>(),
        batch_deletes.collect::<Vec<_>>()
    );
    for (status, body) in rest_results {
        assert_eq!(status, 200, "{body}");
    }
    for result in grpc_results {
        result.expect("gRPC delete");
    }
    for (status, body) in batch_results {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["deletedCount"], 4, "{body}");
    }
    let (_, list) = server.get_json("/api/v1/assets").await;
    assert_eq!(list["data"]["total"], 0);
    assert!(
        server.stored_files().is_empty(),
        "every file is gone: {:?}",
        server.stored_files()
    );
}
