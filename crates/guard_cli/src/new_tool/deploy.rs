//! The deploy fragments that depend on more than names: the gateway policy as `guard render`
//! prints it, and the tool schema in the form a gateway target's inline payload takes.

use std::{path::Path, sync::Arc};

use guard::{EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, NoAudit, render_statements};
use serde_json::Value;

use super::{Names, NewToolError, Planned, planned_sources, templates};

/// The tool's gateway policy as `guard render` prints it, the gateway written as
/// `${GatewayArn}` for the template's `!Sub`.
pub(super) fn statement(
    root: &Path,
    names: &Names,
    edited: &[Planned],
    created: &[Planned],
) -> Result<String, NewToolError> {
    let sources = planned_sources(root, created, edited)?;
    let config = GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let guard = Guard::new(&sources, &config, Arc::new(NoAudit));
    let invalid = |problems: Vec<String>| NewToolError::Invalid {
        tool: names.tool.clone(),
        problems,
    };
    let linked = guard
        .gateway_set()
        .map_err(|e| invalid(vec![e.to_string()]))?;
    let rendered = render_statements(linked).map_err(|e| invalid(vec![e.to_string()]))?;
    let id = format!("allow_{}_staging_dev", names.tool);
    rendered
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.statement.replace(EXAMPLE_GATEWAY_ARN, "${GatewayArn}"))
        .ok_or_else(|| invalid(vec![format!("no gateway policy `{id}` was rendered")]))
}

/// `crates/<tool>/deploy/targets.yaml`: the gateway target with the inline tool schema, and
/// the gateway policy.
pub(super) fn targets_fragment(names: &Names, tool_schema: &str, statement: &str) -> String {
    let logical = format!("Allow{}StagingDevPolicy", names.camel);
    templates::render(templates::TARGETS, names)
        .replace("%PolicyLogical%", &logical)
        .replace("%inline_schema%", &inline_schema(tool_schema))
        .replace("%statement%", &indented(statement, 12))
}

/// The tool schema as `InlinePayload` YAML, indented for the fragment. Strings are written as
/// JSON strings, which YAML reads as double-quoted scalars.
fn inline_schema(tool_schema: &str) -> String {
    let schema: Value = serde_json::from_str(tool_schema).unwrap_or_default();
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or_default();
    let text = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let input = field(&schema, "inputSchema");
    let mut lines = vec![
        format!(
            "- Name: {}",
            field(&schema, "name").as_str().unwrap_or_default()
        ),
        format!("  Description: {}", text(&field(&schema, "description"))),
        "  InputSchema:".to_owned(),
        "    Type: object".to_owned(),
        "    Properties:".to_owned(),
    ];
    if let Some(properties) = input.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let kind = field(property, "type");
            lines.push(format!("      {name}:"));
            lines.push(format!(
                "        Type: {}",
                kind.as_str().unwrap_or_default()
            ));
            lines.push(format!(
                "        Description: {}",
                text(&field(property, "description"))
            ));
        }
    }
    if let Some(required) = input.get("required").and_then(Value::as_array) {
        let required: Vec<&str> = required.iter().filter_map(Value::as_str).collect();
        lines.push(format!("    Required: [{}]", required.join(", ")));
    }
    indented(&lines.join("\n"), 16)
}

fn indented(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
