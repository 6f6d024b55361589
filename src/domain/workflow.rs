//! Workflows: NekoHub's workflow profiles, a graph of skill nodes that runs
//! as an ordered pipeline on an asset.

use chrono::{DateTime, Utc};

/// A saved workflow. `graph_json` is kept exactly as the client sent it
/// (trimmed), since editors store their own layout in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Runs on upload (with `runEnrichment`) instead of the built-in
    /// enrichment; at most one workflow is.
    pub is_auto_run: bool,
    pub graph_json: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A create or a full replace: what is absent is empty (`is_auto_run` false).
#[derive(Clone, Debug, Default)]
pub struct WorkflowInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_auto_run: Option<bool>,
    pub graph_json: Option<String>,
}

/// A queued run of a workflow on an asset.
#[derive(Clone, Debug)]
pub struct WorkflowRun {
    pub asset_id: String,
    pub workflow_id: String,
    /// The nodes' skill ids as the graph names them, in order.
    pub skill_ids: Vec<String>,
}
