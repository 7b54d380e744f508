//! What validates and still cannot work in the gateway set: a policy pinned to another
//! gateway's ARN never applies to the gateway the set is linked to; an action the schema does
//! not declare is answered with the `<target>___<tool>` names it does.

use std::str::FromStr;

use cedar_policy::{EntityUid, PolicySet, ResourceConstraint, Schema};
use guard::{AGENTCORE_SCHEMA, PolicyFile, Problem, TOOL_SEPARATOR};

/// The entity type of a gateway in the AgentCore schema.
const GATEWAY_TYPE: &str = "AgentCore::Gateway";

/// `file:line: warning: …` for each static gateway policy whose scope names a gateway other
/// than `gateway_arn`: it validates, and never applies to the gateway the set is linked to.
pub fn pinned_elsewhere(files: &[PolicyFile], gateway_arn: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    for file in files.iter().filter(|f| f.name.starts_with("gateway/")) {
        let Ok(set) = PolicySet::from_str(&file.text) else {
            // Loading reports a file that does not parse.
            continue;
        };
        for policy in set.policies() {
            let pinned = match policy.resource_constraint() {
                ResourceConstraint::Eq(uid)
                | ResourceConstraint::In(uid)
                | ResourceConstraint::IsIn(_, uid) => gateway_of(&uid),
                ResourceConstraint::Any | ResourceConstraint::Is(_) => None,
            };
            let Some(pinned) = pinned.filter(|arn| arn != gateway_arn) else {
                continue;
            };
            let id = policy.annotation("id").unwrap_or("(no @id)");
            warnings.push(format!(
                "{}:{}: warning: `{id}` names gateway `{pinned}`, not `{gateway_arn}` (the one \
                 the policies are linked to): it can never apply there; write `resource == \
                 ?resource` to apply it to whichever gateway is configured",
                file.name,
                line_of_id(&file.text, id)
            ));
        }
    }
    warnings
}

fn gateway_of(uid: &EntityUid) -> Option<String> {
    (uid.type_name().to_string() == GATEWAY_TYPE).then(|| uid.id().unescaped().to_owned())
}

/// The line a policy's `@id` is written on (1 when it cannot be found).
fn line_of_id(text: &str, id: &str) -> usize {
    let offset = text
        .find(&format!("@id(\"{id}\")"))
        .or_else(|| text.find(id))
        .unwrap_or(0);
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// The gateway tool actions the AgentCore schema among `files` declares
/// (`restart-service___restart_service`), sorted; empty when it does not parse.
pub fn declared_tools(files: &[PolicyFile]) -> Vec<String> {
    let Some(schema) = files.iter().find(|f| f.name == AGENTCORE_SCHEMA) else {
        return Vec::new();
    };
    let Ok((schema, _)) = Schema::from_cedarschema_str(&schema.text) else {
        return Vec::new();
    };
    let mut tools: Vec<String> = schema
        .actions()
        .map(|a| a.id().unescaped().to_owned())
        .filter(|a| a.contains(TOOL_SEPARATOR))
        .collect();
    tools.sort();
    tools
}

/// `problem`, with the declared tool actions when it is about a gateway action the schema
/// does not declare. Cedar suggests the nearest spelling among every action, which for a
/// misnamed tool is `Mcp` or `CallTool`; the name meant is one of the `<target>___<tool>`
/// actions, first those whose target or tool part is the name written.
pub fn with_declared_tools(problem: &Problem, tools: &[String]) -> String {
    let Some(unknown) = unknown_gateway_action(&problem.message) else {
        return problem.to_string();
    };
    if tools.is_empty() {
        return problem.to_string();
    }
    let plain = |s: &str| s.replace('-', "_");
    let (mut likely, others): (Vec<&String>, Vec<&String>) = tools.iter().partition(|t| {
        t.split(TOOL_SEPARATOR)
            .any(|part| plain(part) == plain(unknown))
    });
    likely.extend(others);
    let listed: Vec<String> = likely
        .iter()
        .map(|t| format!("`AgentCore::Action::\"{t}\"`"))
        .collect();
    let message = problem
        .message
        .split(" (help: did you mean")
        .next()
        .unwrap_or(&problem.message);
    let at = match problem.line {
        Some(line) => format!("{}:{line}", problem.file),
        None => problem.file.clone(),
    };
    format!(
        "{at}: {message} (the schema's tool actions are `<target>{TOOL_SEPARATOR}<tool>`: did you \
         mean {}?)",
        listed.join(", ")
    )
}

/// The id of the `AgentCore::Action` a validation message calls unrecognized.
fn unknown_gateway_action(message: &str) -> Option<&str> {
    let rest = message
        .split("unrecognized action `AgentCore::Action::\"")
        .nth(1)?;
    rest.split('"').next()
}

#[cfg(test)]
mod tests;
