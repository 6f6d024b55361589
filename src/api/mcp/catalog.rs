//! The MCP tool catalog: each tool's name, description and JSON Schemas.
//! NekoHub's tool and argument names, so prompts written for it still work.

use std::sync::{Arc, LazyLock};

use rmcp::model::{JsonObject, Tool};
use serde_json::{Map, Value, json};

use super::tools::MAX_WAIT_SECONDS;

/// One tool's description: name, what it does, its input properties (all
/// optional unless listed in `required`) and its output's main fields.
struct Spec {
    name: &'static str,
    description: &'static str,
    input: Value,
    required: &'static [&'static str],
    output: Value,
}

fn spec(
    name: &'static str,
    description: &'static str,
    input: Value,
    required: &'static [&'static str],
    output: Value,
) -> Spec {
    Spec {
        name,
        description,
        input,
        required,
        output,
    }
}

const ID: &str = "The asset's id (a UUID).";

fn asset_output() -> Value {
    json!({
        "id": {"type": "string"}, "status": {"type": "string"},
        "originalFileName": {"type": ["string", "null"]}, "contentType": {"type": "string"},
        "size": {"type": "integer"}, "width": {"type": ["integer", "null"]},
        "height": {"type": ["integer", "null"]}, "isPublic": {"type": "boolean"},
        "publicUrl": {"type": ["string", "null"]}, "description": {"type": ["string", "null"]},
        "altText": {"type": ["string", "null"]}, "checksumSha256": {"type": "string"},
        "derivatives": {"type": "array"}, "structuredResults": {"type": "array"},
        "latestExecutionSummary": {"type": ["object", "null"]},
    })
}

fn upload_fields() -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(
        "description".into(),
        json!({"type": "string", "description": "At most 1000 characters."}),
    );
    fields.insert(
        "altText".into(),
        json!({"type": "string", "description": "At most 1000 characters."}),
    );
    fields.insert("isPublic".into(), json!({"type": "boolean", "description": "Public assets get a link anyone can open (default true)."}));
    fields.insert(
        "storageProviderProfileId".into(),
        json!({"type": "string", "description": "Store on this profile instead of the default."}),
    );
    fields.insert("runEnrichment".into(), json!({"type": "boolean", "description": "Make the thumbnail, caption and alt text after the upload (default true)."}));
    fields
}

fn with(mut fields: Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(extra) = extra {
        fields.extend(extra);
    }
    Value::Object(fields)
}

fn specs() -> Vec<Spec> {
    let profile_fields = json!({
        "name": {"type": "string"}, "displayName": {"type": ["string", "null"]},
        "providerType": {"type": "string", "description": "local, s3-compatible, github-repo or github-releases"},
        "isEnabled": {"type": "boolean"},
        "configuration": {"type": "object", "description": "The provider's settings (see docs/api.md §9)."},
        "secretConfiguration": {"type": "object", "description": "Credentials (accessKey/secretKey, token): stored encrypted, never shown."},
    });
    vec![
        spec(
            "get_asset",
            "An asset with its derivatives, structured results and latest execution.",
            json!({"id": {"type": "string", "description": ID}}),
            &["id"],
            asset_output(),
        ),
        spec(
            "list_assets",
            "A page of assets, newest first unless sorted otherwise.",
            json!({
                "page": {"type": "integer", "minimum": 1}, "pageSize": {"type": "integer", "minimum": 1},
                "query": {"type": "string", "description": "Part of the file name, description or alt text."},
                "status": {"type": "string", "enum": ["pending", "processing", "ready", "failed"]},
                "contentType": {"type": "string", "description": "e.g. image/png or image/*"},
                "orderBy": {"type": "string", "enum": ["createdAtUtc", "size"]},
                "orderDirection": {"type": "string", "enum": ["asc", "desc"]},
            }),
            &[],
            json!({"items": {"type": "array"}, "page": {"type": "integer"}, "pageSize": {"type": "integer"}, "total": {"type": "integer"}}),
        ),
        spec(
            "patch_asset",
            "Changes an asset's description, alt text, file name or visibility; null clears a text.",
            json!({
                "id": {"type": "string", "description": ID},
                "description": {"type": ["string", "null"]}, "altText": {"type": ["string", "null"]},
                "originalFileName": {"type": ["string", "null"]}, "isPublic": {"type": "boolean"},
            }),
            &["id"],
            asset_output(),
        ),
        spec(
            "list_skills",
            "The skills run_asset_skill can run, with their steps.",
            json!({}),
            &[],
            json!({"skills": {"type": "array"}}),
        ),
        spec(
            "get_asset_content_url",
            "The public link of a public asset's original.",
            json!({"id": {"type": "string", "description": ID}}),
            &["id"],
            json!({"id": {"type": "string"}, "contentUrl": {"type": "string"}, "contentType": {"type": "string"}}),
        ),
        spec(
            "upload_asset",
            "Uploads an image sent as base64, with the checks of any upload (type sniffed, size limit).",
            with(
                upload_fields(),
                json!({
                    "fileName": {"type": "string"}, "contentType": {"type": "string", "description": "e.g. image/png; the type is also sniffed from the bytes."},
                    "contentBase64": {"type": "string", "description": "The file, base64; at most the upload limit once decoded."},
                }),
            ),
            &["fileName", "contentType", "contentBase64"],
            asset_output(),
        ),
        spec(
            "upload_asset_from_url",
            "Fetches an image from an http(s) URL and uploads it (public addresses only, 30 s, the upload limit).",
            with(
                upload_fields(),
                json!({
                    "url": {"type": "string", "description": "http or https URL of the image."},
                    "fileName": {"type": "string", "description": "Defaults to the URL's last path segment."},
                }),
            ),
            &["url"],
            asset_output(),
        ),
        spec(
            "run_asset_skill",
            "Runs a skill on an asset now and answers with its outcome.",
            json!({
                "assetId": {"type": "string", "description": ID},
                "skillName": {"type": "string", "description": "See list_skills, e.g. basic_image_enrich, thumbnail, ai-caption."},
                "parameters": {"type": "object"},
            }),
            &["assetId", "skillName"],
            json!({"succeeded": {"type": "boolean"}, "skillName": {"type": "string"}, "steps": {"type": "array"}, "asset": {"type": "object"}}),
        ),
        spec(
            "wait_for_asset",
            "Waits until an asset's processing is over (ready or failed), at most timeoutSeconds.",
            json!({
                "id": {"type": "string", "description": ID},
                "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": MAX_WAIT_SECONDS, "description": "Default 30."},
            }),
            &["id"],
            json!({"asset": {"type": "object"}, "settled": {"type": "boolean"}}),
        ),
        spec(
            "delete_asset",
            "Deletes an asset and everything made from it.",
            json!({"id": {"type": "string", "description": ID}, "commitMessage": {"type": "string"}}),
            &["id"],
            json!({"id": {"type": "string"}, "status": {"type": "string"}, "deletedAtUtc": {"type": "string"}}),
        ),
        spec(
            "batch_delete_assets",
            "Deletes several assets; reports the ids that were not found.",
            json!({"ids": {"type": "array", "items": {"type": "string"}, "maxItems": 1000}}),
            &["ids"],
            json!({"requestedCount": {"type": "integer"}, "deletedCount": {"type": "integer"}, "notFoundIds": {"type": "array"}}),
        ),
        spec(
            "get_asset_usage_stats",
            "Totals: assets, bytes, derivatives, types and the most used skill.",
            json!({}),
            &[],
            json!({"totalAssets": {"type": "integer"}, "totalBytes": {"type": "integer"}, "totalDerivatives": {"type": "integer"}, "contentTypeBreakdown": {"type": "array"}, "mostActiveSkill": {"type": ["object", "null"]}}),
        ),
        spec(
            "list_storage_profiles",
            "The storage profiles, the default ones and the runtime state (never secrets).",
            json!({}),
            &[],
            json!({"profiles": {"type": "array"}, "defaultProfile": {"type": ["object", "null"]}}),
        ),
        spec(
            "create_storage_profile",
            "Creates a storage profile.",
            with(
                profile_fields.as_object().cloned().unwrap_or_default(),
                json!({"isDefault": {"type": "boolean"}}),
            ),
            &["name", "providerType"],
            json!({"id": {"type": "string"}, "name": {"type": "string"}, "providerType": {"type": "string"}, "isDefault": {"type": "boolean"}}),
        ),
        spec(
            "update_storage_profile",
            "Changes a storage profile; setAsDefault makes it the default.",
            with(
                profile_fields.as_object().cloned().unwrap_or_default(),
                json!({
                    "id": {"type": "string"}, "setAsDefault": {"type": "boolean"},
                }),
            ),
            &["id"],
            json!({"id": {"type": "string"}, "name": {"type": "string"}, "isDefault": {"type": "boolean"}}),
        ),
        spec(
            "delete_storage_profile",
            "Deletes a storage profile (disables it while assets still use it).",
            json!({"id": {"type": "string"}}),
            &["id"],
            json!({"id": {"type": "string"}, "wasDefault": {"type": "boolean"}, "status": {"type": "string"}}),
        ),
    ]
}

/// Every tool with its schemas, built once.
static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(build);

pub fn catalog() -> Vec<Tool> {
    TOOLS.clone()
}

/// Whether `name` is one of the tools.
pub fn knows(name: &str) -> bool {
    TOOLS.iter().any(|tool| tool.name == name)
}

/// Output schemas list the main fields without requiring any, so the in-band
/// error shape `{error: {code, message}}` validates too (clients check error
/// results against them).
fn build() -> Vec<Tool> {
    specs()
        .into_iter()
        .map(|spec| {
            let input = json!({
                "type": "object",
                "properties": spec.input,
                "required": spec.required,
                "additionalProperties": false,
            });
            let mut output = json!({
                "type": "object",
                "properties": spec.output,
            });
            output["properties"]["error"] = json!({
                "type": "object",
                "description": "Present instead of the result when the call failed.",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            });
            Tool::new(spec.name, spec.description, object(input))
                .with_raw_output_schema(Arc::new(object(output)))
        })
        .collect()
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}
