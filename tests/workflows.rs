//! Workflows as NekoHub's contract has them: CRUD with its codes, one
//! auto-run workflow, graphs kept byte for byte and checked when saved,
//! runs queued as durable jobs (one execution per skill, trigger `manual`),
//! and the auto-run workflow replacing the built-in enrichment on upload.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tonic::Code;

use crate::common::{Backend, TestServer, reason};
use crate::on_both_databases;

on_both_databases!(
    workflows_are_saved_as_nekohub_saves_them,
    workflows_run_on_assets_in_the_background,
    a_queued_run_survives_a_restart,
    workflows_through_grpc
);

const WORKFLOWS: &str = "/api/v1/system/workflows";

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create(server: &TestServer, body: Value) -> Value {
    let (status, created) = send(server.post(WORKFLOWS).json(&body)).await;
    assert_eq!(status, 201, "{created}");
    created["data"].clone()
}

fn graph(nodes: Value) -> String {
    json!({ "nodes": nodes, "edges": [], "viewport": { "x": 0, "y": 0, "zoom": 1 } }).to_string()
}

/// The executions of an asset as stored: (skill, trigger, parameters).
async fn executions(server: &TestServer, asset_id: &str) -> Vec<(String, String, Value)> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.database_url).await.unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT skill_name, trigger_source, parameters_json FROM skill_executions \
         WHERE asset_id = $1 ORDER BY started_at, id",
    )
    .bind(asset_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter()
        .map(|(skill, trigger, parameters)| {
            (skill, trigger, serde_json::from_str(&parameters).unwrap())
        })
        .collect()
}

/// Waits until the asset has `count` executions with `trigger`.
async fn wait_for_runs(
    server: &TestServer,
    asset_id: &str,
    trigger: &str,
    count: usize,
) -> Vec<(String, String, Value)> {
    let start = Instant::now();
    loop {
        let runs: Vec<_> = executions(server, asset_id)
            .await
            .into_iter()
            .filter(|(_, t, _)| t == trigger)
            .collect();
        if runs.len() >= count {
            return runs;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{runs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn workflows_are_saved_as_nekohub_saves_them(backend: Backend) {
    let server = TestServer::start(backend).await;
    // Odd spacing and key order stay as they were sent.
    let graph_json = r#"{"nodes":[{"id":"n1","type":"thumbnail","position":{"x":1,"y":2}},  {"id":"n2","data":{"skillId":"ai-caption","label":"Caption"}}],"edges":[{"source":"n1","target":"n2"}]}"#;
    let (status, response) = send(server.post(WORKFLOWS).json(&json!({
        "name": "Thumbnail then caption", "description": "two steps", "isAutoRun": false, "graphJson": format!("  {graph_json}\n")
    })))
    .await;
    assert_eq!(status, 201, "{response}");
    let first = response["data"].clone();
    let id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["name"], "Thumbnail then caption");
    assert_eq!(first["description"], "two steps");
    assert_eq!(first["isAutoRun"], false);
    assert_eq!(first["graphJson"], graph_json, "byte for byte, trimmed");
    let (_, listed) = server.get_json(WORKFLOWS).await;
    let matching: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["id"] == id.as_str())
        .collect();
    assert_eq!(matching, [&first]);
    let (status, got) = server.get_json(&format!("{WORKFLOWS}/{id}")).await;
    assert_eq!((status, &got["data"]), (200, &first));

    // PUT replaces everything; absent isAutoRun is false, blank description null.
    let replaced_graph = graph(json!([{ "type": "exif-strip" }]));
    let (status, replaced) = send(server.put(&format!("{WORKFLOWS}/{id}")).json(&json!({
        "name": "Strip", "description": "  ", "graphJson": replaced_graph
    })))
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["data"]["id"], id.as_str());
    assert_eq!(replaced["data"]["name"], "Strip");
    assert!(replaced["data"]["description"].is_null());
    assert_eq!(replaced["data"]["graphJson"], replaced_graph);
    let (_, got) = server.get_json(&format!("{WORKFLOWS}/{id}")).await;
    assert_eq!(got["data"], replaced["data"]);

    // Names are unique in any case, on create and on replace.
    let other = create(
        &server,
        json!({ "name": "Other", "graphJson": graph(json!([])) }),
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    let (status, conflict) = send(
        server
            .post(WORKFLOWS)
            .json(&json!({ "name": "STRIP", "graphJson": "{}" })),
    )
    .await;
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (400, Some("workflow_profile_name_conflict"))
    );
    assert!(
        conflict["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let (status, conflict) = send(
        server
            .put(&format!("{WORKFLOWS}/{other_id}"))
            .json(&json!({ "name": "strip", "graphJson": "{}" })),
    )
    .await;
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (400, Some("workflow_profile_name_conflict"))
    );
    let (_, unchanged) = server.get_json(&format!("{WORKFLOWS}/{other_id}")).await;
    assert_eq!(unchanged["data"], other);

    // Refused saves change nothing.
    for (body, code) in [
        (
            json!({ "name": "Bad", "graphJson": "{\"nodes\": [" }),
            "workflow_profile_graph_json_invalid",
        ),
        (
            json!({ "name": "Bad", "graphJson": "[]", "isAutoRun": true }),
            "workflow_profile_graph_json_invalid",
        ),
        (
            json!({ "name": "Bad" }),
            "workflow_profile_graph_json_required",
        ),
        (
            json!({ "name": " ", "graphJson": "{}" }),
            "workflow_profile_name_required",
        ),
        (
            json!({ "name": "x".repeat(101), "graphJson": "{}" }),
            "workflow_profile_name_too_long",
        ),
        (
            json!({ "name": "Bad", "description": "d".repeat(1001), "graphJson": "{}" }),
            "workflow_profile_description_too_long",
        ),
        (
            json!({ "name": "Bad", "graphJson": graph(json!([{ "type": "thumbnail" }, { "type": "upscale" }])) }),
            "workflow_profile_contains_unsupported_skills",
        ),
        (
            json!({ "name": "Bad", "graphJson": graph(json!([{ "type": "thumbnail", "data": { "parameters": { "size": "huge" } } }])) }),
            "skill_parameters_invalid",
        ),
        (
            json!({ "name": "Bad", "graphJson": { "nodes": [] } }),
            "request_invalid",
        ),
    ] {
        let (status, error) =
            send(server.put(&format!("{WORKFLOWS}/{other_id}")).json(&body)).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
        if code == "workflow_profile_graph_json_invalid" {
            assert_eq!(
                error["error"]["message"],
                "GraphJson must be a valid JSON object."
            );
        }
        if code == "workflow_profile_contains_unsupported_skills" {
            assert!(
                error["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("upscale")
            );
        }
    }
    let (_, unchanged) = server.get_json(&format!("{WORKFLOWS}/{other_id}")).await;
    assert_eq!(
        unchanged["data"], other,
        "a refused replace changes nothing"
    );

    // One auto-run workflow at a time.
    let auto = create(&server, json!({ "name": "Auto", "isAutoRun": true, "graphJson": graph(json!([{ "type": "thumbnail" }])) })).await;
    assert_eq!(auto["isAutoRun"], true);
    let (status, switched) = send(server.patch(&format!("{WORKFLOWS}/{other_id}/autorun"))).await;
    assert_eq!(
        (status, switched["data"]["isAutoRun"].as_bool()),
        (200, Some(true))
    );
    let (_, listed) = server.get_json(WORKFLOWS).await;
    let listed = listed["data"].as_array().unwrap();
    let auto_runs: Vec<&str> = listed
        .iter()
        .filter(|w| w["isAutoRun"] == true)
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(auto_runs, [other_id], "the auto-run one first, alone");
    assert_eq!(listed[0]["id"], other_id);
    let names: Vec<&str> = listed[1..]
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Auto", "Strip"]);
    // Two switches at once still leave exactly one.
    let ids = [auto["id"].as_str().unwrap(), id.as_str()];
    let (a, b) = tokio::join!(
        send(server.patch(&format!("{WORKFLOWS}/{}/autorun", ids[0]))),
        send(server.patch(&format!("{WORKFLOWS}/{}/autorun", ids[1])))
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let (_, listed) = server.get_json(WORKFLOWS).await;
    let auto_runs = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["isAutoRun"] == true)
        .count();
    assert_eq!(auto_runs, 1, "{listed}");
    let current = listed["data"][0].clone();
    let current_id = current["id"].as_str().unwrap();
    let (status, cleared) = send(
        server
            .put(&format!("{WORKFLOWS}/{current_id}"))
            .json(&json!({
                "name": current["name"], "graphJson": current["graphJson"]
            })),
    )
    .await;
    assert_eq!(
        (status, cleared["data"]["isAutoRun"].as_bool()),
        (200, Some(false))
    );
    let (_, listed) = server.get_json(WORKFLOWS).await;
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["isAutoRun"] == false)
    );

    // Delete answers 204; then it is gone.
    let response = server
        .delete(&format!("{WORKFLOWS}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, gone) = server.get_json(&format!("{WORKFLOWS}/{id}")).await;
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (404, Some("workflow_profile_not_found"))
    );
    let response = server
        .delete(&format!("{WORKFLOWS}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // settings.read may look, not change.
    let (_, key) = send(
        server
            .post("/api/v1/apikeys")
            .json(&json!({ "name": "reader", "scopes": ["settings.read"] })),
    )
    .await;
    let reader = key["data"]["key"].as_str().unwrap();
    let response = server
        .http
        .get(server.url(WORKFLOWS))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = server
        .http
        .post(server.url(WORKFLOWS))
        .bearer_auth(reader)
        .json(&json!({ "name": "Mine", "graphJson": "{}" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

async fn workflows_run_on_assets_in_the_background(backend: Backend) {
    let server = TestServer::start(backend).await;
    let asset = server
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    let asset_id = asset["id"].as_str().unwrap().to_string();
    assert!(
        executions(&server, &asset_id).await.is_empty(),
        "runEnrichment=false runs nothing"
    );
    let workflow = create(&server, json!({ "name": "Small PNG", "graphJson": graph(json!([
        { "id": "n1", "type": "thumbnail", "data": { "parameters": { "Size": "128", "format": "png" } } },
        { "id": "n2", "type": "visual-node", "data": { "skillId": "format-convert", "targetFormat": "png", "label": "To PNG" } }
    ])) }))
    .await;
    let workflow_id = workflow["id"].as_str().unwrap();
    let run = |asset: &str, workflow: &str| {
        server.post(&format!("/api/v1/assets/{asset}/workflows/{workflow}/run"))
    };

    let response = run(&asset_id, workflow_id).send().await.unwrap();
    assert_eq!(
        response.headers()["location"],
        format!("/api/v1/assets/{asset_id}").as_str(),
        "where the run's progress shows"
    );
    let status = response.status().as_u16();
    let queued: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{queued}");
    assert_eq!(
        queued["data"],
        json!({ "assetId": asset_id, "workflowId": workflow_id, "skillIds": ["thumbnail", "format-convert"] })
    );
    let runs = wait_for_runs(&server, &asset_id, "manual", 2).await;
    let names: Vec<&str> = runs.iter().map(|(skill, _, _)| skill.as_str()).collect();
    assert_eq!(
        names,
        ["thumbnail", "format-convert"],
        "one execution per skill, in node order"
    );
    assert_eq!(
        runs[0].2,
        json!({ "Size": "128", "format": "png" }),
        "the node's parameters as given (NekoHub's editor writes numbers as text)"
    );
    assert_eq!(
        runs[1].2,
        json!({ "targetFormat": "png", "label": "To PNG" })
    );
    let (_, detail) = server.get_json(&format!("/api/v1/assets/{asset_id}")).await;
    let detail = &detail["data"];
    assert_eq!(detail["contentType"], "image/png", "{detail}");
    assert_eq!(
        detail["latestExecutionSummary"]["skillName"],
        "format-convert"
    );
    assert_eq!(detail["latestExecutionSummary"]["triggerSource"], "manual");
    assert!(
        detail["derivatives"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["width"].as_u64().unwrap() <= 128),
        "{detail}"
    );

    // Checked in NekoHub's order: the asset, the workflow, its skills.
    let empty = create(
        &server,
        json!({ "name": "Empty", "graphJson": graph(json!([{ "id": "label-only" }])) }),
    )
    .await;
    let missing = uuid::Uuid::now_v7().to_string();
    for (asset, workflow, status, code) in [
        (missing.as_str(), "nope", 404, "asset_not_found"),
        (
            asset_id.as_str(),
            missing.as_str(),
            404,
            "workflow_profile_not_found",
        ),
        (
            asset_id.as_str(),
            empty["id"].as_str().unwrap(),
            400,
            "workflow_profile_has_no_skills",
        ),
    ] {
        let (got, error) = send(run(asset, workflow)).await;
        assert_eq!((got, error["error"]["code"].as_str()), (status, Some(code)));
    }

    // The auto-run workflow replaces the built-in enrichment on upload.
    let (status, _) = send(server.patch(&format!("{WORKFLOWS}/{workflow_id}/autorun"))).await;
    assert_eq!(status, 200);
    let uploaded = server.upload_ok("normal/rocket_falcon9.jpg", &[]).await;
    let uploaded_id = uploaded["id"].as_str().unwrap();
    let (_, settled) = server.wait_settled(uploaded_id).await;
    assert_eq!(settled["status"], "ready", "{settled}");
    let runs = executions(&server, uploaded_id).await;
    let names: Vec<(&str, &str)> = runs
        .iter()
        .map(|(s, t, _)| (s.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        names,
        [("thumbnail", "upload"), ("format-convert", "upload")]
    );
    assert_eq!(settled["contentType"], "image/png");
    assert!(
        settled["width"].as_u64().is_some(),
        "dimensions are recorded: {settled}"
    );
    let quiet = server
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    assert!(
        executions(&server, quiet["id"].as_str().unwrap())
            .await
            .is_empty()
    );

    // Usage stats name skills as NekoHub does.
    let (_, stats) = server.get_json("/api/v1/assets/usage-stats").await;
    assert_eq!(
        stats["data"]["mostActiveSkill"],
        json!({ "skillName": "format-convert", "runCount": 2 })
    );
}

/// A run queued on an instance without workers is done by another one
/// (or by this one after a restart): the job is in the database.
async fn a_queued_run_survives_a_restart(backend: Backend) {
    let serving_only = TestServer::start_with(backend, |config| config.workers = 0).await;
    let asset = serving_only
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    let asset_id = asset["id"].as_str().unwrap();
    let workflow = create(&serving_only, json!({ "name": "Strip", "graphJson": graph(json!([{ "type": "exif-strip" }, { "type": "thumbnail" }])) })).await;
    let (status, _) = send(serving_only.post(&format!(
        "/api/v1/assets/{asset_id}/workflows/{}/run",
        workflow["id"].as_str().unwrap()
    )))
    .await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        executions(&serving_only, asset_id).await.is_empty(),
        "nobody works here"
    );
    let worker = TestServer::start_beside(&serving_only, |_| {}).await;
    let runs = wait_for_runs(&worker, asset_id, "manual", 2).await;
    let names: Vec<&str> = runs.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(names, ["exif-strip", "thumbnail"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        executions(&worker, asset_id).await.len(),
        2,
        "each skill once"
    );
}

async fn workflows_through_grpc(backend: Backend) {
    use tessera::api::grpc::proto::{
        CreateWorkflowRequest, DeleteWorkflowRequest, GetWorkflowRequest, ListWorkflowsRequest,
        ReplaceWorkflowRequest, RunWorkflowRequest, SetAutoRunWorkflowRequest,
    };

    let server = TestServer::start(backend).await;
    let mut workflows = server.workflows_grpc().await;
    let graph_json = graph(json!([{ "type": "thumbnail" }]));
    let created = workflows
        .create_workflow(CreateWorkflowRequest {
            name: "gRPC".into(),
            description: Some("made over gRPC".into()),
            is_auto_run: false,
            graph_json: graph_json.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .workflow
        .unwrap();
    assert_eq!(created.graph_json, graph_json);
    let (_, rest) = server
        .get_json(&format!("{WORKFLOWS}/{}", created.id))
        .await;
    assert_eq!(
        rest["data"]["name"], "gRPC",
        "the same workflow through REST"
    );
    let err = workflows
        .create_workflow(CreateWorkflowRequest {
            name: "grpc".into(),
            graph_json: "{}".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::AlreadyExists, "workflow_profile_name_conflict")
    );
    let err = workflows
        .replace_workflow(ReplaceWorkflowRequest {
            id: created.id.clone(),
            name: "gRPC".into(),
            graph_json: "not json".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "workflow_profile_graph_json_invalid")
    );
    let auto = workflows
        .set_auto_run_workflow(SetAutoRunWorkflowRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .workflow
        .unwrap();
    assert!(auto.is_auto_run);
    let listed = workflows
        .list_workflows(ListWorkflowsRequest {})
        .await
        .unwrap()
        .into_inner()
        .workflows;
    assert_eq!(listed, std::slice::from_ref(&auto));

    let asset = server
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    let asset_id = asset["id"].as_str().unwrap().to_string();
    let run = workflows
        .run_workflow(RunWorkflowRequest {
            asset_id: asset_id.clone(),
            workflow_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(run.skill_ids, ["thumbnail"]);
    let runs = wait_for_runs(&server, &asset_id, "manual", 1).await;
    assert_eq!(runs[0].0, "thumbnail");
    let err = workflows
        .run_workflow(RunWorkflowRequest {
            asset_id: uuid::Uuid::now_v7().to_string(),
            workflow_id: created.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "asset_not_found")
    );

    workflows
        .delete_workflow(DeleteWorkflowRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap();
    let err = workflows
        .get_workflow(GetWorkflowRequest { id: created.id })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "workflow_profile_not_found")
    );
}
