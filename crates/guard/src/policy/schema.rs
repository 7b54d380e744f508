//! The schema files: the AgentCore part alone (the gateway set is validated against it), the
//! whole schema, and each action's declared arguments.

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
};

use cedar_policy::{EntityUid, Schema, SchemaFragment};

use crate::value::uid_string;

use super::{AGENTCORE_SCHEMA, PolicySources, SCHEMA_DIR, problem::Problem};

pub(crate) fn load_schema(
    sources: &PolicySources,
    problems: &mut Vec<Problem>,
) -> (Option<Schema>, Option<Schema>, Declared) {
    let mut agentcore = None;
    let mut fragments = Vec::new();
    let mut arguments = Declared::default();
    for file in sources.under(SCHEMA_DIR) {
        match SchemaFragment::from_cedarschema_str(&file.text) {
            Ok((fragment, warnings)) => {
                for w in warnings {
                    problems.extend(Problem::from_diagnostic(file, &w));
                }
                if file.name == AGENTCORE_SCHEMA {
                    agentcore = Some(fragment.clone());
                }
                match fragment.clone().to_json_value() {
                    Ok(json) => arguments.read(&json),
                    // Which types are enumerated is then unknown: see `Declared::enums`.
                    Err(_) => arguments.enums = None,
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
) -> (Option<Schema>, Declared) {
    let mut parsed = Vec::with_capacity(fragments.len());
    let mut arguments = Declared::default();
    for (name, json) in fragments {
        let fragment = serde_json::from_str::<serde_json::Value>(json)
            .map_err(|e| e.to_string())
            .and_then(|value| {
                arguments.read(&value);
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

/// What the guard reads from the schema's JSON form besides the schema itself.
#[derive(Debug)]
pub(crate) struct Declared {
    /// Each action's declared `context.input` arguments.
    pub arguments: HashMap<EntityUid, Arguments>,
    /// The enumerated entity types (`entity T enum [...]`), by name: a request naming one is
    /// valid or not by its entity's id, not only by its type. `None` when a fragment could not
    /// be read as JSON, so that any type may be one.
    pub enums: Option<HashSet<String>>,
}

impl Default for Declared {
    fn default() -> Self {
        Self {
            arguments: HashMap::new(),
            enums: Some(HashSet::new()),
        }
    }
}

impl Declared {
    fn read(&mut self, fragment: &serde_json::Value) {
        self.arguments.extend(declared_arguments(fragment));
        if let Some(enums) = &mut self.enums {
            enums.extend(declared_enums(fragment));
        }
    }
}

/// The enumerated entity types of a schema fragment in JSON form, by qualified name.
fn declared_enums(fragment: &serde_json::Value) -> Vec<String> {
    let Some(namespaces) = fragment.as_object() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (namespace, body) in namespaces {
        let Some(types) = body.get("entityTypes").and_then(|t| t.as_object()) else {
            continue;
        };
        for (name, declaration) in types {
            if declaration.get("enum").is_some() {
                found.push(if namespace.is_empty() {
                    name.clone()
                } else {
                    format!("{namespace}::{name}")
                });
            }
        }
    }
    found
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerated_entity_types_are_found_by_qualified_name() {
        let json = SchemaFragment::from_cedarschema_str(
            "entity Color enum [\"red\", \"blue\"]; entity User;\n\
             namespace Ops { entity Stage enum [\"dev\"]; entity Service; }",
        )
        .map_err(|e| e.to_string())
        .and_then(|(fragment, _)| fragment.to_json_value().map_err(|e| e.to_string()));
        let Ok(json) = json else {
            panic!("the test schema parses: {json:?}");
        };
        let mut found = declared_enums(&json);
        found.sort();
        assert_eq!(found, ["Color", "Ops::Stage"]);
    }
}
