use axum::{
    body::Bytes,
    extract::{Path, State},
    response::IntoResponse,
};
use serde::Serialize;
use serde_json::Value;

use super::{ApiError, Caller, assets::AssetDto, data};
use crate::{
    domain::{SkillInfo, SkillRunOutcome},
    error::Error,
    service::Services,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SkillDto {
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

pub async fn list(
    State(services): State<Services>,
    Caller(principal): Caller,
) -> Result<impl IntoResponse, ApiError> {
    let skills = services.skills.list(&principal)?;
    Ok(data(
        skills.into_iter().map(SkillDto::from).collect::<Vec<_>>(),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunStepDto {
    name: String,
    succeeded: bool,
    error_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunDto {
    succeeded: bool,
    skill_name: String,
    steps: Vec<RunStepDto>,
    asset: AssetDto,
}

impl From<SkillRunOutcome> for RunDto {
    fn from(outcome: SkillRunOutcome) -> Self {
        RunDto {
            succeeded: outcome.succeeded,
            skill_name: outcome.skill_name,
            steps: outcome
                .steps
                .into_iter()
                .map(|s| RunStepDto {
                    name: s.step_name,
                    succeeded: s.succeeded,
                    error_message: s.error_message,
                })
                .collect(),
            asset: outcome.asset.into(),
        }
    }
}

/// The body is optional: `{"parameters": {...}}`, or the parameters object itself.
pub async fn run(
    State(services): State<Services>,
    Caller(principal): Caller,
    Path((id, skill_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let parameters = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| Error::InvalidRequest(format!("invalid JSON body: {e}")))?;
        Some(match value {
            Value::Object(mut object) if object.len() == 1 && object.contains_key("parameters") => {
                object.remove("parameters").unwrap_or(Value::Null)
            }
            other => other,
        })
    };
    let outcome = services
        .skills
        .run(&principal, &id, &skill_name, parameters)
        .await?;
    Ok(data(RunDto::from(outcome)))
}
