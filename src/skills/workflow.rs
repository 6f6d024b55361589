//! A workflow's graph, as NekoHub's editor saves it, read into the ordered
//! skills it runs. Edges and layout are the editor's: execution follows the
//! order of `nodes`.

use serde_json::{Map, Value};

use super::{Skill, StepSpec, params::plan_known};
use crate::error::{Error, Result};

/// One node of the pipeline: the skill it names and the parameters it gives.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkflowStep {
    /// The id as the node names it (`ai-caption`, `thumbnail`, ...).
    pub skill_id: String,
    pub skill: Skill,
    /// As the node gives them (recorded with the execution); `None` when it gives none.
    pub parameters: Option<Map<String, Value>>,
    /// The validated steps, with the parameters the skill takes.
    pub steps: Vec<StepSpec>,
}

impl WorkflowStep {
    /// The parameters as recorded on the execution.
    pub fn parameters_json(&self) -> String {
        self.parameters.as_ref().map_or_else(
            || "{}".to_string(),
            |p| Value::Object(p.clone()).to_string(),
        )
    }
}

/// Reads the nodes in order. A node's skill is `data.skillId` (trimmed),
/// else its `type`; nodes with neither are skipped. Its parameters are
/// `data.parameters` when that is an object, else the rest of `data`.
/// Unknown skills and invalid parameter values are refused here, before a
/// workflow is saved, rather than when it runs.
pub fn parse_graph(graph_json: &str) -> Result<Vec<WorkflowStep>> {
    let Ok(Value::Object(root)) = serde_json::from_str::<Value>(graph_json) else {
        return Err(Error::WorkflowGraphJsonInvalid);
    };
    let nodes = root
        .get("nodes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut named = Vec::new();
    for node in nodes.iter().filter_map(Value::as_object) {
        let data = node.get("data").and_then(Value::as_object);
        let from_data = data
            .and_then(|d| d.get("skillId"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let from_type = node
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty());
        let Some(skill_id) = from_data.or(from_type) else {
            continue;
        };
        let parameters = data.and_then(|d| match d.get("parameters") {
            Some(Value::Object(parameters)) => Some(parameters.clone()),
            _ => {
                let mut rest = d.clone();
                rest.remove("skillId");
                (!rest.is_empty()).then_some(rest)
            }
        });
        named.push((skill_id.to_string(), parameters));
    }
    workflow_steps(named)
}

/// The steps of nodes given as (skill id, parameters): every skill must be
/// known and every parameter value valid.
pub fn workflow_steps(
    named: Vec<(String, Option<Map<String, Value>>)>,
) -> Result<Vec<WorkflowStep>> {
    let unsupported: Vec<&str> = named
        .iter()
        .filter(|(id, _)| Skill::resolve(id).is_none())
        .map(|(id, _)| id.as_str())
        .collect();
    if !unsupported.is_empty() {
        return Err(Error::WorkflowUnsupportedSkills(unsupported.join(", ")));
    }
    named
        .into_iter()
        .filter_map(|(skill_id, parameters)| {
            let skill = Skill::resolve(&skill_id)?;
            Some((skill_id, skill, parameters))
        })
        .map(|(skill_id, skill, parameters)| {
            let steps = plan_known(skill, parameters.as_ref().unwrap_or(&Map::new()))?;
            Ok(WorkflowStep {
                skill_id,
                skill,
                parameters,
                steps,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(graph: Value) -> Vec<String> {
        parse_graph(&graph.to_string())
            .unwrap()
            .into_iter()
            .map(|step| step.skill_id)
            .collect()
    }

    #[test]
    fn nodes_run_in_order_and_skill_id_beats_type() {
        let graph = json!({ "nodes": [
            { "type": "thumbnail" },
            { "type": "visual-node", "data": { "skillId": " ai-caption " } },
            { "type": "basic_image_enrich" },
            { "id": "n4" },
            { "data": { "label": "no skill" } }
        ], "edges": [{ "source": "n3", "target": "n1" }] });
        assert_eq!(
            ids(graph),
            ["thumbnail", "ai-caption", "basic_image_enrich"]
        );
        assert!(ids(json!({})).is_empty());
        assert!(ids(json!({ "nodes": "none" })).is_empty());
    }

    #[test]
    fn parameters_come_from_the_node() {
        let graph = json!({ "nodes": [
            { "type": "thumbnail", "data": { "parameters": { "size": 128, "format": "png" } } },
            { "type": "ai-caption", "data": { "prompt": "short caption", "temperature": 0.2 } },
            { "type": "format-convert", "data": { "skillId": "format-convert", "TargetFormat": "png", "label": "To PNG" } }
        ]});
        let steps = parse_graph(&graph.to_string()).unwrap();
        assert_eq!(
            steps[0].parameters.as_ref().unwrap()["format"],
            json!("png")
        );
        assert_eq!(steps[0].steps, [StepSpec::GenerateThumbnail { size: 128 }]);
        let caption = steps[1].parameters.as_ref().unwrap();
        assert_eq!(
            (&caption["prompt"], &caption["temperature"]),
            (&json!("short caption"), &json!(0.2))
        );
        assert!(!steps[2].parameters_json().contains("skillId"));
        assert!(matches!(steps[2].steps[0], StepSpec::ConvertFormat { .. }));
    }

    #[test]
    fn bad_graphs_are_refused() {
        for bad in ["{ invalid-json", "[]", "\"text\"", "null"] {
            assert!(
                matches!(parse_graph(bad), Err(Error::WorkflowGraphJsonInvalid)),
                "{bad}"
            );
        }
        let unknown = json!({ "nodes": [{ "type": "resize" }, { "type": "thumbnail" }, { "type": "upscale" }] });
        match parse_graph(&unknown.to_string()) {
            Err(Error::WorkflowUnsupportedSkills(ids)) => assert_eq!(ids, "resize, upscale"),
            other => panic!("{other:?}"),
        }
        let bad_size =
            json!({ "nodes": [{ "type": "thumbnail", "data": { "parameters": { "size": 0 } } }] });
        assert!(matches!(
            parse_graph(&bad_size.to_string()),
            Err(Error::SkillParametersInvalid { .. })
        ));
    }
}
