use std::time::Duration;

use serde_json::{Map, Value};
use tracing::instrument;

use super::{AssetEvents, AssetService};
use crate::{
    domain::{Permission, Principal, SkillInfo, SkillRunOutcome, TriggerSource},
    error::{Error, Result},
    skills::{RunRequest, Skill, SkillRunner, plan, with_pixel_slot},
};

/// The skills catalog and synchronous runs (`RunSkill`).
#[derive(Clone)]
pub struct SkillService {
    assets: AssetService,
    runner: SkillRunner,
    events: AssetEvents,
    /// How long a run waits for a decoding slot (`TESSERA_DECODE_WAIT_SECONDS`).
    decode_wait: Duration,
}

impl SkillService {
    pub fn new(
        assets: AssetService,
        runner: SkillRunner,
        events: AssetEvents,
        decode_wait: Duration,
    ) -> Self {
        SkillService {
            assets,
            runner,
            events,
            decode_wait,
        }
    }

    pub fn list(&self, principal: &Principal) -> Result<Vec<SkillInfo>> {
        principal.require(Permission::AssetsRead)?;
        Ok(Skill::ALL.into_iter().map(Skill::info).collect())
    }

    /// One skill by its name or an alias.
    pub fn get(&self, principal: &Principal, name: &str) -> Result<SkillInfo> {
        principal.require(Permission::AssetsRead)?;
        Skill::resolve(name)
            .map(Skill::info)
            .ok_or_else(|| Error::SkillNotFound(name.to_string()))
    }

    /// Runs a skill now. The name and parameters are checked before anything
    /// runs; step failures are reported in the outcome, not as an error.
    #[instrument(skip_all, fields(asset_id = %asset_id, skill = %skill_name))]
    pub async fn run(
        &self,
        principal: &Principal,
        asset_id: &str,
        skill_name: &str,
        parameters: Option<Value>,
    ) -> Result<SkillRunOutcome> {
        principal.require(Permission::AssetsUpdate)?;
        let skill = Skill::resolve(skill_name)
            .ok_or_else(|| Error::SkillNotFound(skill_name.to_string()))?;
        let parameters = match parameters {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(Error::SkillParametersInvalid {
                    parameter: "parameters".into(),
                    message: "parameters must be a JSON object".into(),
                });
            }
        };
        let steps = plan(skill, &parameters)?;
        let asset = self.assets.load(asset_id).await?;
        // Waits its turn among the decodes in flight (bounded memory), or is
        // refused with `imaging_busy` once the caller has waited long enough.
        let slot = self.runner.pixel_slot(Some(self.decode_wait)).await?;
        let bytes = self.runner.load_original(&asset).await?;
        let request = RunRequest {
            asset,
            skill,
            steps,
            parameters_json: Value::Object(parameters).to_string(),
            trigger: TriggerSource::Manual,
            job_id: None,
            prepared: None,
        };
        let (execution, asset) = with_pixel_slot(slot, self.runner.run(request, bytes)).await?;
        self.events.changed(&asset);
        let details = self.assets.details(asset).await?;
        Ok(SkillRunOutcome {
            succeeded: execution.succeeded,
            skill_name: execution.skill_name,
            steps: execution.steps,
            asset: details,
        })
    }
}
