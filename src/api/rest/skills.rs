use axum::{body::Bytes, extract::State, response::IntoResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Path;
use super::{ApiError, Authenticated, Data, assets::AssetDto, data, optional_json};
use crate::{
    domain::{SkillInfo, SkillRunOutcome},
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SkillDto {
    skill_name: &'static str,
    description: &'static str,
    steps: Vec<&'static str>,
}

impl From<SkillInfo> for SkillDto {
    fn from(info: SkillInfo) -> Self {
        SkillDto {
            skill_name: info.skill_name,
            description: info.description,
            steps: info.steps,
        }
    }
}

#[utoipa::path(
    get,
    operation_id = "listSkills",
    path = "/api/v1/assets/skills",
    tag = "skills",
    responses((status = OK, body = Data<Vec<SkillDto>>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let skills = services.skills.list(&principal)?;
    Ok(data(
        skills.into_iter().map(SkillDto::from).collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SkillRunStepDto {
    name: String,
    succeeded: bool,
    error_message: Option<String>,
    /// Nothing to do; counts as succeeded.
    skipped: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SkillRunDto {
    succeeded: bool,
    skill_name: String,
    steps: Vec<SkillRunStepDto>,
    asset: AssetDto,
}

impl From<SkillRunOutcome> for SkillRunDto {
    fn from(outcome: SkillRunOutcome) -> Self {
        SkillRunDto {
            succeeded: outcome.succeeded,
            skill_name: outcome.skill_name,
            steps: outcome
                .steps
                .into_iter()
                .map(|s| SkillRunStepDto {
                    name: s.step_name,
                    succeeded: s.succeeded,
                    error_message: s.error_message,
                    skipped: s.skipped,
                })
                .collect(),
            asset: outcome.asset.into(),
        }
    }
}

/// The body is optional: `{"parameters": {...}}`, or the parameters object itself.
#[utoipa::path(
    post,
    operation_id = "runSkill",
    path = "/api/v1/assets/{id}/skills/{skillName}/run",
    tag = "skills",
    params(
        ("id" = uuid::Uuid, Path, description = "The asset's id"),
        ("skillName" = String, Path, description = "A name from `GET /api/v1/assets/skills`"),
    ),
    request_body(content = Option<Object>, description = "`{\"parameters\": {...}}`, or the parameters object itself"),
    responses((status = OK, body = Data<SkillRunDto>))
)]
pub async fn run(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path((id, skill_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let parameters = optional_json::<Value>(&body)?.map(|value| match value {
        Value::Object(mut object) if object.len() == 1 && object.contains_key("parameters") => {
            object.remove("parameters").unwrap_or(Value::Null)
        }
        other => other,
    });
    let outcome = services
        .skills
        .run(&principal, &id, &skill_name, parameters)
        .await?;
    Ok(data(SkillRunDto::from(outcome)))
}
