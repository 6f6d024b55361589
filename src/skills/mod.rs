//! Skills: named pipelines of steps, validated up front and run against an
//! asset, each run recorded as an execution.

mod catalog;
mod params;
mod runner;
mod workflow;

pub use catalog::Skill;
pub use params::{DEFAULT_THUMBNAIL_SIZE, StepSpec, plan};
pub use runner::{PixelSlot, Prepared, RunRequest, SkillRunner, with_pixel_slot};
pub use workflow::{WorkflowStep, parse_graph, workflow_steps};
