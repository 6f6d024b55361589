//! MCP prompts: ready-made instructions that walk an agent through the tools
//! for one asset (NekoHub's three).

use rmcp::{
    ErrorData,
    model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role},
};
use serde_json::{Value, json};

const DEFAULT_SKILL: &str = "basic_image_enrich";

pub fn catalog() -> Vec<Prompt> {
    let asset = || {
        PromptArgument::new("assetId")
            .with_description("The asset's id.")
            .with_required(true)
    };
    vec![
        Prompt::new(
            "inspect_asset",
            Some("Look at an asset: its details, derivatives and what skills wrote about it."),
            Some(vec![asset()]),
        ),
        Prompt::new(
            "enrich_asset",
            Some("Run a skill on an asset (basic_image_enrich unless told) and check the outcome."),
            Some(vec![
                asset(),
                PromptArgument::new("skillName")
                    .with_description("The skill to run (list_skills names them).")
                    .with_required(false),
            ]),
        ),
        Prompt::new(
            "review_asset_outputs",
            Some("Review the derivatives and structured results of an asset."),
            Some(vec![asset()]),
        ),
    ]
}

pub fn get(name: &str, arguments: JsonObject) -> Result<GetPromptResult, ErrorData> {
    let argument = |key: &str| match arguments.get(key) {
        Some(Value::String(value)) if !value.trim().is_empty() => Some(value.trim().to_string()),
        _ => None,
    };
    let required = |key: &str| {
        argument(key).ok_or_else(|| {
            ErrorData::invalid_params(
                format!("the prompt needs '{key}'"),
                Some(json!({"code": "prompt_argument_invalid"})),
            )
        })
    };
    let text = match name {
        "inspect_asset" => {
            let id = required("assetId")?;
            format!(
                "Inspect the tessera asset {id}. Call get_asset with id \"{id}\" (or read the \
                 resource asset://{id}), then read asset://{id}/derivatives and \
                 asset://{id}/structured-results. Look at asset://{id}/thumbnail if you can see \
                 images. Summarize its status, size, visibility, description and alt text, and \
                 say what is missing."
            )
        }
        "enrich_asset" => {
            let id = required("assetId")?;
            let skill = argument("skillName").unwrap_or_else(|| DEFAULT_SKILL.to_string());
            format!(
                "Enrich the tessera asset {id}: call run_asset_skill with assetId \"{id}\" and \
                 skillName \"{skill}\", then wait_for_asset with id \"{id}\" and report the steps \
                 that failed, the new derivatives and the caption or alt text it produced."
            )
        }
        "review_asset_outputs" => {
            let id = required("assetId")?;
            format!(
                "Review what tessera made from asset {id}: read asset://{id}/derivatives and \
                 asset://{id}/structured-results (or call get_asset). Check that the captions and \
                 alt text describe the image and suggest fixes with patch_asset."
            )
        }
        other => {
            return Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                format!("unknown prompt '{other}' (prompts/list names them)"),
                Some(json!({"code": "prompt_not_found"})),
            ));
        }
    };
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("{name} for one asset")),
    )
}
