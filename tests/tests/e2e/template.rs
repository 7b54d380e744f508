//! The SAM template (`template.yaml`) and its nested AgentCore stacks (`agentcore/*.yaml`): the
//! linters pass them, and their semantics hold — who may invoke what, which actions are
//! tag-conditioned, what outlives the stack, what raises an alert, which types the base stack may
//! name, and that the policies uploaded to AgentCore are `guard render`'s output.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers read the template's JSON; a missing part fails the test"
)]

use std::{
    collections::{BTreeMap, BTreeSet},
    process::Command,
};

use e2e::{emulator::workspace, process::output_with_stdin};
use serde_json::{Value, json};

const BASE: &str = "template.yaml";
const GATEWAY_STACK: &str = "agentcore/gateway.yaml";
const TARGETS_STACK: &str = "agentcore/targets.yaml";
/// A region CloudFormation offers no `AWS::BedrockAgentCore::*` type in (per cfn-lint's specs).
const REGION_WITHOUT_AGENTCORE: &str = "af-south-1";
/// What the tests render the gateway policies for; the template says `${GatewayArn}` there.
const PLACEHOLDER_GATEWAY_ARN: &str =
    "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/placeholder-0000000000";

/// The three tools that change the world.
const DESTRUCTIVE: [&str; 3] = [
    "RestartServiceFunction",
    "TerminateInstanceFunction",
    "CleanLogsFunction",
];

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

/// A template as cfn-lint reads it (intrinsic functions as `{"Ref": …}` objects).
fn template(path: &str) -> Value {
    let out = venv("python")
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import decode\n\
             template, errors = decode(sys.argv[1])\n\
             assert not errors, errors\n\
             json.dump(template, sys.stdout, default=str)",
            path,
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

fn resources(template: &Value) -> &serde_json::Map<String, Value> {
    template["Resources"].as_object().unwrap()
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

fn cfn_lint(args: &[&str]) -> (bool, String) {
    let out = venv("cfn-lint").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn cfn_lint_passes_every_template_with_no_errors_and_no_warnings() {
    for path in [BASE, GATEWAY_STACK, TARGETS_STACK] {
        let (ok, text) = cfn_lint(&[path]);
        assert!(ok, "cfn-lint {path}: {text}");
    }
}

#[test]
fn the_base_stack_names_no_agentcore_type_and_validates_where_agentcore_is_missing() {
    let base = template(BASE);
    for (name, resource) in resources(&base) {
        let kind = resource["Type"].as_str().unwrap();
        assert!(!kind.starts_with("AWS::BedrockAgentCore::"), "{name}");
    }
    let (ok, text) = cfn_lint(&["--regions", REGION_WITHOUT_AGENTCORE, "--", BASE]);
    assert!(ok, "cfn-lint --regions {REGION_WITHOUT_AGENTCORE}: {text}");
    // The check bites: the nested AgentCore stack is refused there.
    let (ok, text) = cfn_lint(&["--regions", REGION_WITHOUT_AGENTCORE, "--", GATEWAY_STACK]);
    assert!(!ok && text.contains("E3006"), "{text}");
}

/// The statements of every inline identity policy in `template`, with the role's name.
fn statements(template: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (name, resource) in resources(template) {
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

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
        other => panic!("expected a string or strings, not {other}"),
    }
}

fn actions(statement: &Value) -> Vec<String> {
    strings(&statement["Action"])
}

fn allows(statements: &[(String, Value)], action: &str) -> Vec<(String, Value)> {
    statements
        .iter()
        .filter(|(_, s)| s["Effect"] == "Allow" && actions(s).iter().any(|a| a == action))
        .cloned()
        .collect()
}

fn staging_and_dev_only(statement: &Value) -> bool {
    statement["Condition"]["StringEquals"]["aws:ResourceTag/Environment"]
        == json!(["staging", "dev"])
}

#[test]
fn iam_grants_no_wildcard_action_and_conditions_every_mutation_on_the_real_tag() {
    let mut all = statements(&template(BASE));
    all.extend(statements(&template(GATEWAY_STACK)));
    assert!(all.len() >= 15);
    for (role, statement) in &all {
        for action in actions(statement) {
            assert!(!action.contains('*'), "{role}: wildcard action `{action}`");
        }
        // Allowlists only: no statement relies on a Deny (by name or otherwise).
        assert_eq!(statement["Effect"], "Allow", "{role}: {statement}");
    }
    for action in [
        "ecs:UpdateService",
        "ec2:TerminateInstances",
        "logs:DeleteLogStream",
    ] {
        let grants = allows(&all, action);
        assert_eq!(grants.len(), 1, "{action}");
        assert!(staging_and_dev_only(&grants[0].1), "{action}: {grants:?}");
    }
    let authorizer: Vec<String> = all
        .iter()
        .filter(|(role, _)| role == "AuthorizerRole")
        .flat_map(|(_, s)| actions(s))
        .collect();
    assert_eq!(authorizer, ["logs:CreateLogStream", "logs:PutLogEvents"]);
}

#[test]
fn clean_logs_reads_and_deletes_streams_only_in_staging_and_dev_groups() {
    let base = template(BASE);
    let all = statements(&base);
    let clean: Vec<&Value> = all
        .iter()
        .filter(|(role, _)| role == "CleanLogsRole")
        .map(|(_, s)| s)
        .collect();
    // Without a tag condition: its own log lines, and finding a group with its flags and tags
    // (the facts the resource check refuses on). Everything else needs staging or dev.
    let unconditioned: BTreeSet<&str> = BTreeSet::from([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        // Its budget counters: conditioned on its own leading keys instead (see the budget
        // table's test).
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    ]);
    let mut conditioned = BTreeSet::new();
    for statement in clean {
        for action in actions(statement) {
            if !unconditioned.contains(action.as_str()) {
                assert!(staging_and_dev_only(statement), "{action}: {statement}");
                conditioned.insert(action);
            }
        }
    }
    for action in [
        "logs:DeleteLogStream",
        "logs:DescribeLogStreams",
        "logs:FilterLogEvents",
    ] {
        assert!(conditioned.contains(action), "{action}");
    }
}

/// The log group `function` writes to.
fn log_group_of<'a>(template: &'a Value, function: &str) -> (&'a String, &'a Value) {
    let name = template["Resources"][function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        .as_str()
        .unwrap();
    resources(template).get_key_value(name).unwrap()
}

fn tags(resource: &Value) -> BTreeMap<String, String> {
    resource["Properties"]["Tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["Key"].as_str().unwrap().to_owned(),
                t["Value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn function_names(template: &Value) -> Vec<String> {
    of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn the_audit_log_groups_outlive_the_stack_and_no_layer_may_clean_them() {
    let base = template(BASE);
    let functions = function_names(&base);
    assert_eq!(functions.len(), 5);
    let all = statements(&base);
    let cleanable: Vec<String> = strings(
        &allows(&all, "logs:DeleteLogStream")[0].1["Condition"]["StringEquals"]["aws:ResourceTag/Environment"],
    );
    for function in &functions {
        let (name, group) = log_group_of(&base, function);
        assert_eq!(group["DeletionPolicy"], "Retain", "{name}");
        assert_eq!(group["UpdateReplacePolicy"], "Retain", "{name}");
        assert!(group["Properties"]["RetentionInDays"].is_object(), "{name}");
        let tags = tags(group);
        // The guard's clean_logs policies never clean an Audit-tagged group, nor one outside
        // staging and dev; IAM refuses any group not tagged staging or dev.
        assert_eq!(
            tags.get("Audit").map(String::as_str),
            Some("true"),
            "{name}"
        );
        let environment = tags.get("Environment").unwrap();
        assert!(!cleanable.contains(environment), "{name}: {environment}");
        assert!(
            !["staging", "dev"].contains(&environment.as_str()),
            "{name}"
        );
    }
}

/// `(principal, resource's name, condition)` of every Lambda permission in the base stack.
fn invoke_permissions(base: &Value) -> Vec<(Value, String, Option<String>, Value)> {
    of_type(base, "AWS::Lambda::Permission")
        .into_iter()
        .map(|(_, p)| {
            let props = &p["Properties"];
            assert_eq!(props["Action"], "lambda:InvokeFunction");
            (
                props["Principal"].clone(),
                props["FunctionName"]["Ref"].as_str().unwrap().to_owned(),
                p["Condition"].as_str().map(ToOwned::to_owned),
                props["SourceArn"].clone(),
            )
        })
        .collect()
}

#[test]
fn only_the_gateways_execution_role_invokes_the_functions() {
    let base = template(BASE);
    let permissions = invoke_permissions(&base);
    // A gateway invokes as its role: the service principal would be a grant nobody uses.
    for (principal, function, _, _) in &permissions {
        assert_ne!(
            principal,
            &json!("bedrock-agentcore.amazonaws.com"),
            "{function}"
        );
    }
    // A given gateway: its role, named on every function.
    for function in function_names(&base) {
        let by_role: Vec<_> = permissions
            .iter()
            .filter(|(p, f, _, _)| f == &function && p == &json!({"Ref": "GatewayRoleArn"}))
            .collect();
        assert_eq!(by_role.len(), 1, "{function}");
        let condition = by_role[0].2.as_deref().unwrap();
        assert!(
            ["UseGivenGateway", "GivenGatewayInvokesAuthorizer"].contains(&condition),
            "{function}: {condition}"
        );
    }
    // The created gateway: its role may invoke exactly the five functions, by the ARNs their
    // FunctionNames fix.
    let nested = &base["Resources"]["Gateway"]["Properties"]["Parameters"];
    let mut expected = BTreeSet::new();
    for function in function_names(&base) {
        let name = base["Resources"][&function]["Properties"]["FunctionName"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let arn = format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{name}"
        );
        let parameter = format!("{function}Arn");
        assert_eq!(nested[&parameter]["Fn::Sub"], arn, "{parameter}");
        expected.insert(parameter);
    }
    let gateway = template(GATEWAY_STACK);
    let role = statements(&gateway);
    let invoke = allows(&role, "lambda:InvokeFunction");
    assert_eq!(invoke.len(), 1);
    let granted: BTreeSet<String> = invoke[0].1["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Ref"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(granted, expected);
    assert_eq!(
        gateway["Resources"]["Gateway"]["Properties"]["RoleArn"],
        json!({"Fn::GetAtt": ["GatewayRole", "Arn"]})
    );
    // The role serves this account's gateways only, and may ask the policy engine.
    let trust = &gateway["Resources"]["GatewayRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        [0];
    assert_eq!(
        trust["Principal"]["Service"],
        "bedrock-agentcore.amazonaws.com"
    );
    assert_eq!(
        trust["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!({"Ref": "AWS::AccountId"})
    );
    for action in [
        "bedrock-agentcore:GetPolicyEngine",
        "bedrock-agentcore:AuthorizeAction",
        "bedrock-agentcore:PartiallyAuthorizeActions",
    ] {
        assert_eq!(allows(&role, action).len(), 1, "{action}");
    }
}

#[test]
fn the_api_gateway_form_lets_only_the_named_api_invoke_the_authorizer() {
    let base = template(BASE);
    let permissions = invoke_permissions(&base);
    let apigw: Vec<_> = permissions
        .iter()
        .filter(|(p, _, _, _)| p == &json!("apigateway.amazonaws.com"))
        .collect();
    assert_eq!(apigw.len(), 1);
    let (_, function, condition, source) = apigw[0];
    assert_eq!(function, "AuthorizerFunction");
    assert_eq!(condition.as_deref(), Some("ApiGatewayForm"));
    assert_eq!(
        source["Fn::Sub"],
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${AuthorizerApiId}/authorizers/*"
    );
    assert!(base["Rules"]["ApiGatewayFormNamesItsApi"].is_object());
}

#[test]
fn the_three_destructive_tools_have_reserved_concurrency() {
    let base = template(BASE);
    for function in function_names(&base) {
        let reserved = &base["Resources"][&function]["Properties"]["ReservedConcurrentExecutions"];
        if DESTRUCTIVE.contains(&function.as_str()) {
            assert_eq!(
                reserved,
                &json!({"Ref": "DestructiveToolConcurrency"}),
                "{function}"
            );
        }
    }
    assert_eq!(
        base["Parameters"]["DestructiveToolConcurrency"]["MinValue"],
        1
    );
}

#[test]
fn alerts_go_to_a_topic_under_a_key_cloudwatch_may_use() {
    let base = template(BASE);
    let topics = of_type(&base, "AWS::SNS::Topic");
    assert_eq!(topics.len(), 1);
    let (topic, properties) = (topics[0].0, &topics[0].1["Properties"]);
    // Not the AWS-managed alias/aws/sns: a key of this stack.
    let key = properties["KmsMasterKeyId"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    assert_eq!(base["Resources"][key]["Type"], "AWS::KMS::Key");
    let policy = &base["Resources"][key]["Properties"]["KeyPolicy"]["Statement"];
    let cloudwatch = policy
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
        .unwrap();
    let granted = actions(cloudwatch);
    assert!(granted.contains(&"kms:Decrypt".to_owned()));
    assert!(granted.iter().any(|a| a.starts_with("kms:GenerateDataKey")));
    for (name, alarm) in of_type(&base, "AWS::CloudWatch::Alarm") {
        assert_eq!(
            alarm["Properties"]["AlarmActions"],
            json!([{"Ref": topic}]),
            "{name}"
        );
        // The key and topic policies admit this stack's alarms by name.
        let alarm_name = alarm["Properties"]["AlarmName"]["Fn::Sub"]
            .as_str()
            .unwrap();
        assert!(alarm_name.starts_with("${AWS::StackName}-"), "{name}");
    }
    assert!(
        base["Parameters"]["AlertEmail"]["Description"]
            .as_str()
            .unwrap()
            .contains("confirm")
    );
}

/// The guard's EMF contract (crates/guard/src/audit.rs): these metrics, by `[Tool, Check]` and
/// by `[Check]`, `Check` being `call` or `resource`.
const GUARD_METRICS: [&str; 5] = ["Allow", "Deny", "WouldDeny", "Error", "WouldFlip"];

/// `(metric, check)` of every metric `alarm` reads, and its threshold.
fn alarm_metrics(alarm: &Value) -> (Vec<(String, String)>, Value) {
    let properties = &alarm["Properties"];
    let mut read = Vec::new();
    let mut note = |metric: &Value| {
        assert_eq!(metric["Namespace"], json!({"Ref": "MetricsNamespace"}));
        let name = metric["MetricName"].as_str().unwrap();
        assert!(GUARD_METRICS.contains(&name), "{name}");
        let dimensions = metric["Dimensions"].as_array().unwrap();
        assert_eq!(dimensions.len(), 1, "alarms read the [Check] dimension set");
        assert_eq!(dimensions[0]["Name"], "Check");
        let check = dimensions[0]["Value"].as_str().unwrap();
        assert!(["call", "resource"].contains(&check), "{check}");
        read.push((name.to_owned(), check.to_owned()));
    };
    if properties.get("MetricName").is_some() {
        note(properties);
    }
    for query in properties["Metrics"].as_array().into_iter().flatten() {
        if let Some(stat) = query.get("MetricStat") {
            note(&stat["Metric"]);
        }
    }
    (read, properties["Threshold"].clone())
}

#[test]
fn every_resource_check_deny_and_every_would_deny_raises_an_alert() {
    let base = template(BASE);
    let alarms: Vec<(Vec<(String, String)>, Value)> = of_type(&base, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, a)| alarm_metrics(a))
        .collect();
    let fires_on_one = |metric: &str, check: &str| {
        alarms.iter().any(|(read, threshold)| {
            threshold == &json!(1) && read.contains(&(metric.to_owned(), check.to_owned()))
        })
    };
    assert!(fires_on_one("Deny", "resource"));
    assert!(fires_on_one("WouldDeny", "call"));
    assert!(fires_on_one("WouldDeny", "resource"));
    // Call-check blocks: by default one is enough (the article's alert).
    assert!(alarms.iter().any(|(read, threshold)| {
        threshold == &json!({"Ref": "DenyAlarmThreshold"})
            && read.contains(&("Deny".to_owned(), "call".to_owned()))
    }));
    assert_eq!(base["Parameters"]["DenyAlarmThreshold"]["Default"], 1);
}

#[test]
fn the_operator_gets_who_what_why_from_the_audit_records() {
    let base = template(BASE);
    let groups: BTreeSet<String> = function_names(&base)
        .iter()
        .map(|f| log_group_of(&base, f).0.clone())
        .collect();
    let body = base["Resources"]["DecisionsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .unwrap();
    // The dashboard's Logs Insights widget reads every audit log group.
    let widgets: Value = serde_json::from_str(body).unwrap();
    let log_widget = widgets["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["type"] == "log")
        .unwrap();
    let query = log_widget["properties"]["query"].as_str().unwrap();
    for group in &groups {
        assert!(query.contains(&format!("SOURCE '${{{group}}}'")), "{group}");
    }
    // The saved query does too, and both show the deciding facts of blocked calls only.
    let saved = &base["Resources"]["BlockedCallsQuery"]["Properties"];
    let named: BTreeSet<String> = saved["LogGroupNames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["Ref"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(named, groups);
    for text in [query, saved["QueryString"].as_str().unwrap()] {
        for field in [
            "guard_audit.tool",
            "guard_audit.principal",
            "guard_audit.policies",
            "guard_audit.outcome in ['deny', 'would_deny', 'error']",
        ] {
            assert!(text.contains(field), "{field}: {text}");
        }
    }
    // Each alarm tells its reader where to look.
    for (name, alarm) in of_type(&base, "AWS::CloudWatch::Alarm") {
        let description = alarm["Properties"]["AlarmDescription"]["Fn::Sub"]
            .as_str()
            .unwrap();
        assert!(description.contains("#dashboards/dashboard/"), "{name}");
        assert!(description.contains("/blocked-calls"), "{name}");
    }
}

#[test]
fn the_gateway_id_is_derived_from_the_gateway_arn() {
    let base = template(BASE);
    assert!(base["Parameters"].get("GatewayIdentifier").is_none());
    let parameters = &base["Resources"]["GatewayTargets"]["Properties"]["Parameters"];
    let arn = &parameters["GatewayArn"];
    assert_eq!(
        parameters["GatewayIdentifier"],
        json!({"Fn::Select": [1, {"Fn::Split": ["/", arn]}]})
    );
    assert_eq!(
        arn,
        &json!({"Fn::If": ["CreateGateway", {"Fn::GetAtt": ["Gateway", "Outputs.GatewayArn"]}, {"Ref": "GatewayArn"}]})
    );
    // The functions are linked to the same gateway.
    assert_eq!(
        &base["Globals"]["Function"]["Environment"]["Variables"]["GATEWAY_ARN"],
        arn
    );
}

#[test]
fn create_gateway_adds_gateway_interceptor_engine_targets_and_policies() {
    let base = template(BASE);
    let gateway_app = &base["Resources"]["Gateway"];
    assert_eq!(gateway_app["Condition"], "CreateGateway");
    assert_eq!(gateway_app["Properties"]["Location"], GATEWAY_STACK);
    let targets_app = &base["Resources"]["GatewayTargets"];
    assert_eq!(targets_app["Properties"]["Location"], TARGETS_STACK);
    assert_eq!(
        base["Conditions"]["RegisterTargets"]["Fn::Or"][0],
        json!({"Condition": "CreateGateway"})
    );
    assert_eq!(
        base["Parameters"]["PolicyEngineMode"]["AllowedValues"],
        json!(["LOG_ONLY", "ENFORCE"])
    );
    for output in [
        "GatewayUrl",
        "CognitoClientId",
        "TokenUrl",
        "ToolCallCommand",
    ] {
        assert_eq!(
            base["Outputs"][output]["Condition"], "CreateGateway",
            "{output}"
        );
    }

    let gateway = template(GATEWAY_STACK);
    let properties = &gateway["Resources"]["Gateway"]["Properties"];
    assert_eq!(properties["AuthorizerType"], "CUSTOM_JWT");
    assert_eq!(
        properties["InterceptorConfigurations"],
        json!([{
            "Interceptor": {"Lambda": {"Arn": {"Ref": "AuthorizerFunctionArn"}}},
            "InterceptionPoints": ["REQUEST", "RESPONSE"],
            "InputConfiguration": {"PassRequestHeaders": true},
        }])
    );
    assert_eq!(
        properties["PolicyEngineConfiguration"],
        json!({"Arn": {"Fn::GetAtt": ["PolicyEngine", "PolicyEngineArn"]}, "Mode": {"Ref": "PolicyEngineMode"}})
    );
    assert_eq!(of_type(&gateway, "AWS::Cognito::UserPoolClient").len(), 1);

    let targets = template(TARGETS_STACK);
    let target_names: BTreeSet<String> = of_type(&targets, "AWS::BedrockAgentCore::GatewayTarget")
        .into_iter()
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(target_names.len(), 4);
    let policies = of_type(&targets, "AWS::BedrockAgentCore::Policy");
    assert!(!policies.is_empty());
    for (name, policy) in policies {
        assert_eq!(policy["Condition"], "CreatePolicies", "{name}");
        // AgentCore validates a policy against the gateway's tools: every target first.
        let depends: BTreeSet<String> = strings(&policy["DependsOn"]).into_iter().collect();
        assert_eq!(depends, target_names, "{name}");
    }
}

/// `guard render`'s policies for `gateway_arn`, by id, run as the CLI binary is.
fn rendered_policies(gateway_arn: &str) -> BTreeMap<String, String> {
    let out = Command::new(env!("CARGO"))
        .args(["run", "-q", "--locked", "--bin", "guard", "--"])
        .args(["render", "--gateway-arn", gateway_arn])
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let id = p
                .strip_prefix("@id(\"")
                .and_then(|rest| rest.split_once('"'))
                .map(|(id, _)| id.to_owned())
                .unwrap_or_else(|| panic!("a rendered policy without @id: {p}"));
            (id, p.to_owned())
        })
        .collect()
}

#[test]
fn the_agentcore_policies_are_guard_render_for_the_stacks_gateway() {
    let rendered = rendered_policies(PLACEHOLDER_GATEWAY_ARN);
    assert!(rendered.len() >= 4);
    let targets = template(TARGETS_STACK);
    let in_template: BTreeMap<String, String> = of_type(&targets, "AWS::BedrockAgentCore::Policy")
        .into_iter()
        .map(|(_, p)| {
            let properties = &p["Properties"];
            let statement = properties["Definition"]["Cedar"]["Statement"]["Fn::Sub"]
                .as_str()
                .unwrap();
            (
                properties["Name"].as_str().unwrap().to_owned(),
                statement.replace("${GatewayArn}", PLACEHOLDER_GATEWAY_ARN),
            )
        })
        .collect();
    assert_eq!(in_template, rendered);
}

#[test]
fn a_policy_rendered_as_shadow_is_log_only_in_agentcore_and_every_other_is_active() {
    let targets = template(TARGETS_STACK);
    for (name, policy) in of_type(&targets, "AWS::BedrockAgentCore::Policy") {
        let properties = &policy["Properties"];
        let statement = properties["Definition"]["Cedar"]["Statement"]["Fn::Sub"]
            .as_str()
            .unwrap();
        // `guard render` keeps a shadow policy's `@mode("LOG_ONLY")`; AgentCore's own switch
        // for it is the policy's EnforcementMode.
        let expected = if statement.contains("@mode(\"LOG_ONLY\")") {
            "LOG_ONLY"
        } else {
            "ACTIVE"
        };
        assert_eq!(properties["EnforcementMode"], expected, "{name}");
    }
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
    let targets = template(TARGETS_STACK);
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
        let inline = &targets["Resources"][resource]["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]
            ["ToolSchema"]["InlinePayload"];
        assert_eq!(inline, &json!([as_inline_payload(&schema)]), "{resource}");
    }
}

#[test]
fn every_function_is_arm64_al2023_with_its_own_package() {
    let base = template(BASE);
    let globals = &base["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert_eq!(globals["Handler"], "bootstrap");
    for (name, function) in of_type(&base, "AWS::Serverless::Function") {
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
    }
}

// ------------------------------------------------------------------------------------------------
// parliament, an IAM policy linter, over every policy document, intrinsic functions resolved to
// example values of the right shape.

const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// An example ARN for what `name` (a parameter or a resource of `template`) stands for.
fn example(template: &Value, name: &str, attribute: Option<&str>) -> String {
    let account = format!("{REGION}:{ACCOUNT}");
    match name {
        "AWS::Partition" => return PARTITION.to_owned(),
        "AWS::Region" => return REGION.to_owned(),
        "AWS::AccountId" => return ACCOUNT.to_owned(),
        "AWS::StackName" => return "guard".to_owned(),
        _ => {}
    }
    if template["Parameters"].get(name).is_some() {
        return if name.ends_with("FunctionArn") {
            format!("arn:aws:lambda:{account}:function:{name}")
        } else if name.ends_with("RoleArn") {
            format!("arn:aws:iam::{ACCOUNT}:role/{name}")
        } else {
            name.to_owned()
        };
    }
    let kind = template["Resources"][name]["Type"].as_str().unwrap();
    match (kind, attribute) {
        ("AWS::Logs::LogGroup", Some("Arn")) => {
            format!("arn:aws:logs:{account}:log-group:/aws/lambda/{name}:*")
        }
        ("AWS::KMS::Key", Some("Arn")) => {
            format!("arn:aws:kms:{account}:key/0a1b2c3d-0000-4000-8000-000000000000")
        }
        ("AWS::SNS::Topic", None) => format!("arn:aws:sns:{account}:{name}"),
        ("AWS::DynamoDB::Table", Some("Arn")) => {
            format!("arn:aws:dynamodb:{account}:table/{name}")
        }
        ("AWS::BedrockAgentCore::PolicyEngine", Some("PolicyEngineArn")) => {
            format!("arn:aws:bedrock-agentcore:{account}:policy-engine/engine-0123456789")
        }
        other => panic!("no example for {name} {other:?}"),
    }
}

fn substitute(template: &Value, text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let reference = &rest[start + 2..end];
        let resolved = match reference.split_once('.') {
            Some((name, attribute)) if !reference.starts_with("AWS::") => {
                example(template, name, Some(attribute))
            }
            _ => example(template, reference, None),
        };
        out.push_str(&resolved);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn resolve(template: &Value, value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next().unwrap();
            match key.as_str() {
                "Ref" => json!(example(template, argument.as_str().unwrap(), None)),
                "Fn::GetAtt" => json!(example(
                    template,
                    argument[0].as_str().unwrap(),
                    argument[1].as_str()
                )),
                "Fn::Sub" => json!(substitute(template, argument.as_str().unwrap())),
                _ => Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), resolve(template, v)))
                        .collect(),
                ),
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(template, v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(template, v)).collect()),
        other => other.clone(),
    }
}

/// Every policy document of `template`: identity, key and topic policies.
fn policy_documents(path: &str) -> Vec<(String, Value)> {
    let template = template(path);
    let mut found = Vec::new();
    for (name, resource) in resources(&template) {
        let properties = &resource["Properties"];
        let mut add = |what: String, document: &Value| {
            found.push((format!("{path} {what}"), resolve(&template, document)));
        };
        for policy in properties["Policies"].as_array().into_iter().flatten() {
            add(
                format!("{name}/{}", policy["PolicyName"]),
                &policy["PolicyDocument"],
            );
        }
        // Trust policies name no resource, which parliament (an identity-policy linter) calls
        // malformed; cfn-lint checks them.
        for key in ["KeyPolicy", "PolicyDocument"] {
            if let Some(document) = properties.get(key) {
                add(format!("{name}/{key}"), document);
            }
        }
    }
    found
}

#[test]
fn parliament_finds_nothing_in_any_policy_document() {
    let mut documents = Vec::new();
    for path in [BASE, GATEWAY_STACK] {
        documents.extend(policy_documents(path));
    }
    assert_eq!(
        documents.len(),
        8,
        "six roles, the alert key, the alert topic"
    );
    let out = output_with_stdin(
        venv("python").args([
            "-c",
            "import json, sys\nfrom parliament import analyze_policy_string\n\
                 out = []\n\
                 for name, document in json.load(sys.stdin):\n\
                 \x20   for f in analyze_policy_string(json.dumps(document)).findings:\n\
                 \x20       out.append([name, f.issue, str(f.detail)])\n\
                 json.dump(out, sys.stdout)",
        ]),
        &serde_json::to_vec(&documents).unwrap(),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    // parliament's action database predates AgentCore: it knows no `bedrock-agentcore` action,
    // and says so. The actions themselves are checked above against AWS's documentation.
    // In a key policy, `"Resource": "*"` means this key and nothing else.
    let expected = |name: &str, issue: &str, detail: &str| {
        (issue == "UNKNOWN_PREFIX" && detail.contains("bedrock-agentcore"))
            || (issue == "RESOURCE_STAR" && name.ends_with("/KeyPolicy"))
    };
    let findings: Vec<_> = findings
        .into_iter()
        .filter(|(name, issue, detail)| !expected(name, issue, detail))
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn the_budget_table_is_on_demand_with_ttl_and_pitr_and_each_tool_counts_only_its_own_keys() {
    let base = template(BASE);
    let tables = of_type(&base, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1);
    let (name, table) = tables[0];
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    let all = statements(&base);
    for (function, tool) in [
        ("RestartServiceFunction", "restart_service"),
        ("TerminateInstanceFunction", "terminate_instance"),
        ("CleanLogsFunction", "clean_logs"),
    ] {
        let f = &resources(&base)[function]["Properties"];
        let env = &f["Environment"]["Variables"];
        assert_eq!(env["BUDGET_TABLE"], json!({"Ref": name}), "{function}");
        assert_eq!(env["BUDGETS"], json!({"Ref": "Budgets"}), "{function}");
        let role = f["Role"]["Fn::GetAtt"][0].as_str().unwrap();
        let grants: Vec<&Value> = all
            .iter()
            .filter(|(r, s)| r == role && actions(s).iter().any(|a| a.starts_with("dynamodb:")))
            .map(|(_, s)| s)
            .collect();
        assert_eq!(grants.len(), 1, "{role}");
        assert_eq!(
            actions(grants[0]),
            ["dynamodb:PutItem", "dynamodb:DeleteItem"]
        );
        assert_eq!(grants[0]["Resource"], json!({"Fn::GetAtt": [name, "Arn"]}));
        assert_eq!(
            grants[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"],
            json!([format!("{tool}#*")]),
            "{role}"
        );
    }
    // Budgets are on unless the deployer says OFF.
    assert_eq!(base["Parameters"]["Budgets"]["Default"], "ON");
}
