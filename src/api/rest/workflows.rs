//! `/api/v1/system/workflows` and `POST /api/v1/assets/{id}/workflows/{workflowId}/run`.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, Authenticated, Data, IdPath, JsonBody, Path, accepted, created, data, utc};
use crate::{
    domain::{Workflow, WorkflowInput, WorkflowRun},
    service::Services,
};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct WorkflowDto {
    id: String,
    name: String,
    description: Option<String>,
    /// Runs on upload (with `runEnrichment`) instead of the built-in enrichment.
    is_auto_run: bool,
    /// The graph as saved, byte for byte (a JSON object, as a string).
    graph_json: String,
    created_at_utc: String,
    updated_at_utc: String,
}

impl From<Workflow> for WorkflowDto {
    fn from(w: Workflow) -> Self {
        WorkflowDto {
            id: w.id,
            name: w.name,
            description: w.description,
            is_auto_run: w.is_auto_run,
            graph_json: w.graph_json,
            created_at_utc: utc(w.created_at),
            updated_at_utc: utc(w.updated_at),
        }
    }
}

/// A create, or a full replace (absent fields become empty, `isAutoRun` false).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    is_auto_run: Option<bool>,
    /// A JSON object as a string: `{"nodes": [{"type": "thumbnail"},
    /// {"data": {"skillId": "ai-caption", "parameters": {...}}}], ...}`.
    #[serde(default)]
    graph_json: Option<String>,
}

impl From<WorkflowBody> for WorkflowInput {
    fn from(body: WorkflowBody) -> Self {
        WorkflowInput {
            name: body.name,
            description: body.description,
            is_auto_run: body.is_auto_run,
            graph_json: body.graph_json,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct WorkflowRunDto {
    asset_id: String,
    workflow_id: String,
    /// The nodes' skill ids as the graph names them, in run order.
    skill_ids: Vec<String>,
}

impl From<WorkflowRun> for WorkflowRunDto {
    fn from(run: WorkflowRun) -> Self {
        WorkflowRunDto {
            asset_id: run.asset_id,
            workflow_id: run.workflow_id,
            skill_ids: run.skill_ids,
        }
    }
}

/// The asset and the workflow of a run.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct RunPath {
    /// The asset's id.
    #[param(value_type = uuid::Uuid)]
    id: String,
    workflow_id: String,
}

#[utoipa::path(
    get,
    operation_id = "listWorkflows",
    path = "/api/v1/system/workflows",
    tag = "workflows",
    responses((status = OK, body = Data<Vec<WorkflowDto>>))
)]
pub async fn list(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let workflows = services.workflows.list(&principal).await?;
    Ok(data(
        workflows
            .into_iter()
            .map(WorkflowDto::from)
            .collect::<Vec<_>>(),
    ))
}

#[utoipa::path(
    post,
    operation_id = "createWorkflow",
    path = "/api/v1/system/workflows",
    tag = "workflows",
    request_body = WorkflowBody,
    responses((status = CREATED, body = Data<WorkflowDto>, headers(("Location" = String))))
)]
pub async fn create(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    JsonBody(body): JsonBody<WorkflowBody>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = services.workflows.create(&principal, body.into()).await?;
    Ok(created(
        format!("/api/v1/system/workflows/{}", workflow.id),
        WorkflowDto::from(workflow),
    ))
}

#[utoipa::path(
    get,
    operation_id = "getWorkflow",
    path = "/api/v1/system/workflows/{id}",
    tag = "workflows",
    params(IdPath),
    responses((status = OK, body = Data<WorkflowDto>))
)]
pub async fn get(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = services.workflows.get(&principal, &id).await?;
    Ok(data(WorkflowDto::from(workflow)))
}

#[utoipa::path(
    put,
    operation_id = "replaceWorkflow",
    path = "/api/v1/system/workflows/{id}",
    tag = "workflows",
    params(IdPath),
    request_body = WorkflowBody,
    responses((status = OK, body = Data<WorkflowDto>))
)]
pub async fn replace(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
    JsonBody(body): JsonBody<WorkflowBody>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = services
        .workflows
        .replace(&principal, &id, body.into())
        .await?;
    Ok(data(WorkflowDto::from(workflow)))
}

#[utoipa::path(
    delete,
    operation_id = "deleteWorkflow",
    path = "/api/v1/system/workflows/{id}",
    tag = "workflows",
    params(IdPath),
    responses((status = NO_CONTENT, description = "The workflow is deleted"))
)]
pub async fn delete(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    services.workflows.delete(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch,
    operation_id = "setAutoRunWorkflow",
    path = "/api/v1/system/workflows/{id}/autorun",
    tag = "workflows",
    params(IdPath),
    responses((status = OK, body = Data<WorkflowDto>))
)]
pub async fn set_auto_run(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(IdPath { id }): Path<IdPath>,
) -> Result<impl IntoResponse, ApiError> {
    let workflow = services.workflows.set_auto_run(&principal, &id).await?;
    Ok(data(WorkflowDto::from(workflow)))
}

#[utoipa::path(
    post,
    operation_id = "runWorkflow",
    path = "/api/v1/assets/{id}/workflows/{workflowId}/run",
    tag = "workflows",
    params(RunPath),
    responses((status = ACCEPTED, description = "Queued; the skills run in the background", body = Data<WorkflowRunDto>, headers(("Location" = String))))
)]
pub async fn run(
    State(services): State<Services>,
    Authenticated(principal): Authenticated,
    Path(RunPath { id, workflow_id }): Path<RunPath>,
) -> Result<impl IntoResponse, ApiError> {
    let run = services
        .workflows
        .run(&principal, &id, &workflow_id)
        .await?;
    let asset_id = run.asset_id.clone();
    Ok(accepted(&asset_id, WorkflowRunDto::from(run)))
}
