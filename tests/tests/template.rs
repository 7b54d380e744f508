//! `template.yaml`: cfn-lint passes it with no error and no warning; its IAM grants no `"*"`
//! action and conditions every mutating action that can be conditioned; its inline tool schemas
//! are the ones in `crates/*/tool_schema.json`.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers read the template's JSON; a missing part fails the test"
)]

use std::process::Command;

use e2e::emulator::workspace;
use serde_json::{Value, json};

fn venv(tool: &str) -> Command {
    let path = workspace().join(".venv/bin").join(tool);
    assert!(
        path.exists(),
        "{} is missing: run tests/run.sh",
        path.display()
    );
    let mut command = Command::new(path);
    command.current_dir(workspace());
    command
}

/// The template as cfn-lint reads it (intrinsic functions as `{"Ref": …}` objects).
fn template() -> Value {
    let out = venv("python")
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import decode\n\
             template, errors = decode('template.yaml')\n\
             assert not errors, errors\n\
             json.dump(template, sys.stdout, default=str)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cfn_lint_passes_with_no_errors_and_no_warnings() {
    let out = venv("cfn-lint").arg("template.yaml").output().unwrap();
    assert!(
        out.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn statements(template: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (name, resource) in template["Resources"].as_object().unwrap() {
        for policy in resource["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                found.push((name.clone(), statement.clone()));
            }
        }
    }
    found
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
        other => panic!("unexpected Action {other}"),
    }
}

#[test]
fn iam_grants_no_wildcard_action_and_conditions_every_mutation_it_can() {
    let template = template();
    let statements = statements(&template);
    assert!(statements.len() >= 10);
    for (role, statement) in &statements {
        for action in actions(statement) {
            assert!(!action.contains('*'), "{role}: wildcard action `{action}`");
        }
    }
    // The mutations whose services honour aws:ResourceTag: only staging and dev.
    for action in ["ecs:UpdateService", "ec2:TerminateInstances"] {
        let grants: Vec<&Value> = statements
            .iter()
            .filter(|(_, s)| s["Effect"] == "Allow" && actions(s).contains(&action.to_owned()))
            .map(|(_, s)| s)
            .collect();
        assert_eq!(grants.len(), 1, "{action}");
        assert_eq!(
            grants[0]["Condition"]["StringEquals"]["aws:ResourceTag/Environment"],
            json!(["staging", "dev"]),
            "{action}"
        );
    }
    // DeleteLogStream takes no tag condition: the audit and compliance groups are denied by name.
    assert!(
        statements
            .iter()
            .any(|(_, s)| s["Effect"] == "Deny" && actions(s) == ["logs:DeleteLogStream"])
    );
    // The authorizer calls no AWS API.
    let authorizer: Vec<String> = statements
        .iter()
        .filter(|(role, _)| role == "AuthorizerRole")
        .flat_map(|(_, s)| actions(s))
        .collect();
    assert_eq!(authorizer, ["logs:CreateLogStream", "logs:PutLogEvents"]);
}

/// A `tool_schema.json` in the form a gateway target's inline payload takes.
fn as_inline_payload(schema: &Value) -> Value {
    let properties: serde_json::Map<String, Value> = schema["inputSchema"]["properties"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                json!({"Type": p["type"], "Description": p["description"]}),
            )
        })
        .collect();
    let mut input = json!({"Type": "object", "Properties": properties});
    if let Some(required) = schema["inputSchema"].get("required") {
        input["Required"] = required.clone();
    }
    json!({"Name": schema["name"], "Description": schema["description"], "InputSchema": input})
}

#[test]
fn the_inline_tool_schemas_are_the_crates_tool_schema_files() {
    let template = template();
    for (resource, tool) in [
        ("RestartServiceTarget", "restart_service"),
        ("TerminateInstanceTarget", "terminate_instance"),
        ("CleanLogsTarget", "clean_logs"),
        ("GetMetricsTarget", "get_metrics"),
    ] {
        let file = workspace()
            .join("crates")
            .join(tool)
            .join("tool_schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let inline = &template["Resources"][resource]["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]
            ["ToolSchema"]["InlinePayload"];
        assert_eq!(inline, &json!([as_inline_payload(&schema)]), "{resource}");
    }
}

#[test]
fn every_function_is_arm64_al2023_with_its_own_package_and_log_retention() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    let resources = template["Resources"].as_object().unwrap();
    let functions: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .collect();
    assert_eq!(functions.len(), 5);
    for (name, function) in functions {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name}"
        );
        assert_eq!(
            function["Properties"]["CodeUri"],
            format!("crates/{binary}"),
            "{name}"
        );
        assert!(
            workspace()
                .join("crates")
                .join(binary)
                .join("Cargo.toml")
                .exists()
        );
        let logs = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .unwrap();
        assert!(
            resources[logs]["Properties"]["RetentionInDays"].is_object(),
            "{name}"
        );
    }
}
