use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What started a skill run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerSource {
    Upload,
    Manual,
}

impl TriggerSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerSource::Upload => "upload",
            TriggerSource::Manual => "manual",
        }
    }

    pub fn parse(value: &str) -> TriggerSource {
        if value == "upload" {
            TriggerSource::Upload
        } else {
            TriggerSource::Manual
        }
    }
}

/// One step of a run. Every step runs even when an earlier one failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    pub step_name: String,
    pub succeeded: bool,
    /// Never contains secrets.
    pub error_message: Option<String>,
    /// Nothing to do (an optional step whose service is not configured):
    /// counts as succeeded, so clients that only read `succeeded` see success.
    pub skipped: bool,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// A recorded run of a skill on an asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillExecution {
    pub execution_id: Uuid,
    pub skill_name: String,
    pub trigger_source: TriggerSource,
    pub parameters_json: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub succeeded: bool,
    pub steps: Vec<StepOutcome>,
}

/// A skill as the catalog lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillInfo {
    pub skill_name: &'static str,
    pub description: &'static str,
    pub steps: Vec<&'static str>,
}

/// What a synchronous run returns.
#[derive(Clone, Debug)]
pub struct SkillRunOutcome {
    pub succeeded: bool,
    pub skill_name: String,
    pub steps: Vec<StepOutcome>,
    pub asset: super::AssetDetails,
}
