//! AI providers and the caption / alt-text steps, against a fake
//! OpenAI-compatible server.

use std::time::Duration;

use serde_json::{Value, json};
use tessera::api::grpc::proto::{
    ActivateAiProviderRequest, CreateAiProviderRequest, DeleteAiProviderRequest,
    GetActiveAiProviderRequest, ListAiProvidersRequest, TestAiProviderRequest,
    UpdateAiProviderRequest, ai_provider_service_client::AiProviderServiceClient,
};
use tonic::Code;

use crate::common::{
    API_KEY, Backend, TestServer,
    fake_ai::{FakeAi, Reply},
    reason,
};
use crate::on_both_databases;

on_both_databases!(
    profiles_are_validated_and_keys_never_leave,
    nekohub_profile_contract,
    uploads_get_captions_and_alt_text,
    failures_are_recorded_without_secrets,
    profiles_through_grpc,
    profile_seeded_from_configuration,
);

const SECRET: &str = "sk-test-TOPSECRET-0123456789";
const PROVIDERS: &str = "/api/v1/system/ai/providers";

async fn create(server: &TestServer, body: Value) -> (u16, Value) {
    let response = server.post(PROVIDERS).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn active_provider(server: &TestServer, fake: &FakeAi, extra: Value) -> String {
    let mut body = json!({
        "name": "fake",
        "apiBaseUrl": fake.base_url,
        "apiKey": SECRET,
        "modelName": "vision-test-1",
        "defaultSystemPrompt": "You are the tessera test describer.",
        "isActive": true,
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    let (status, created) = create(server, body).await;
    assert_eq!(status, 201, "{created}");
    created["data"]["id"].as_str().unwrap().to_string()
}

/// Every stored text column of every table, to prove the key is not in clear.
async fn database_text(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT name, api_base_url, api_key_ciphertext, api_key_hint FROM ai_providers",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let results: Vec<String> = sqlx::query_scalar("SELECT payload_json FROM structured_results")
        .fetch_all(&pool)
        .await
        .unwrap();
    let errors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT error_message FROM skill_execution_steps")
            .fetch_all(&pool)
            .await
            .unwrap();
    format!("{rows:?} {results:?} {errors:?}")
}

async fn profiles_are_validated_and_keys_never_leave(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeAi::start().await;
    let valid = json!({ "name": "p", "apiBaseUrl": fake.base_url, "modelName": "m" });
    for (patch, code) in [
        (
            json!({ "apiBaseUrl": "ftp://models.example" }),
            "ai_provider_profile_api_base_url_invalid",
        ),
        (
            json!({ "apiBaseUrl": "http://user:pw@models.example" }),
            "ai_provider_profile_api_base_url_invalid",
        ),
        (
            json!({ "apiBaseUrl": "not a url" }),
            "ai_provider_profile_api_base_url_invalid",
        ),
        (
            json!({ "modelName": "  " }),
            "ai_provider_profile_model_name_required",
        ),
        (json!({ "name": "" }), "ai_provider_profile_name_required"),
        (
            json!({ "apiKey": "has spaces in it" }),
            "ai_provider_profile_api_key_invalid",
        ),
        (
            json!({ "defaultSystemPrompt": "x".repeat(4001) }),
            "ai_provider_profile_prompt_too_long",
        ),
    ] {
        let mut body = valid.clone();
        body.as_object_mut()
            .unwrap()
            .extend(patch.as_object().cloned().unwrap());
        let (status, error) = create(&server, body).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (400, Some(code)),
            "{patch}"
        );
    }
    let (status, error) = create(&server, json!({ "name": "p", "modelName": "m" })).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("ai_provider_profile_api_base_url_required"))
    );

    let first = active_provider(&server, &fake, json!({})).await;
    let (status, taken) = create(
        &server,
        json!({ "name": "fake", "apiBaseUrl": fake.base_url, "modelName": "m" }),
    )
    .await;
    assert_eq!(
        (status, taken["error"]["code"].as_str()),
        (400, Some("ai_provider_profile_name_conflict"))
    );
    let (status, second) = create(&server, json!({ "name": "local", "apiBaseUrl": format!("{}/v1/", fake.base_url), "modelName": "llava" })).await;
    assert_eq!(status, 201);
    let second_id = second["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        second["data"]["apiBaseUrl"],
        format!("{}/v1", fake.base_url)
    );
    assert_eq!(second["data"]["apiKey"], Value::Null);
    assert_eq!(second["data"]["isActive"], false);

    let (_, list) = server.get_json(PROVIDERS).await;
    let listed = list.to_string();
    assert!(
        !listed.contains(SECRET) && !listed.contains("TOPSECRET"),
        "{listed}"
    );
    let fake_profile = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == first.as_str())
        .unwrap()
        .clone();
    assert_eq!(fake_profile["apiKey"], "sk-***");
    assert_eq!(fake_profile["isActive"], true);
    assert_eq!(fake_profile["modelName"], "vision-test-1");

    // Activating another leaves exactly one active.
    let response = server
        .post(&format!("{PROVIDERS}/{second_id}/activate"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, list) = server.get_json(PROVIDERS).await;
    let active: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["isActive"] == true)
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(active, vec![second_id.as_str()]);

    // Patch: absent stays, null removes the key.
    let response = server
        .patch(&format!("{PROVIDERS}/{first}"))
        .json(&json!({ "modelName": "vision-test-2", "apiKey": null }))
        .send()
        .await
        .unwrap();
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["data"]["modelName"], "vision-test-2");
    assert_eq!(patched["data"]["apiKey"], Value::Null);
    assert_eq!(
        patched["data"]["defaultSystemPrompt"],
        "You are the tessera test describer."
    );
    let response = server
        .patch(&format!("{PROVIDERS}/{first}"))
        .json(&json!({ "apiKey": SECRET }))
        .send()
        .await
        .unwrap();
    assert!(!response.text().await.unwrap().contains(SECRET));

    let stored = database_text(&server.database_url).await;
    assert!(
        !stored.contains(SECRET) && !stored.contains("TOPSECRET"),
        "the key is encrypted at rest"
    );
    assert!(stored.contains("v1:"), "ciphertext is stored");

    let missing = format!("{PROVIDERS}/{}", uuid::Uuid::now_v7());
    let (status, body) = server.get_json(&missing).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("ai_provider_profile_not_found"))
    );
    assert_eq!(
        server
            .delete(&format!("{PROVIDERS}/{second_id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        server.get_json(&format!("{PROVIDERS}/{second_id}")).await.0,
        404
    );
    // Without an active profile the steps say so.
    let asset = server
        .upload_ok("normal/rocket_falcon9.jpg", &[("runEnrichment", "false")])
        .await;
    let response = server
        .post(&format!(
            "/api/v1/assets/{}/skills/caption/run",
            asset["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let run: Value = response.json().await.unwrap();
    assert_eq!(
        run["data"]["steps"][0]["errorMessage"],
        "no active AI provider"
    );
    // Anonymous callers cannot see profiles.
    assert_eq!(
        server
            .http
            .get(server.url(PROVIDERS))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

/// NekoHub's AI provider contract (§1.8, §2.18): the active profile, tests
/// of saved and unsaved configurations, activation rules, names unique in
/// any case, the prompt in use always shown, the delete answer.
async fn nekohub_profile_contract(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeAi::start().await;
    let (status, none) = server.get_json(&format!("{PROVIDERS}/active")).await;
    assert_eq!((status, &none["data"]), (200, &Value::Null), "{none}");

    // The first profile becomes active without being asked; the prompt in
    // use is shown even when the profile has none of its own.
    let (status, first) = create(
        &server,
        json!({ "name": "Primary", "apiBaseUrl": fake.base_url, "apiKey": "key-provider-a-0123", "modelName": "m1" }),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let first = first["data"].clone();
    assert_eq!(first["isActive"], true);
    assert_eq!(first["apiKey"], "key-***");
    assert_eq!(
        first["defaultSystemPrompt"],
        tessera::ai::DEFAULT_SYSTEM_PROMPT
    );
    let (status, conflict) = create(
        &server,
        json!({ "name": "PRIMARY", "apiBaseUrl": fake.base_url, "modelName": "m" }),
    )
    .await;
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (400, Some("ai_provider_profile_name_conflict"))
    );
    let (_, second) = create(
        &server,
        json!({ "name": "secondary", "apiBaseUrl": fake.base_url, "modelName": "m2", "defaultSystemPrompt": "Answer in JSON." }),
    )
    .await;
    let second = second["data"].clone();
    assert_eq!(second["isActive"], false, "one active profile already");
    let (_, active) = server.get_json(&format!("{PROVIDERS}/active")).await;
    assert_eq!(active["data"]["id"], first["id"]);

    // PATCH isActive: true moves the active mark, false leaves none.
    let second_url = format!("{PROVIDERS}/{}", second["id"].as_str().unwrap());
    let patch = |body: Value| server.patch(&second_url).json(&body).send();
    assert_eq!(
        patch(json!({ "isActive": true })).await.unwrap().status(),
        200
    );
    let (_, list) = server.get_json(PROVIDERS).await;
    assert_eq!(list["data"][0]["id"], second["id"], "active first: {list}");
    assert_eq!(list["data"][1]["isActive"], false);
    assert_eq!(
        patch(json!({ "isActive": false })).await.unwrap().status(),
        200
    );
    let (_, none) = server.get_json(&format!("{PROVIDERS}/active")).await;
    assert_eq!(none["data"], Value::Null);

    // Test an unsaved configuration: it is called as given.
    let server = &server;
    let test = |body: Value| async move {
        let response = server
            .post(&format!("{PROVIDERS}/test"))
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let (status, tested) = test(json!({
        "apiBaseUrl": fake.base_url, "apiKey": "sk-unsaved", "modelName": "gpt-4.1-mini",
        "defaultSystemPrompt": "Return JSON only."
    }))
    .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested["data"]["succeeded"], true);
    assert_eq!(tested["data"]["caption"], "A cat resting on a blanket");
    assert_eq!(tested["data"]["resolvedModelName"], "gpt-4.1-mini");
    assert_eq!(tested["data"]["resolvedApiBaseUrl"], fake.base_url.as_str());
    assert_eq!(tested["data"]["errorMessage"], Value::Null);
    let seen = fake.seen().last().unwrap().clone();
    assert_eq!(seen.authorization.as_deref(), Some("Bearer sk-unsaved"));
    assert_eq!(seen.model(), "gpt-4.1-mini");
    assert_eq!(seen.system_prompt(), "Return JSON only.");
    for (body, code) in [
        (
            json!({ "apiBaseUrl": fake.base_url }),
            "ai_provider_profile_model_name_required",
        ),
        (
            json!({ "modelName": "m" }),
            "ai_provider_profile_api_base_url_required",
        ),
        (
            json!({ "apiBaseUrl": "ftp://x", "modelName": "m" }),
            "ai_provider_profile_api_base_url_invalid",
        ),
        (
            json!({ "profileId": uuid::Uuid::now_v7() }),
            "ai_provider_profile_not_found",
        ),
    ] {
        let (status, refused) = test(body.clone()).await;
        let expected = if code.ends_with("not_found") {
            404
        } else {
            400
        };
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
    }
    // A saved profile: its values, its decrypted key, overridden by what is given.
    let (_, tested) = test(json!({ "profileId": first["id"] })).await;
    assert_eq!(tested["data"]["resolvedModelName"], "m1");
    assert_eq!(
        fake.seen().last().unwrap().authorization.as_deref(),
        Some("Bearer key-provider-a-0123")
    );
    let (_, tested) = test(json!({ "profileId": first["id"], "modelName": "override" })).await;
    assert_eq!(tested["data"]["resolvedModelName"], "override");
    assert_eq!(fake.seen().last().unwrap().model(), "override");
    // The provider's failure is the answer, not an error.
    fake.script([Reply::Status(401)]);
    let (status, failed) = test(json!({ "profileId": first["id"] })).await;
    assert_eq!(status, 200);
    assert_eq!(failed["data"]["succeeded"], false);
    assert_eq!(failed["data"]["caption"], Value::Null);
    assert!(
        failed["data"]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("401"))
    );

    // DELETE answers as NekoHub does.
    let response = server
        .delete(&format!("{PROVIDERS}/{}", first["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["data"]["id"], first["id"]);
    assert_eq!(deleted["data"]["wasActive"], false);
    assert_eq!(deleted["data"]["status"], "deleted");
    assert!(deleted["data"]["deletedAtUtc"].is_string());

    // Created active, it takes the mark from the one that had it; /active
    // masks its key; an empty prompt goes back to the default.
    let (_, third) = create(
        server,
        json!({ "name": "third", "apiBaseUrl": fake.base_url, "apiKey": "SK-live-0123456789", "modelName": "m3", "isActive": true, "defaultSystemPrompt": "Be brief." }),
    )
    .await;
    let third = third["data"].clone();
    assert_eq!(third["isActive"], true);
    let third_url = format!("{PROVIDERS}/{}", third["id"].as_str().unwrap());
    let (status, fourth) = create(
        server,
        json!({ "name": "fourth", "apiBaseUrl": fake.base_url, "apiKey": "sk-live-9876543210", "modelName": "m4", "isActive": true }),
    )
    .await;
    assert_eq!(status, 201, "{fourth}");
    let fourth = fourth["data"].clone();
    let (_, active) = server.get_json(&format!("{PROVIDERS}/active")).await;
    assert_eq!(active["data"]["id"], fourth["id"]);
    assert_eq!(active["data"]["apiKey"], "sk-***");
    let (_, list) = server.get_json(PROVIDERS).await;
    let actives: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["isActive"] == true)
        .map(|p| &p["id"])
        .collect();
    assert_eq!(actives, [&fourth["id"]], "one active profile: {list}");
    let reset = server
        .patch(&third_url)
        .json(&json!({ "defaultSystemPrompt": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let reset: Value = reset.json().await.unwrap();
    assert_eq!(
        reset["data"]["defaultSystemPrompt"],
        tessera::ai::DEFAULT_SYSTEM_PROMPT
    );
    let deleted: Value = server
        .delete(&format!("{PROVIDERS}/{}", fourth["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["data"]["wasActive"], true);
    let (_, none) = server.get_json(&format!("{PROVIDERS}/active")).await;
    assert_eq!(
        none["data"],
        Value::Null,
        "deleting the active one leaves none"
    );
}

async fn uploads_get_captions_and_alt_text(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeAi::start().await;
    active_provider(&server, &fake, json!({})).await;

    let bare = server.upload_ok("generated/large_4032x3024.jpg", &[]).await;
    let described = server
        .upload_ok(
            "normal/chelsea_cat.png",
            &[("description", "Chelsea, our cat")],
        )
        .await;
    let (_, bare) = server.wait_settled(bare["id"].as_str().unwrap()).await;
    let (_, described) = server.wait_settled(described["id"].as_str().unwrap()).await;

    assert_eq!(bare["status"], "ready");
    assert_eq!(
        bare["latestExecutionSummary"]["succeeded"], true,
        "{}",
        bare["latestExecutionSummary"]
    );
    assert_eq!(
        bare["description"], "A cat resting on a blanket",
        "backfilled"
    );
    assert_eq!(bare["altText"], "A striped cat lying down", "backfilled");
    assert_eq!(
        described["description"], "Chelsea, our cat",
        "never overwritten"
    );
    assert_eq!(described["altText"], "A striped cat lying down");
    let result = |asset: &Value, kind: &str| -> Value {
        let r = asset["structuredResults"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == kind)
            .expect(kind);
        serde_json::from_str(r["payloadJson"].as_str().unwrap()).unwrap()
    };
    assert_eq!(
        result(&bare, "basic_caption"),
        json!({ "caption": "A cat resting on a blanket", "generator": "vision-test-1" })
    );
    assert_eq!(
        result(&bare, "alt_text"),
        json!({ "altText": "A striped cat lying down", "generator": "vision-test-1" })
    );

    let seen = fake.seen();
    assert_eq!(seen.len(), 4, "one caption and one alt text per upload");
    for request in &seen {
        assert_eq!(request.model(), "vision-test-1");
        assert_eq!(
            request.system_prompt(),
            "You are the tessera test describer."
        );
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {SECRET}").as_str())
        );
        let (header, bytes) = request.image();
        assert_eq!(header, "data:image/jpeg;base64");
        let image = image::load_from_memory(&bytes).expect("a decodable image");
        assert!(
            image.width() <= 512 && image.height() <= 512,
            "never the original"
        );
        assert!(bytes.len() < 100_000);
    }
    assert!(
        seen.iter()
            .any(|r| r.task_prompt().to_lowercase().contains("caption"))
    );
    assert!(
        seen.iter()
            .any(|r| r.task_prompt().to_lowercase().contains("alt text"))
    );

    // A configured provider that fails is a failure of its steps, never a
    // skip; the asset is still ready.
    fake.script([Reply::Status(401), Reply::Status(401)]);
    let refused = server.upload_ok("normal/coffee.png", &[]).await;
    let (_, refused) = server.wait_settled(refused["id"].as_str().unwrap()).await;
    assert_eq!(refused["status"], "ready");
    let summary = &refused["latestExecutionSummary"];
    assert_eq!(summary["succeeded"], false, "{summary}");
    for step in &summary["steps"].as_array().unwrap()[1..] {
        assert_eq!(
            (&step["succeeded"], &step["skipped"]),
            (&json!(false), &json!(false)),
            "{step}"
        );
        assert!(step["errorMessage"].as_str().is_some(), "{step}");
    }

    // A rerun with a custom prompt replaces the result; filled texts stay.
    fake.script([Reply::Text("A second opinion".into())]);
    let id = bare["id"].as_str().unwrap();
    let response = server
        .post(&format!("/api/v1/assets/{id}/skills/ai-caption/run"))
        .json(&json!({ "parameters": { "prompt": "Describe the lighting." } }))
        .send()
        .await
        .unwrap();
    let run: Value = response.json().await.unwrap();
    assert_eq!(run["data"]["succeeded"], true, "{run}");
    assert_eq!(
        result(&run["data"]["asset"], "basic_caption")["caption"],
        "A second opinion"
    );
    assert_eq!(
        run["data"]["asset"]["description"],
        "A cat resting on a blanket"
    );
    assert_eq!(
        fake.seen().last().unwrap().task_prompt(),
        "Describe the lighting."
    );
    let results = run["data"]["asset"]["structuredResults"]
        .as_array()
        .unwrap();
    assert_eq!(
        results
            .iter()
            .filter(|r| r["kind"] == "basic_caption")
            .count(),
        1
    );
}

async fn caption_step(server: &TestServer, id: &str) -> Value {
    let response = server
        .post(&format!("/api/v1/assets/{id}/skills/caption/run"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["data"]["steps"][0].clone()
}

async fn failures_are_recorded_without_secrets(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.ai_timeout_seconds = 1).await;
    let fake = FakeAi::start().await;
    let provider = active_provider(&server, &fake, json!({})).await;
    let asset = server
        .upload_ok("normal/flower_canon_s40.jpg", &[("runEnrichment", "false")])
        .await;
    let id = asset["id"].as_str().unwrap();

    for (replies, expected, requests) in [
        (
            vec![Reply::Status(401)],
            "refused the API key (HTTP 401)",
            1,
        ),
        (
            vec![Reply::Status(403)],
            "refused the API key (HTTP 403)",
            1,
        ),
        (vec![Reply::Status(404)], "unknown model 'vision-test-1'", 1),
        (
            vec![Reply::Status(400)],
            "rejected the request (HTTP 400): scripted failure",
            1,
        ),
        (
            vec![Reply::Status(500), Reply::Status(502), Reply::Status(503)],
            "failed (HTTP 503) 3 times",
            3,
        ),
        (vec![Reply::InvalidJson], "invalid JSON", 1),
        (vec![Reply::Empty], "without any text", 1),
        (
            vec![Reply::Slow(Duration::from_secs(3)); 3],
            "did not answer within 1s",
            3,
        ),
    ] {
        let before = fake.seen().len();
        fake.script(replies);
        let step = caption_step(&server, id).await;
        assert_eq!(step["succeeded"], false);
        let message = step["errorMessage"].as_str().unwrap();
        assert!(message.contains(expected), "{message} lacks {expected}");
        assert!(
            !message.contains(SECRET) && !message.contains("Bearer"),
            "{message}"
        );
        assert_eq!(fake.seen().len() - before, requests, "{expected}");
    }

    // 429 with Retry-After is waited out and then succeeds.
    fake.script([Reply::RateLimited {
        retry_after_seconds: 1,
    }]);
    let started = std::time::Instant::now();
    let step = caption_step(&server, id).await;
    assert_eq!(step["succeeded"], true, "{step}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );

    // The test endpoint reports success and the precise failure.
    let response = server
        .post(&format!("{PROVIDERS}/{provider}/test"))
        .send()
        .await
        .unwrap();
    let test: Value = response.json().await.unwrap();
    assert_eq!(test["data"]["succeeded"], true, "{test}");
    assert_eq!(test["data"]["caption"], "A cat resting on a blanket");
    assert_eq!(test["data"]["modelName"], "vision-test-1");
    let (_, bytes) = fake.seen().last().unwrap().image();
    assert!(image::load_from_memory(&bytes).is_ok(), "a real image");
    fake.script([Reply::Status(401)]);
    let test: Value = server
        .post(&format!("{PROVIDERS}/{provider}/test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(test["data"]["succeeded"], false);
    assert_eq!(
        test["data"]["errorMessage"],
        "the AI provider refused the API key (HTTP 401)"
    );

    let (_, detail) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    assert!(!detail.to_string().contains(SECRET));
    assert!(!database_text(&server.database_url).await.contains(SECRET));
}

async fn profiles_through_grpc(backend: Backend) {
    let server = TestServer::start(backend).await;
    let fake = FakeAi::start().await;
    let channel = tonic::transport::Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let token: tonic::metadata::MetadataValue<_> = format!("Bearer {API_KEY}").parse().unwrap();
    let mut client = AiProviderServiceClient::with_interceptor(
        channel,
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
            Ok(request)
        },
    );
    let err = client
        .create_ai_provider(CreateAiProviderRequest {
            name: "g".into(),
            api_base_url: "gopher://x".into(),
            model_name: "m".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "ai_provider_profile_api_base_url_invalid"
        )
    );
    let created = client
        .create_ai_provider(CreateAiProviderRequest {
            name: "g".into(),
            api_base_url: fake.base_url.clone(),
            api_key: Some(SECRET.into()),
            model_name: "grpc-model".into(),
            default_system_prompt: None,
            is_active: Some(false),
        })
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap();
    assert_eq!(created.api_key.as_deref(), Some("sk-***"));
    assert!(!created.is_active);
    // No profile is active yet; a created profile shows the prompt in use.
    let active = client
        .get_active_ai_provider(GetActiveAiProviderRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(active.provider.is_none());
    assert_eq!(
        created.default_system_prompt.as_deref(),
        Some(tessera::ai::DEFAULT_SYSTEM_PROMPT)
    );
    let err = client
        .create_ai_provider(CreateAiProviderRequest {
            name: "g".into(),
            api_base_url: fake.base_url.clone(),
            model_name: "m".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::AlreadyExists, "ai_provider_profile_name_conflict")
    );

    let activated = client
        .activate_ai_provider(ActivateAiProviderRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap();
    assert!(activated.is_active);
    let active = client
        .get_active_ai_provider(GetActiveAiProviderRequest {})
        .await
        .unwrap()
        .into_inner()
        .provider
        .expect("an active profile");
    assert_eq!(active.id, created.id);
    // An unsaved configuration is tried as given.
    let tested = client
        .test_ai_provider(TestAiProviderRequest {
            api_base_url: Some(fake.base_url.clone()),
            api_key: Some("unsaved-key".into()),
            model_name: Some("unsaved-model".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(tested.succeeded, "{tested:?}");
    assert_eq!(
        (
            tested.resolved_model_name.as_str(),
            tested.resolved_api_base_url.as_str()
        ),
        ("unsaved-model", fake.base_url.as_str())
    );
    assert_eq!(
        fake.seen().last().unwrap().authorization.as_deref(),
        Some("Bearer unsaved-key")
    );
    let err = client
        .test_ai_provider(TestAiProviderRequest {
            api_base_url: Some(fake.base_url.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (
            Code::InvalidArgument,
            "ai_provider_profile_model_name_required"
        )
    );
    let tested = client
        .test_ai_provider(TestAiProviderRequest {
            id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(tested.succeeded);
    assert_eq!(
        tested.caption.as_deref(),
        Some("A cat resting on a blanket")
    );
    assert_eq!(fake.seen().last().unwrap().model(), "grpc-model");

    let updated = client
        .update_ai_provider(UpdateAiProviderRequest {
            id: created.id.clone(),
            api_key: Some(String::new()),
            model_name: Some("grpc-model-2".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .provider
        .unwrap();
    assert_eq!(
        (updated.api_key, updated.model_name.as_str()),
        (None, "grpc-model-2")
    );
    let listed = client
        .list_ai_providers(ListAiProvidersRequest {})
        .await
        .unwrap()
        .into_inner()
        .providers;
    assert_eq!(listed.len(), 1);
    let deleted = client
        .delete_ai_provider(DeleteAiProviderRequest {
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (deleted.id.as_str(), deleted.was_active),
        (created.id.as_str(), true)
    );
    let err = client
        .test_ai_provider(TestAiProviderRequest {
            id: created.id,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "ai_provider_profile_not_found")
    );
}

async fn profile_seeded_from_configuration(backend: Backend) {
    let fake = FakeAi::start().await;
    let base_url = fake.base_url.clone();
    let server = TestServer::start_with(backend, move |config| {
        config.ai_base_url = Some(base_url);
        config.ai_api_key = Some(tessera::config::Secret::new(SECRET));
        config.ai_model = Some("seeded-model".into());
    })
    .await;
    let (_, list) = server.get_json(PROVIDERS).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let seeded = &list["data"][0];
    assert_eq!(
        (seeded["name"].as_str(), seeded["isActive"].as_bool()),
        (Some("default"), Some(true))
    );
    assert_eq!(seeded["modelName"], "seeded-model");
    assert_eq!(seeded["apiKey"], "sk-***");

    let asset = server.upload_ok("normal/rocket_falcon9.jpg", &[]).await;
    let (_, settled) = server.wait_settled(asset["id"].as_str().unwrap()).await;
    assert_eq!(settled["description"], "A cat resting on a blanket");
    assert_eq!(fake.seen()[0].model(), "seeded-model");
}
