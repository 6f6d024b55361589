//! Every skill on real images, through REST and gRPC.

use image::GenericImageView;
use serde_json::{Value, json};
use tessera::api::grpc::proto::{ListSkillsRequest, RunSkillRequest};
use tonic::Code;

use crate::common::{Backend, TestServer, fixtures::mean_difference, reason};
use crate::on_both_databases;

on_both_databases!(
    catalog_and_parameter_errors,
    orientations_give_upright_thumbnails,
    exif_strip_removes_gps,
    format_convert_and_keep_original,
    watermark_changes_the_chosen_corner,
    analyze_reports_hashes_and_duplicates,
    skills_run_through_grpc,
);

/// Uploads without background processing, so each test drives the skills.
async fn upload(server: &TestServer, file: &str) -> String {
    let asset = server
        .upload_ok(file, &[("runEnrichment", "false"), ("isPublic", "false")])
        .await;
    asset["id"].as_str().unwrap().to_string()
}

async fn run(server: &TestServer, id: &str, skill: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = server.post(&format!("/api/v1/assets/{id}/skills/{skill}/run"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn content(server: &TestServer, id: &str) -> Vec<u8> {
    let response = server
        .get(&format!("/api/v1/assets/{id}/content"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

async fn catalog_and_parameter_errors(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (status, catalog) = server.get_json("/api/v1/assets/skills").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["skillName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "basic_image_enrich",
            "thumbnail",
            "ai-caption",
            "alt-text",
            "exif-strip",
            "format-convert",
            "watermark",
            "analyze"
        ]
    );
    assert_eq!(
        catalog["data"][0]["steps"],
        json!([
            "generate_thumbnail",
            "generate_caption",
            "generate_alt_text"
        ])
    );
    assert!(
        catalog["data"][0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );

    let id = upload(&server, "normal/chelsea_cat.png").await;
    let (status, body) = run(&server, &id, "sharpen", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("skill_not_found"))
    );
    for (skill, parameters, named) in [
        ("thumbnail", json!({"parameters": {"size": 0}}), "size"),
        ("format-convert", json!({"quality": 50}), "targetFormat"),
        (
            "format-convert",
            json!({"targetFormat": "tiff"}),
            "targetFormat",
        ),
        (
            "watermark",
            json!({"parameters": {"opacity": 2}}),
            "opacity",
        ),
        ("watermark", json!({"position": "middle"}), "position"),
        ("analyze", json!({"depth": 3}), "depth"),
    ] {
        let (status, body) = run(&server, &id, skill, Some(parameters.clone())).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("skill_parameters_invalid")),
            "{parameters}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(named),
            "{body}"
        );
    }
    // Refused runs changed nothing and recorded nothing.
    let (_, asset) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    assert_eq!(asset["data"]["latestExecutionSummary"], Value::Null);
    let missing = uuid::Uuid::now_v7();
    let (status, body) = run(&server, &missing.to_string(), "thumbnail", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("asset_not_found"))
    );

    // Aliases and case do not matter; a failed AI step fails the run but not the asset.
    let (status, body) = run(&server, &id, "Basic_Image_Enrich", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["skillName"], "basic_image_enrich");
    assert_eq!(body["data"]["succeeded"], false);
    assert_eq!(
        body["data"]["steps"][0],
        json!({"name": "generate_thumbnail", "succeeded": true, "errorMessage": null, "skipped": false})
    );
    assert_eq!(
        body["data"]["steps"][1]["errorMessage"],
        "no active AI provider"
    );
    assert_eq!(body["data"]["asset"]["status"], "ready");
    assert_eq!(
        body["data"]["asset"]["latestExecutionSummary"]["triggerSource"],
        "manual"
    );
    let (status, body) = run(
        &server,
        &id,
        "GENERATE_THUMBNAIL",
        Some(json!({"parameters": {"size": 64}})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["succeeded"], true);
    let kinds: Vec<&str> = body["data"]["asset"]["derivatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["thumbnail_256", "thumbnail_64"]);
    let small = &body["data"]["asset"]["derivatives"][1];
    assert_eq!(
        (small["width"].as_u64(), small["height"].as_u64()),
        (Some(64), Some(43))
    );
    let (_, stats) = server.get_json("/api/v1/assets/usage-stats").await;
    // One run each: ties go to the first name.
    assert_eq!(
        stats["data"]["mostActiveSkill"],
        json!({"skillName": "basic_image_enrich", "runCount": 1})
    );
    assert_eq!(stats["data"]["totalDerivatives"], 2);
}

fn thumbnail_of(server: &TestServer, id: &str) -> std::path::PathBuf {
    server
        .data_dir
        .path()
        .join(format!("assets/derivatives/{id}/thumbnail_256.webp"))
}

async fn orientations_give_upright_thumbnails(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut thumbnails = Vec::new();
    for n in 1..=8 {
        let id = upload(&server, &format!("exif/orientation_{n}.jpg")).await;
        let (status, body) = run(&server, &id, "thumbnail", None).await;
        assert_eq!(
            (status, &body["data"]["succeeded"]),
            (200, &json!(true)),
            "{body}"
        );
        let thumbnail = image::open(thumbnail_of(&server, &id)).expect("thumbnail decodes");
        assert_eq!(thumbnail.dimensions(), (256, 171), "orientation {n}");
        thumbnails.push(thumbnail);
    }
    for (n, thumbnail) in thumbnails.iter().enumerate().skip(1) {
        let diff = mean_difference(&thumbnails[0], thumbnail);
        assert!(
            diff < 12.0,
            "orientation {} differs from 1 by {diff}",
            n + 1
        );
    }
    // A mirrored image really differs, so the check above can fail.
    assert!(mean_difference(&thumbnails[0], &thumbnails[0].fliph()) > 20.0);
}

fn gps_fields(bytes: &[u8]) -> usize {
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .map(|exif| {
            exif.fields()
                .filter(|f| matches!(f.tag.context(), exif::Context::Gps))
                .count()
        })
        .unwrap_or(0)
}

async fn exif_strip_removes_gps(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = upload(&server, "generated/gps.jpg").await;
    let before = content(&server, &id).await;
    assert!(gps_fields(&before) > 0, "the sample has GPS data");
    let (_, original) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    let old_key = original["data"]["storageKey"].as_str().unwrap().to_string();

    let (status, body) = run(&server, &id, "strip_exif_metadata", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["succeeded"], true);
    let asset = &body["data"]["asset"];
    let after = content(&server, &id).await;
    assert_eq!(gps_fields(&after), 0);
    assert!(
        exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&after))
            .is_err(),
        "no EXIF left"
    );
    assert!(after.len() < before.len());
    assert_eq!(asset["size"], after.len());
    assert_eq!(asset["checksumSha256"], crate::common::sha256_hex(&after));
    assert_ne!(asset["storageKey"].as_str().unwrap(), old_key);
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(600), Some(400))
    );
    // Pixels are untouched (no re-encode for an upright photo).
    let (a, b) = (
        image::load_from_memory(&before).unwrap(),
        image::load_from_memory(&after).unwrap(),
    );
    assert_eq!(mean_difference(&a, &b), 0.0);
    assert!(
        !server.stored_files().iter().any(|p| p.ends_with(&old_key)),
        "the old file is gone"
    );

    // A rotated photo is turned upright before its orientation tag goes.
    let id = upload(&server, "exif/orientation_6.jpg").await;
    let (_, body) = run(&server, &id, "exif-strip", None).await;
    assert_eq!(body["data"]["succeeded"], true);
    let upright = image::load_from_memory(&content(&server, &id).await).unwrap();
    assert_eq!(upright.dimensions(), (1800, 1200));
}

async fn format_convert_and_keep_original(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = upload(&server, "normal/coffee.png").await;
    let (_, before) = server.get_json(&format!("/api/v1/assets/{id}")).await;
    let old_key = before["data"]["storageKey"].as_str().unwrap().to_string();
    let (status, body) = run(
        &server,
        &id,
        "format-convert",
        Some(json!({"targetFormat": "webp", "quality": 80})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let asset = &body["data"]["asset"];
    assert_eq!(asset["contentType"], "image/webp");
    assert_eq!(asset["extension"], "webp");
    assert!(asset["storageKey"].as_str().unwrap().ends_with(".webp"));
    let bytes = content(&server, &id).await;
    assert_eq!(
        image::guess_format(&bytes).unwrap(),
        image::ImageFormat::WebP
    );
    assert_eq!(
        image::load_from_memory(&bytes).unwrap().dimensions(),
        (600, 400)
    );
    assert!(bytes.len() < before["data"]["size"].as_u64().unwrap() as usize);
    assert!(!server.stored_files().iter().any(|p| p.ends_with(&old_key)));

    let (_, body) = run(
        &server,
        &id,
        "convert_image_format",
        Some(json!({"targetFormat": "jpg", "keepOriginal": true})),
    )
    .await;
    let asset = &body["data"]["asset"];
    assert_eq!(asset["contentType"], "image/jpeg");
    let kept = asset["derivatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "original")
        .expect("kept original");
    assert_eq!(kept["contentType"], "image/webp");
    assert_eq!(kept["size"], bytes.len());
    // Delete removes the kept original too.
    assert_eq!(
        server
            .delete(&format!("/api/v1/assets/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        server.stored_files().is_empty(),
        "{:?}",
        server.stored_files()
    );
}

async fn watermark_changes_the_chosen_corner(backend: Backend) {
    let server = TestServer::start(backend).await;
    let id = upload(&server, "normal/chelsea_cat.png").await;
    let before = image::load_from_memory(&content(&server, &id).await)
        .unwrap()
        .to_rgb8();
    let (status, body) = run(
        &server,
        &id,
        "draw_watermark",
        Some(json!({"text": "tessera", "opacity": 1.0, "fontSize": 40})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["asset"]["contentType"], "image/png");
    let after = image::load_from_memory(&content(&server, &id).await)
        .unwrap()
        .to_rgb8();
    assert_eq!(after.dimensions(), before.dimensions());
    let (w, h) = before.dimensions();
    let changed = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| before.get_pixel(x, y) != after.get_pixel(x, y))
            .count()
    };
    assert!(
        changed(w / 2, h * 3 / 4, w, h) > 500,
        "text drawn bottom right"
    );
    assert_eq!(changed(0, 0, w / 2, h / 2), 0, "top left untouched");

    let (_, body) = run(
        &server,
        &id,
        "watermark",
        Some(json!({"position": "topLeft", "opacity": 1})),
    )
    .await;
    assert_eq!(body["data"]["succeeded"], true);
    let again = image::load_from_memory(&content(&server, &id).await)
        .unwrap()
        .to_rgb8();
    let top_left = (0..h / 4)
        .flat_map(|y| (0..w / 2).map(move |x| (x, y)))
        .filter(|&(x, y)| after.get_pixel(x, y) != again.get_pixel(x, y))
        .count();
    assert!(top_left > 300);
}

async fn analysis_of(server: &TestServer, id: &str) -> Value {
    let (status, body) = run(server, id, "analyze", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["succeeded"], true, "{body}");
    let result = body["data"]["asset"]["structuredResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "analysis")
        .expect("analysis result")
        .clone();
    serde_json::from_str(result["payloadJson"].as_str().unwrap()).expect("payload is JSON")
}

async fn analyze_reports_hashes_and_duplicates(backend: Backend) {
    let server = TestServer::start(backend).await;
    let jpeg = upload(&server, "normal/flower_canon_s40.jpg").await;
    let copy = upload(&server, "normal/flower_canon_s40.jpg").await;
    let webp = upload(&server, "normal/flower_lossy.webp").await;
    let other = upload(&server, "normal/rocket_falcon9.jpg").await;

    let analysis = analysis_of(&server, &jpeg).await;
    assert_eq!(analysis["exif"]["present"], true);
    assert_eq!(analysis["exif"]["make"], "Canon");
    assert_eq!(analysis["exif"]["hasGps"], false);
    let colours = analysis["dominantColors"].as_array().unwrap();
    assert!((1..=5).contains(&colours.len()));
    assert!(
        colours
            .iter()
            .all(|c| c["hex"].as_str().unwrap().len() == 7 && c["share"].as_f64().unwrap() > 0.0)
    );
    assert!(analysis["blurhash"].as_str().is_some_and(|h| h.len() >= 6));
    let hash = analysis["perceptualHash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 16);
    assert_eq!(analysis["duplicates"]["sameChecksum"], json!([copy]));

    let analysis = analysis_of(&server, &copy).await;
    assert_eq!(analysis["perceptualHash"], hash.as_str());
    assert_eq!(analysis["duplicates"]["sameChecksum"], json!([jpeg]));
    assert_eq!(
        analysis["duplicates"]["similar"],
        json!([]),
        "exact copies are not listed twice"
    );

    let gps = upload(&server, "generated/gps.jpg").await;
    assert_eq!(analysis_of(&server, &gps).await["exif"]["hasGps"], true);
    let analysis = analysis_of(&server, &other).await;
    assert_eq!(
        analysis["duplicates"],
        json!({"sameChecksum": [], "similar": []})
    );

    // The same photo re-encoded as lossy WebP is found as a near duplicate.
    let analysis = analysis_of(&server, &webp).await;
    let similar: Vec<&str> = analysis["duplicates"]["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["assetId"].as_str().unwrap())
        .collect();
    let mut expected = vec![jpeg.as_str(), copy.as_str()];
    expected.sort();
    assert_eq!(similar, expected);
}

async fn skills_run_through_grpc(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut client = server.grpc().await;
    let skills = client
        .list_skills(ListSkillsRequest {})
        .await
        .unwrap()
        .into_inner()
        .skills;
    assert_eq!(skills.len(), 8);
    assert_eq!(
        skills[7].steps,
        [
            "extract_metadata",
            "dominant_colors",
            "blurhash",
            "perceptual_hash"
        ]
    );

    let id = upload(&server, "normal/rocket_falcon9.jpg").await;
    let parameters = |value: Value| -> prost_types::Struct {
        let fields = value
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let kind = match v {
                    Value::Number(n) => prost_types::value::Kind::NumberValue(n.as_f64().unwrap()),
                    Value::String(s) => prost_types::value::Kind::StringValue(s.clone()),
                    Value::Bool(b) => prost_types::value::Kind::BoolValue(*b),
                    other => panic!("unsupported {other}"),
                };
                (k.clone(), prost_types::Value { kind: Some(kind) })
            })
            .collect();
        prost_types::Struct { fields }
    };
    let outcome = client
        .run_skill(RunSkillRequest {
            id: id.clone(),
            skill_name: "thumbnail".into(),
            parameters: Some(parameters(json!({"size": 100}))),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(outcome.succeeded);
    let asset = outcome.asset.unwrap();
    assert_eq!(asset.derivatives[0].kind, "thumbnail_100");
    assert_eq!(
        (asset.derivatives[0].width, asset.derivatives[0].height),
        (Some(100), Some(67))
    );
    assert_eq!(
        asset.latest_execution_summary.unwrap().trigger_source,
        "manual"
    );

    let outcome = client
        .run_skill(RunSkillRequest {
            id: id.clone(),
            skill_name: "format_convert".into(),
            parameters: Some(parameters(json!({"targetFormat": "png"}))),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcome.asset.unwrap().content_type, "image/png");

    let err = client
        .run_skill(RunSkillRequest {
            id: id.clone(),
            skill_name: "thumbnail".into(),
            parameters: Some(parameters(json!({"size": 5000}))),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::InvalidArgument, "skill_parameters_invalid")
    );
    let err = client
        .run_skill(RunSkillRequest {
            id,
            skill_name: "nope".into(),
            parameters: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::NotFound, "skill_not_found")
    );
}
