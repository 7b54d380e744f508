//! The templates `guard new-tool` fills in (`crates/guard_cli/templates/new_tool/`), and the
//! one way they are filled: `%tool%`, `%target%`, `%Tool%`, `%Verb%` and `%Resource%`.

use super::Names;

/// Each new file: its path under the workspace root, and its template.
pub(super) const NEW_FILES: &[(&str, &str)] = &[
    (
        "crates/%tool%/Cargo.toml",
        include_str!("../../templates/new_tool/crate/Cargo.toml.tmpl"),
    ),
    (
        "crates/%tool%/src/lib.rs",
        include_str!("../../templates/new_tool/crate/src/lib.rs.tmpl"),
    ),
    (
        "crates/%tool%/src/main.rs",
        include_str!("../../templates/new_tool/crate/src/main.rs.tmpl"),
    ),
    (
        "crates/%tool%/tests/handler.rs",
        include_str!("../../templates/new_tool/crate/tests/handler.rs.tmpl"),
    ),
    (
        "crates/%tool%/tool_schema.json",
        include_str!("../../templates/new_tool/crate/tool_schema.json.tmpl"),
    ),
    (
        "crates/%tool%/deploy/template.yaml",
        include_str!("../../templates/new_tool/crate/deploy/template.yaml.tmpl"),
    ),
    (
        "policies/gateway/%tool%.cedar",
        include_str!("../../templates/new_tool/policies/gateway.cedar.tmpl"),
    ),
    (
        "policies/resource/%tool%.cedar",
        include_str!("../../templates/new_tool/policies/resource.cedar.tmpl"),
    ),
    (
        "policies/invariants/%tool%.cedar",
        include_str!("../../templates/new_tool/policies/invariant.cedar.tmpl"),
    ),
    (
        "policies/tests/%tool%.json",
        include_str!("../../templates/new_tool/policies/cases.json.tmpl"),
    ),
    (
        "events/%tool%/allow-staging.json",
        include_str!("../../templates/new_tool/events/allow-staging.json.tmpl"),
    ),
    (
        "events/%tool%/allow-dry-run-staging.json",
        include_str!("../../templates/new_tool/events/allow-dry-run-staging.json.tmpl"),
    ),
    (
        "events/%tool%/deny-production.json",
        include_str!("../../templates/new_tool/events/deny-production.json.tmpl"),
    ),
    (
        "events/%tool%/deny-production.client-context.json",
        include_str!("../../templates/new_tool/events/deny-production.client-context.json.tmpl"),
    ),
    (
        "events/%tool%/deny-claimed-staging-for-a-production-instance.json",
        include_str!(
            "../../templates/new_tool/events/deny-claimed-staging-for-a-production-instance.json.tmpl"
        ),
    ),
    (
        "events/%tool%/invalid-bad-instance-id.json",
        include_str!("../../templates/new_tool/events/invalid-bad-instance-id.json.tmpl"),
    ),
];

/// What the AgentCore schema gains: the gateway action.
pub(super) const AGENTCORE_PART: &str =
    include_str!("../../templates/new_tool/policies/agentcore.cedarschema.part.tmpl");

/// What the resource schema gains: the entity and the resource-check action.
pub(super) const RESOURCE_PART: &str =
    include_str!("../../templates/new_tool/policies/resource.cedarschema.part.tmpl");

/// The tool's entry in `policies/budgets.json`.
pub(super) const BUDGET: &str = include_str!("../../templates/new_tool/policies/budget.json.tmpl");

/// The `agentcore/targets.yaml` fragment, filled in by [`super::deploy`].
pub(super) const TARGETS: &str =
    include_str!("../../templates/new_tool/crate/deploy/targets.yaml.tmpl");

/// `template` with the tool's names in place of its placeholders.
pub fn render(template: &str, names: &Names) -> String {
    template
        .replace("%tool%", &names.tool)
        .replace("%target%", &names.target)
        .replace("%Tool%", &names.camel)
        .replace("%Verb%", &names.verb)
        .replace("%Resource%", &names.resource)
}

/// The tool's `tool_schema.json`, as written.
pub(super) fn tool_schema(names: &Names) -> String {
    NEW_FILES
        .iter()
        .find(|(path, _)| path.ends_with("tool_schema.json"))
        .map(|(_, template)| render(template, names))
        .unwrap_or_default()
}
