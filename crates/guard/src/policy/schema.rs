//! The schema files: the AgentCore part alone (the gateway set is validated against it), the
//! whole schema, and each action's declared arguments.

use std::{collections::HashMap, str::FromStr};

use cedar_policy::{EntityUid, Schema, SchemaFragment};

use crate::value::uid_string;

use super::{AGENTCORE_SCHEMA, PolicySources, SCHEMA_DIR, problem::Problem};

pub(crate) fn load_schema(
    sources: &PolicySources,
    problems: &mut Vec<Problem>,
) -> (
    Option<Schema>,
    Option<Schema>,
    HashMap<EntityUid, Arguments>,
) {
    let mut agentcore = None;
    let mut fragments = Vec::new();
    let mut arguments = HashMap::new();
    for file in sources.under(SCHEMA_DIR) {
        match SchemaFragment::from_cedarschema_str(&file.text) {
            Ok((fragment, warnings)) => {
                for w in warnings {
                    problems.extend(Problem::from_diagnostic(file, &w));
                }
                if file.name == AGENTCORE_SCHEMA {
                    agentcore = Some(fragment.clone());
                }
                if let Ok(json) = fragment.clone().to_json_value() {
                    arguments.extend(declared_arguments(&json));
                }
                fragments.push(fragment);
            }
            Err(e) => problems.extend(Problem::from_diagnostic(file, &e)),
        }
    }
    let Some(agentcore) = agentcore else {
        if !problems.iter().any(|p| p.file == AGENTCORE_SCHEMA) {
            problems.push(Problem::file(
                AGENTCORE_SCHEMA,
                "missing: the gateway policies are validated against it",
            ));
        }
        return (None, None, arguments);
    };
    let agentcore = Schema::from_schema_fragments([agentcore])
        .map_err(|e| problems.push(Problem::file(AGENTCORE_SCHEMA, e.to_string())))
        .ok();
    let full = Schema::from_schema_fragments(fragments)
        .map_err(|e| problems.push(Problem::file(SCHEMA_DIR, format!("combined schema: {e}"))))
        .ok();
    (agentcore, full, arguments)
}

/// The schema from the JSON fragments build.rs made of the embedded schema files (Cedar's
/// JSON schema form parses several times faster than its schema text).
pub(crate) fn load_schema_json(
    fragments: &[(&str, &str)],
    problems: &mut Vec<Problem>,
) -> (Option<Schema>, HashMap<EntityUid, Arguments>) {
    let mut parsed = Vec::with_capacity(fragments.len());
    let mut arguments = HashMap::new();
    for (name, json) in fragments {
        let fragment = serde_json::from_str::<serde_json::Value>(json)
            .map_err(|e| e.to_string())
            .and_then(|value| {
                arguments.extend(declared_arguments(&value));
                SchemaFragment::from_json_value(value).map_err(|e| e.to_string())
            });
        match fragment {
            Ok(fragment) => parsed.push(fragment),
            Err(e) => problems.push(Problem::file(*name, e)),
        }
    }
    let schema = Schema::from_schema_fragments(parsed)
        .map_err(|e| problems.push(Problem::file(SCHEMA_DIR, format!("combined schema: {e}"))))
        .ok();
    (schema, arguments)
}

/// The `context.input` arguments an action declares: name → Cedar type.
pub type Arguments = std::collections::BTreeMap<String, String>;

/// Reads each action's `context.input` attributes from a schema fragment in JSON form.
fn declared_arguments(fragment: &serde_json::Value) -> HashMap<EntityUid, Arguments> {
    let mut found = HashMap::new();
    let Some(namespaces) = fragment.as_object() else {
        return found;
    };
    for (namespace, body) in namespaces {
        let Some(actions) = body.get("actions").and_then(|a| a.as_object()) else {
            continue;
        };
        for (name, action) in actions {
            let attributes = action
                .pointer("/appliesTo/context/attributes/input/attributes")
                .and_then(|a| a.as_object());
            let (Some(attributes), Ok(uid)) = (
                attributes,
                EntityUid::from_str(&uid_string(&format!("{namespace}::Action"), name)),
            ) else {
                continue;
            };
            let types = attributes
                .iter()
                .map(|(arg, ty)| {
                    let name = ty
                        .get("name")
                        .or_else(|| ty.get("type"))
                        .and_then(|t| t.as_str())
                        .unwrap_or("?");
                    (arg.clone(), name.to_owned())
                })
                .collect();
            found.insert(uid, types);
        }
    }
    found
}
