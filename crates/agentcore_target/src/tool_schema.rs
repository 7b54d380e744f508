//! The tool schemas registered on gateway targets (`crates/<tool>/tool_schema.json`), and the
//! checks that keep each one true to its parser and to the Cedar schema.

use std::collections::BTreeMap;

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use crate::input;

/// A tool schema: `{"name", "description", "inputSchema"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSchema {
    /// The tool name.
    pub name: String,
    /// What the tool does, for the agent.
    pub description: String,
    /// The arguments.
    #[serde(rename = "inputSchema")]
    pub input_schema: InputSchema,
}

/// The arguments of a tool: an object of typed properties.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSchema {
    /// Always `object`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Each argument.
    pub properties: BTreeMap<String, Property>,
    /// The arguments that must be given.
    #[serde(default)]
    pub required: Vec<String>,
}

/// One argument. Only what a gateway target's schema definition supports: a type and a
/// description (allowed values and ranges are written in the description).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// `string`, `integer`, `number` or `boolean`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What the argument means.
    pub description: String,
}

/// A tool schema file that is not one.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Not JSON of the tool-schema shape.
    #[error("not a tool schema: {0}")]
    Json(#[from] serde_json::Error),
    /// `inputSchema.type` is not `object`.
    #[error("inputSchema.type must be `object`")]
    NotAnObject,
    /// A required argument that is no property.
    #[error("required argument `{0}` is not a property")]
    RequiredUnknown(String),
}

impl ToolSchema {
    /// Reads a tool schema file's text.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let schema: Self = serde_json::from_str(text)?;
        if schema.input_schema.kind != "object" {
            return Err(SchemaError::NotAnObject);
        }
        if let Some(r) = schema
            .input_schema
            .required
            .iter()
            .find(|r| !schema.input_schema.properties.contains_key(*r))
        {
            return Err(SchemaError::RequiredUnknown(r.clone()));
        }
        Ok(schema)
    }

    /// Checks that the parser for `I` accepts exactly what the schema says: `example` (every
    /// property, valid) parses; dropping a property fails exactly when it is required; a
    /// wrongly typed property fails; an unknown property fails. Returns every disagreement.
    pub fn check_parser<I: DeserializeOwned>(&self, example: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let accepts = |v: &Value| input::parse::<I>(v).is_ok();
        let Some(fields) = example.as_object() else {
            return vec!["the example must be an object".to_owned()];
        };
        if !accepts(example) {
            problems.push(format!("the parser rejects the example {example}"));
        }
        // The caller assertion is the interceptor's, declared so the gateway passes it on; the
        // host takes it out before the parser sees the arguments.
        match self.input_schema.properties.get(caller::ASSERTION_FIELD) {
            Some(p) if p.kind == "string" => {}
            _ => problems.push(format!(
                "the schema does not declare `{}` (a string), the caller assertion the \
                 interceptor passes on",
                caller::ASSERTION_FIELD
            )),
        }
        if self
            .input_schema
            .required
            .iter()
            .any(|r| r == caller::ASSERTION_FIELD)
        {
            problems.push(format!("`{}` must be optional", caller::ASSERTION_FIELD));
        }
        let properties = self.arguments();
        for name in properties.keys().filter(|n| !fields.contains_key(*n)) {
            problems.push(format!("the example lacks property `{name}`"));
        }
        for (name, property) in &properties {
            let mut without = fields.clone();
            without.remove(name);
            let required = self.input_schema.required.contains(name);
            if accepts(&Value::Object(without)) == required {
                problems.push(format!(
                    "`{name}` is {} in the schema but {} by the parser",
                    if required { "required" } else { "optional" },
                    if required { "optional" } else { "required" }
                ));
            }
            let mut wrong = fields.clone();
            wrong.insert(name.clone(), wrong_type(&property.kind));
            if accepts(&Value::Object(wrong)) {
                problems.push(format!(
                    "the parser accepts `{name}` of a type other than {}",
                    property.kind
                ));
            }
        }
        let mut unknown = fields.clone();
        unknown.insert("not_an_argument".to_owned(), Value::Bool(true));
        if accepts(&Value::Object(unknown)) {
            problems.push("the parser accepts an unknown argument".to_owned());
        }
        problems
    }

    /// Checks that the Cedar schema declares the same arguments, with the types AgentCore
    /// maps them to, for the gateway action `<target>___<name>` and (when declared) the
    /// resource-check action `Guard::Action::"<name>"`.
    pub fn check_cedar(&self, target: &str, sets: &guard::PolicySets) -> Vec<String> {
        let cedar = |properties: &BTreeMap<String, Property>| -> BTreeMap<String, String> {
            properties
                .iter()
                .map(|(name, p)| (name.clone(), cedar_type(&p.kind).to_owned()))
                .collect()
        };
        // The gateway's policy engine sees the call as the interceptor passes it on, assertion
        // included; the resource check sees the arguments without it.
        let at_gateway = cedar(&self.input_schema.properties);
        let in_tool = cedar(&self.arguments());
        let gateway_action = guard::ToolName::join(target, &self.name);
        let mut problems = Vec::new();
        let mut compare = |action_type: guard::ActionType, action: &str, required: bool| {
            let expected = match action_type {
                guard::ActionType::Call => &at_gateway,
                guard::ActionType::Resource => &in_tool,
            };
            compare_one(
                &mut problems,
                sets,
                (action_type, action),
                expected,
                required,
            );
        };
        compare(guard::ActionType::Call, &gateway_action, true);
        compare(guard::ActionType::Resource, &self.name, false);
        problems
    }

    /// The tool's own arguments: every property but the caller assertion.
    fn arguments(&self) -> BTreeMap<String, Property> {
        let mut properties = self.input_schema.properties.clone();
        properties.remove(caller::ASSERTION_FIELD);
        properties
    }
}

fn compare_one(
    problems: &mut Vec<String>,
    sets: &guard::PolicySets,
    (action_type, action): (guard::ActionType, &str),
    expected: &BTreeMap<String, String>,
    required: bool,
) {
    match sets.declared_arguments(action_type, action) {
        Some(declared) if declared == expected => {}
        Some(declared) => problems.push(format!(
            "{action_type}::\"{action}\" declares {declared:?}, the tool schema {expected:?}"
        )),
        None if required => {
            problems.push(format!(
                "the Cedar schema has no {action_type}::\"{action}\""
            ));
        }
        None => {}
    }
}

/// How AgentCore maps JSON Schema types to Cedar.
fn cedar_type(json_type: &str) -> &'static str {
    match json_type {
        "string" => "String",
        "integer" => "Long",
        "boolean" => "Bool",
        "number" => "decimal",
        _ => "?",
    }
}

fn wrong_type(json_type: &str) -> Value {
    match json_type {
        "string" => Value::from(7),
        _ => Value::from("not the right type"),
    }
}
