//! MCP resources: an asset, its derivatives, its structured results and its
//! preview image, and the skills, by URI.

use base64::Engine;
use futures_util::TryStreamExt;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use serde_json::{Value, json};

use crate::{
    api::rest::views::SkillDto,
    domain::{ContentRequest, Principal},
    error::{Error, Result},
    service::{Content, Services},
};

const JSON: &str = "application/json";

pub fn templates() -> Vec<ResourceTemplate> {
    [
        (
            "asset://{id}",
            "asset",
            "An asset as get_asset shows it.",
            JSON,
        ),
        (
            "asset://{id}/derivatives",
            "asset-derivatives",
            "An asset's derivatives.",
            JSON,
        ),
        (
            "asset://{id}/structured-results",
            "asset-structured-results",
            "What skills wrote about an asset (captions, analysis).",
            JSON,
        ),
        (
            "asset://{id}/thumbnail",
            "asset-thumbnail",
            "An asset's preview image, for a model to look at.",
            "image/webp",
        ),
        (
            "skill://{name}",
            "skill",
            "A skill: what it does and its steps.",
            JSON,
        ),
    ]
    .into_iter()
    .map(|(uri, name, description, mime)| {
        ResourceTemplate::new(uri, name)
            .with_description(description)
            .with_mime_type(mime)
    })
    .collect()
}

/// The resources that exist whatever the assets: one per skill.
pub fn concrete(services: &Services, principal: &Principal) -> Vec<Resource> {
    services
        .skills
        .list(principal)
        .unwrap_or_default()
        .into_iter()
        .map(|skill| {
            Resource::new(format!("skill://{}", skill.skill_name), skill.skill_name)
                .with_description(skill.description)
                .with_mime_type(JSON)
        })
        .collect()
}

pub async fn read(
    services: &Services,
    principal: &Principal,
    uri: &str,
) -> Result<ReadResourceResult> {
    let invalid = || Error::ToolArgumentsInvalid(format!("'{uri}' is not a tessera resource URI"));
    if let Some(name) = uri.strip_prefix("skill://") {
        let skill = SkillDto::from(services.skills.get(principal, name)?);
        return json_contents(uri, serde_json::to_value(skill));
    }
    let rest = uri.strip_prefix("asset://").ok_or_else(invalid)?;
    let (id, part) = rest.split_once('/').unwrap_or((rest, ""));
    if part == "thumbnail" {
        return thumbnail(services, principal, uri, id).await;
    }
    let mut asset = super::tools::asset_view(services.assets.get(principal, id).await?)?;
    let view = match part {
        "" => asset,
        "derivatives" => json!({"assetId": id, "derivatives": asset["derivatives"].take()}),
        "structured-results" => {
            json!({"assetId": id, "structuredResults": asset["structuredResults"].take()})
        }
        _ => return Err(invalid()),
    };
    json_contents(uri, Ok(view))
}

fn json_contents(uri: &str, value: serde_json::Result<Value>) -> Result<ReadResourceResult> {
    let text = value
        .map_err(|e| Error::internal("mcp resource", e))?
        .to_string();
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type(JSON),
    ]))
}

/// The preview as a base64 blob (thumbnails are small).
async fn thumbnail(
    services: &Services,
    principal: &Principal,
    uri: &str,
    id: &str,
) -> Result<ReadResourceResult> {
    let request = ContentRequest {
        derivative_kind: Some("thumbnail".into()),
        ..ContentRequest::default()
    };
    let Content::Bytes(content) = services.assets.content(principal, id, request).await? else {
        return Err(Error::internal(
            "mcp resource",
            "a link where bytes were asked for",
        ));
    };
    let bytes: Vec<u8> = content
        .body
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .map_err(|e| Error::internal("mcp thumbnail", e))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(ReadResourceResult::new(vec![
        ResourceContents::blob(encoded, uri).with_mime_type(content.content_type),
    ]))
}
