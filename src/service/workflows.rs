//! Workflows (NekoHub's workflow profiles): saved graphs of skills, checked
//! when saved, run on an asset as a durable background job, and at most one
//! run on upload instead of the built-in enrichment.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::instrument;
use uuid::Uuid;

use super::AssetService;
use crate::{
    db::{Db, NewJob},
    domain::{Permission, Principal, Workflow, WorkflowInput, WorkflowRun, now},
    error::{Error, Result},
    jobs::{JobSignal, RUN_WORKFLOW, RetryPolicy},
    skills::parse_graph,
};

const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 1000;

/// What a `run_workflow` job carries: the workflow's skills as they were
/// when the run was asked for, so a later edit does not change it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunWorkflowPayload {
    pub asset_id: Uuid,
    pub workflow_id: String,
    pub nodes: Vec<QueuedNode>,
    #[serde(default)]
    pub trace_id: Option<String>,
}

/// One node of a queued run: the skill id and the parameters it gives.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedNode {
    pub skill_id: String,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

#[derive(Clone)]
pub struct WorkflowService {
    db: Db,
    assets: AssetService,
    jobs: JobSignal,
}

impl WorkflowService {
    pub fn new(db: Db, assets: AssetService, jobs: JobSignal) -> Self {
        WorkflowService { db, assets, jobs }
    }

    /// The auto-run workflow first, then by name.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<Workflow>> {
        principal.require(Permission::SettingsRead)?;
        self.db.list_workflows().await
    }

    pub async fn get(&self, principal: &Principal, id: &str) -> Result<Workflow> {
        principal.require(Permission::SettingsRead)?;
        self.load(id).await
    }

    async fn load(&self, id: &str) -> Result<Workflow> {
        self.db
            .workflow(id.trim())
            .await?
            .ok_or_else(|| Error::WorkflowNotFound(id.to_string()))
    }

    #[instrument(skip_all)]
    pub async fn create(&self, principal: &Principal, input: WorkflowInput) -> Result<Workflow> {
        principal.require(Permission::SettingsUpdate)?;
        let at = now();
        let workflow = self
            .checked(Uuid::now_v7().to_string(), input, at, at)
            .await?;
        self.db.save_workflow(&workflow).await?;
        Ok(workflow)
    }

    /// A full replace: what is absent becomes empty (`isAutoRun` false). A
    /// refused replace changes nothing.
    #[instrument(skip_all, fields(id = %id))]
    pub async fn replace(
        &self,
        principal: &Principal,
        id: &str,
        input: WorkflowInput,
    ) -> Result<Workflow> {
        principal.require(Permission::SettingsUpdate)?;
        let current = self.load(id).await?;
        let workflow = self
            .checked(current.id, input, current.created_at, now())
            .await?;
        self.db.save_workflow(&workflow).await?;
        Ok(workflow)
    }

    /// Makes this the workflow that runs on upload (and no other).
    pub async fn set_auto_run(&self, principal: &Principal, id: &str) -> Result<Workflow> {
        principal.require(Permission::SettingsUpdate)?;
        let mut workflow = self.load(id).await?;
        workflow.is_auto_run = true;
        workflow.updated_at = now();
        self.db.save_workflow(&workflow).await?;
        Ok(workflow)
    }

    pub async fn delete(&self, principal: &Principal, id: &str) -> Result<()> {
        principal.require(Permission::SettingsUpdate)?;
        if self.db.delete_workflow(id.trim()).await? {
            Ok(())
        } else {
            Err(Error::WorkflowNotFound(id.to_string()))
        }
    }

    /// Queues the workflow's skills on the asset, in node order (trigger
    /// `manual`); they run in the background and survive a restart.
    #[instrument(skip_all, fields(asset_id = %asset_id, workflow_id = %workflow_id))]
    pub async fn run(
        &self,
        principal: &Principal,
        asset_id: &str,
        workflow_id: &str,
    ) -> Result<WorkflowRun> {
        principal.require(Permission::AssetsUpdate)?;
        let asset = self.assets.load(asset_id).await?;
        let workflow = self.load(workflow_id).await?;
        let steps = parse_graph(&workflow.graph_json)?;
        if steps.is_empty() {
            return Err(Error::WorkflowHasNoSkills);
        }
        let payload = RunWorkflowPayload {
            asset_id: asset.id,
            workflow_id: workflow.id.clone(),
            nodes: steps
                .iter()
                .map(|step| QueuedNode {
                    skill_id: step.skill_id.clone(),
                    parameters: step.parameters.clone(),
                })
                .collect(),
            trace_id: crate::telemetry::current_trace_id(),
        };
        let payload_json =
            serde_json::to_string(&payload).map_err(|e| Error::internal("workflow job", e))?;
        self.db
            .enqueue_job(&NewJob {
                kind: RUN_WORKFLOW.into(),
                asset_id: Some(asset.id.to_string()),
                payload_json,
                max_attempts: RetryPolicy::default().max_attempts,
            })
            .await?;
        self.jobs.wake();
        Ok(WorkflowRun {
            asset_id: asset.id.to_string(),
            workflow_id: workflow.id,
            skill_ids: steps.into_iter().map(|step| step.skill_id).collect(),
        })
    }

    /// Checks a workflow in NekoHub's order, and its graph (known skills,
    /// valid parameter values) before anything is written.
    async fn checked(
        &self,
        id: String,
        input: WorkflowInput,
        created_at: chrono::DateTime<chrono::Utc>,
        updated_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Workflow> {
        let name = input.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Err(Error::WorkflowNameRequired);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::WorkflowNameTooLong);
        }
        let description = input
            .description
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(Error::WorkflowDescriptionTooLong);
        }
        let graph_json = input
            .graph_json
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .ok_or(Error::WorkflowGraphJsonRequired)?;
        parse_graph(&graph_json)?;
        if self.db.workflow_name_taken(name, &id).await? {
            return Err(Error::WorkflowNameConflict(name.to_string()));
        }
        Ok(Workflow {
            id,
            name: name.to_string(),
            description,
            is_auto_run: input.is_auto_run.unwrap_or(false),
            graph_json,
            created_at,
            updated_at,
        })
    }
}
