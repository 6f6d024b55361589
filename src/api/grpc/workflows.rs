use tonic::{Request, Response, Status};

use super::{
    Authenticated,
    proto::{
        self, CreateWorkflowRequest, CreateWorkflowResponse, DeleteWorkflowRequest,
        DeleteWorkflowResponse, GetWorkflowRequest, GetWorkflowResponse, ListWorkflowsRequest,
        ListWorkflowsResponse, ReplaceWorkflowRequest, ReplaceWorkflowResponse, RunWorkflowRequest,
        RunWorkflowResponse, SetAutoRunWorkflowRequest, SetAutoRunWorkflowResponse,
        workflow_service_server::WorkflowService,
    },
    timestamp,
};
use crate::{
    domain::{Workflow, WorkflowInput},
    service::Services,
};

/// `tessera.v1.WorkflowService` over the shared services.
pub struct WorkflowsGrpc {
    services: Services,
}

impl WorkflowsGrpc {
    pub fn new(services: Services) -> Self {
        WorkflowsGrpc { services }
    }
}

fn to_proto(w: Workflow) -> proto::Workflow {
    proto::Workflow {
        id: w.id,
        name: w.name,
        description: w.description,
        is_auto_run: w.is_auto_run,
        graph_json: w.graph_json,
        created_at_utc: Some(timestamp(w.created_at)),
        updated_at_utc: Some(timestamp(w.updated_at)),
    }
}

/// Proto3 strings cannot be absent: an empty one is absent, as REST's `null`.
fn input(
    name: String,
    description: Option<String>,
    is_auto_run: bool,
    graph_json: String,
) -> WorkflowInput {
    WorkflowInput {
        name: Some(name),
        description,
        is_auto_run: Some(is_auto_run),
        graph_json: Some(graph_json),
    }
}

#[tonic::async_trait]
impl WorkflowService for WorkflowsGrpc {
    async fn list_workflows(
        &self,
        request: Request<ListWorkflowsRequest>,
    ) -> Result<Response<ListWorkflowsResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let workflows = self
            .services
            .workflows
            .list(&call.principal)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ListWorkflowsResponse {
            workflows: workflows.into_iter().map(to_proto).collect(),
        }))
    }

    async fn get_workflow(
        &self,
        request: Request<GetWorkflowRequest>,
    ) -> Result<Response<GetWorkflowResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let workflow = self
            .services
            .workflows
            .get(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(GetWorkflowResponse {
            workflow: Some(to_proto(workflow)),
        }))
    }

    async fn create_workflow(
        &self,
        request: Request<CreateWorkflowRequest>,
    ) -> Result<Response<CreateWorkflowResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let workflow = self
            .services
            .workflows
            .create(
                &call.principal,
                input(
                    body.name,
                    body.description,
                    body.is_auto_run,
                    body.graph_json,
                ),
            )
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(CreateWorkflowResponse {
            workflow: Some(to_proto(workflow)),
        }))
    }

    async fn replace_workflow(
        &self,
        request: Request<ReplaceWorkflowRequest>,
    ) -> Result<Response<ReplaceWorkflowResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let workflow = self
            .services
            .workflows
            .replace(
                &call.principal,
                &body.id,
                input(
                    body.name,
                    body.description,
                    body.is_auto_run,
                    body.graph_json,
                ),
            )
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(ReplaceWorkflowResponse {
            workflow: Some(to_proto(workflow)),
        }))
    }

    async fn delete_workflow(
        &self,
        request: Request<DeleteWorkflowRequest>,
    ) -> Result<Response<DeleteWorkflowResponse>, Status> {
        let call = Authenticated::of(&request)?;
        self.services
            .workflows
            .delete(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(DeleteWorkflowResponse {}))
    }

    async fn set_auto_run_workflow(
        &self,
        request: Request<SetAutoRunWorkflowRequest>,
    ) -> Result<Response<SetAutoRunWorkflowResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let workflow = self
            .services
            .workflows
            .set_auto_run(&call.principal, &request.into_inner().id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(SetAutoRunWorkflowResponse {
            workflow: Some(to_proto(workflow)),
        }))
    }

    async fn run_workflow(
        &self,
        request: Request<RunWorkflowRequest>,
    ) -> Result<Response<RunWorkflowResponse>, Status> {
        let call = Authenticated::of(&request)?;
        let body = request.into_inner();
        let run = self
            .services
            .workflows
            .run(&call.principal, &body.asset_id, &body.workflow_id)
            .await
            .map_err(|e| call.fail(e))?;
        Ok(Response::new(RunWorkflowResponse {
            asset_id: run.asset_id,
            workflow_id: run.workflow_id,
            skill_ids: run.skill_ids,
        }))
    }
}
