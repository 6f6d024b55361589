//! Running the MCP tools ([`super::catalog`] describes them): the REST contract's
//! JSON shapes (assets without `storageKey` / `storageProvider`), and errors
//! in-band with the REST code (`isError`, `structuredContent.error.code`).

use std::time::Duration;

use base64::Engine;
use futures_util::StreamExt;
use rmcp::{
    ErrorData,
    model::{CallToolResult, ContentBlock, JsonObject},
};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{
    api::rest::views::{
        AssetDto, AssetListQuery, AssetPageDto, BatchDeleteAssetsDto, CreateStorageProfileBody,
        DeletedAssetDto, DeletedStorageProfileDto, SkillDto, SkillRunDto, StorageOverviewDto,
        StorageProfileDto, UpdateAssetBody, UpdateStorageProfileBody, UsageStatsDto, list_params,
    },
    domain::{AssetDetails, AssetStatus, Permission, Principal, UploadMetadata, UploadPart},
    error::{Error, Result},
    service::Services,
};

/// `wait_for_asset` waits this long unless told otherwise, and never longer
/// than [`MAX_WAIT_SECONDS`].
const DEFAULT_WAIT_SECONDS: u64 = 30;
pub(super) const MAX_WAIT_SECONDS: u64 = 300;

/// Runs a tool. An unknown tool is a protocol error (-32602); anything that
/// goes wrong inside one is an in-band error result.
pub async fn call(
    services: &Services,
    principal: &Principal,
    name: &str,
    arguments: JsonObject,
) -> std::result::Result<CallToolResult, ErrorData> {
    if !super::catalog::knows(name) {
        return Err(ErrorData::invalid_params(
            format!("unknown tool '{name}' (tools/list names them)"),
            Some(json!({"code": "tool_not_found"})),
        ));
    }
    Ok(match run(services, principal, name, arguments).await {
        Ok(value) => {
            let text = value.to_string();
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            result.structured_content = Some(value);
            result
        }
        Err(err) => {
            let code = err.code().as_str();
            let message = err.to_string();
            let mut result =
                CallToolResult::error(vec![ContentBlock::text(format!("{code}: {message}"))]);
            result.structured_content = Some(json!({"error": {"code": code, "message": message}}));
            result
        }
    })
}

async fn run(
    services: &Services,
    principal: &Principal,
    name: &str,
    mut arguments: JsonObject,
) -> Result<Value> {
    let assets = &services.assets;
    match name {
        "get_asset" => {
            let id: String = take(&mut arguments, "id")?;
            done(&arguments)?;
            asset_view(assets.get(principal, &id).await?)
        }
        "list_assets" => {
            let query: AssetListQuery = parse(Value::Object(as_text(arguments)))?;
            let page = assets.list(principal, list_params(query)?).await?;
            let mut page = to_json(AssetPageDto::from(page))?;
            if let Some(items) = page.get_mut("items").and_then(Value::as_array_mut) {
                items.iter_mut().for_each(hide_storage);
            }
            Ok(page)
        }
        "patch_asset" => {
            let id: String = take(&mut arguments, "id")?;
            let body: UpdateAssetBody = parse(Value::Object(arguments))?;
            asset_view(assets.update(principal, &id, body.into_patch()).await?)
        }
        "list_skills" => {
            done(&arguments)?;
            let skills: Vec<SkillDto> = services
                .skills
                .list(principal)?
                .into_iter()
                .map(SkillDto::from)
                .collect();
            Ok(json!({ "skills": skills }))
        }
        "get_asset_content_url" => {
            let id: String = take(&mut arguments, "id")?;
            done(&arguments)?;
            let details = assets.get(principal, &id).await?;
            // Like NekoHub: a private asset has no link to give.
            let url = details
                .asset
                .public_url
                .clone()
                .ok_or_else(|| Error::AssetNotFound(id.clone()))?;
            Ok(json!({
                "id": details.asset.id.to_string(),
                "contentUrl": url,
                "contentType": details.asset.content_type,
            }))
        }
        "upload_asset" => upload_base64(services, principal, arguments).await,
        "upload_asset_from_url" => {
            let url: String = take(&mut arguments, "url")?;
            let metadata = upload_metadata(&mut arguments)?;
            done(&arguments)?;
            asset_view(assets.upload_from_url(principal, &url, metadata).await?)
        }
        "run_asset_skill" => {
            let id: String = take(&mut arguments, "assetId")?;
            let skill: String = take(&mut arguments, "skillName")?;
            let parameters: Option<Value> = take(&mut arguments, "parameters")?;
            done(&arguments)?;
            let outcome = services
                .skills
                .run(principal, &id, &skill, parameters)
                .await?;
            let mut outcome = to_json(SkillRunDto::from(outcome))?;
            if let Some(asset) = outcome.get_mut("asset") {
                hide_storage(asset);
            }
            Ok(outcome)
        }
        "wait_for_asset" => {
            let id: String = take(&mut arguments, "id")?;
            let seconds: Option<u64> = take(&mut arguments, "timeoutSeconds")?;
            done(&arguments)?;
            let seconds = seconds
                .unwrap_or(DEFAULT_WAIT_SECONDS)
                .clamp(1, MAX_WAIT_SECONDS);
            wait(services, principal, &id, Duration::from_secs(seconds)).await
        }
        "delete_asset" => {
            let id: String = take(&mut arguments, "id")?;
            let message: Option<String> = take(&mut arguments, "commitMessage")?;
            done(&arguments)?;
            let deleted = assets.delete(principal, &id, message.as_deref()).await?;
            to_json(DeletedAssetDto::from(deleted))
        }
        "batch_delete_assets" => {
            let ids: Vec<String> = take(&mut arguments, "ids")?;
            done(&arguments)?;
            to_json(BatchDeleteAssetsDto::from(
                assets.batch_delete(principal, ids).await?,
            ))
        }
        "get_asset_usage_stats" => {
            done(&arguments)?;
            to_json(UsageStatsDto::from(assets.usage_stats(principal).await?))
        }
        "list_storage_profiles" => {
            done(&arguments)?;
            let overview = services.storage_profiles.overview(principal).await?;
            to_json(StorageOverviewDto::from(overview))
        }
        "create_storage_profile" => {
            let body: CreateStorageProfileBody = parse(Value::Object(arguments))?;
            let profile = services
                .storage_profiles
                .create(principal, body.into_new())
                .await?;
            to_json(StorageProfileDto::from(profile))
        }
        "update_storage_profile" => {
            let id: String = take(&mut arguments, "id")?;
            let set_default: Option<bool> = take(&mut arguments, "setAsDefault")?;
            let body: UpdateStorageProfileBody = parse(Value::Object(arguments))?;
            let profiles = &services.storage_profiles;
            if set_default == Some(true) {
                // Checked first, so a refused default changes nothing.
                principal.require(Permission::SettingsUpdate)?;
            }
            let mut profile = profiles.update(principal, &id, body.into_patch()).await?;
            if set_default == Some(true) {
                profile = profiles.set_default(principal, &id).await?;
            }
            to_json(StorageProfileDto::from(profile))
        }
        "delete_storage_profile" => {
            let id: String = take(&mut arguments, "id")?;
            done(&arguments)?;
            let deleted = services.storage_profiles.delete(principal, &id).await?;
            to_json(DeletedStorageProfileDto::from(deleted))
        }
        other => Err(Error::internal(
            "mcp tool",
            format!("no handler for '{other}'"),
        )),
    }
}

async fn upload_base64(
    services: &Services,
    principal: &Principal,
    mut arguments: JsonObject,
) -> Result<Value> {
    principal.require(Permission::AssetsCreate)?;
    let file_name: String = take(&mut arguments, "fileName")?;
    let content_type: String = take(&mut arguments, "contentType")?;
    let encoded: String = take(&mut arguments, "contentBase64")?;
    let mut metadata = upload_metadata(&mut arguments)?;
    done(&arguments)?;
    if content_type.trim().is_empty() {
        return Err(Error::AssetContentTypeMissing);
    }
    let limit = services.assets.max_upload_bytes();
    // Refused before decoding: the encoded text says how large the file is.
    if (encoded.len() as u64).saturating_mul(3) / 4 > limit.saturating_add(2) {
        return Err(Error::AssetFileTooLarge { limit });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| Error::AssetBase64Invalid)?;
    metadata.file_name = Some(file_name);
    let mut parts = futures_util::stream::iter([
        Ok(UploadPart::Metadata(metadata)),
        Ok(UploadPart::Chunk(bytes.into())),
    ]);
    asset_view(services.assets.upload(principal, &mut parts).await?)
}

/// The upload fields every upload tool shares.
fn upload_metadata(arguments: &mut JsonObject) -> Result<UploadMetadata> {
    Ok(UploadMetadata {
        file_name: take(arguments, "fileName")?,
        description: take(arguments, "description")?,
        alt_text: take(arguments, "altText")?,
        is_public: take(arguments, "isPublic")?,
        storage_profile_id: take(arguments, "storageProviderProfileId")?,
        run_enrichment: take(arguments, "runEnrichment")?,
        commit_message: take(arguments, "commitMessage")?,
    })
}

/// Follows the asset until it settles or `timeout` passes.
async fn wait(
    services: &Services,
    principal: &Principal,
    id: &str,
    timeout: Duration,
) -> Result<Value> {
    let mut updates = services.assets.watch(principal, id).await?;
    let mut latest = None;
    let deadline = tokio::time::Instant::now() + timeout;
    while let Ok(next) = tokio::time::timeout_at(deadline, updates.next()).await {
        match next {
            Some(update) => latest = Some(update?),
            None => break,
        }
    }
    let details = match latest {
        Some(details) => details,
        None => services.assets.get(principal, id).await?,
    };
    let settled = matches!(
        details.asset.status,
        AssetStatus::Ready | AssetStatus::Failed
    );
    Ok(json!({ "asset": asset_view(details)?, "settled": settled }))
}

/// An asset as MCP shows it: the REST shape without where it is stored.
pub(super) fn asset_view(details: AssetDetails) -> Result<Value> {
    let mut value = to_json(AssetDto::from(details))?;
    hide_storage(&mut value);
    Ok(value)
}

fn hide_storage(asset: &mut Value) {
    if let Some(fields) = asset.as_object_mut() {
        fields.remove("storageKey");
        fields.remove("storageProvider");
    }
}

fn to_json<T: serde::Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::internal("mcp answer", e))
}

/// Removes one argument and reads it; absent and `null` are `None` for
/// optional ones, and missing for required ones.
fn take<T: DeserializeOwned>(arguments: &mut JsonObject, name: &str) -> Result<T> {
    let value = arguments.remove(name).unwrap_or(Value::Null);
    T::deserialize(value).map_err(|e| {
        let problem = e.to_string();
        if problem.starts_with("invalid type: null") {
            Error::ToolArgumentsInvalid(format!("'{name}' is required"))
        } else {
            Error::ToolArgumentsInvalid(format!("'{name}': {problem}"))
        }
    })
}

/// Refuses arguments the tool does not take, so a misspelt one is not
/// silently ignored.
fn done(arguments: &JsonObject) -> Result<()> {
    match arguments.keys().next() {
        None => Ok(()),
        Some(name) => Err(Error::ToolArgumentsInvalid(format!(
            "unknown argument '{name}'"
        ))),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::ToolArgumentsInvalid(e.to_string()))
}

/// Query-string arguments as text, as the REST list parses them.
fn as_text(arguments: JsonObject) -> JsonObject {
    arguments
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (name, Value::String(text))
        })
        .collect()
}
