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
const POLICIES_STACK: &str = "agentcore/policies.yaml";
/// A region CloudFormation offers no `AWS::BedrockAgentCore::*` type in (per cfn-lint's specs).
const REGION_WITHOUT_AGENTCORE: &str = "af-south-1";
/// What the tests render the gateway policies for; the template says `${GatewayArn}` there.
const PLACEHOLDER_GATEWAY_ARN: &str =
    "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/placeholder-0000000000";

/// The approval endpoint: the operators call it through its function URL; no gateway invokes it.
const APPROVAL_ENDPOINT: &str = "ApprovalEndpointFunction";

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
    for path in [BASE, GATEWAY_STACK, TARGETS_STACK, POLICIES_STACK] {
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
                // A statement only some parameters give (`!If [cond, statement, NoValue]`)
                // is checked as if given.
                for given in conditional(statement) {
                    found.push((name.clone(), given.clone()));
                }
            }
        }
    }
    found
}

/// What `value` may be: both branches of an `Fn::If`, less `AWS::NoValue`; else itself.
fn conditional(value: &Value) -> Vec<&Value> {
    match value.get("Fn::If").and_then(Value::as_array) {
        Some(branches) => branches
            .iter()
            .skip(1)
            .filter(|b| b.get("Ref") != Some(&json!("AWS::NoValue")))
            .collect(),
        None => vec![value],
    }
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
        // Allowlists; the only Deny statements are clean_logs's fences around compliance and
        // audit records (tests/tests/e2e/iam.rs shows the Allows alone would not suffice).
        if statement["Effect"] == "Deny" {
            assert!(
                ["CleanLogsRole", "CleanLogsActingRole"].contains(&role.as_str()),
                "{role}: {statement}"
            );
            assert!(statement["Condition"]["Null"].is_object(), "{statement}");
        } else {
            assert_eq!(statement["Effect"], "Allow", "{role}: {statement}");
        }
    }
    for action in [
        "ecs:UpdateService",
        "ec2:TerminateInstances",
        "logs:DeleteLogStream",
    ] {
        // The tool's role (unless ActAsCaller) and the role it acts as the caller in (with
        // ActAsCaller): one statement each, both on the real tag. A restart has one more per
        // role: production, for the calls a person approved (ApprovedProductionRestarts).
        let (grants, approved): (Vec<_>, Vec<_>) = allows(&all, action)
            .into_iter()
            .partition(|(_, s)| s["Sid"] != "RestartApprovedProduction");
        assert_eq!(grants.len(), 2, "{action}: {grants:?}");
        if action == "ecs:UpdateService" {
            // Only in the role the tool assumes after using an approval.
            let roles: Vec<&str> = approved.iter().map(|(role, _)| role.as_str()).collect();
            assert_eq!(roles, ["RestartServiceApprovedRole"], "{approved:?}");
            for (_, grant) in &approved {
                assert_eq!(
                    grant["Condition"],
                    json!({"StringEquals": {"aws:ResourceTag/Environment": "production"}}),
                    "{grant}"
                );
            }
            assert_eq!(
                template(BASE)["Parameters"]["ApprovedProductionRestarts"]["AllowedValues"],
                json!(["true", "false"])
            );
        } else {
            assert!(approved.is_empty(), "{approved:?}");
        }
        assert!(
            grants[0].0.ends_with("Role")
                && grants[1].0 == grants[0].0.replace("Role", "ActingRole"),
            "{action}: {grants:?}"
        );
        for (_, grant) in &grants {
            assert!(staging_and_dev_only(grant), "{action}: {grants:?}");
        }
    }
    let authorizer: Vec<String> = all
        .iter()
        .filter(|(role, _)| role == "AuthorizerRole")
        .flat_map(|(_, s)| actions(s))
        .collect();
    // Its logs, and signing the caller assertion (the one role that may).
    assert_eq!(
        authorizer,
        ["kms:Sign", "logs:CreateLogStream", "logs:PutLogEvents"]
    );
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
        // The caller assertion's public key.
        "kms:GetPublicKey",
        // Its budget counters: conditioned on its own leading keys instead (see the budget
        // table's test).
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        // The stop switch: read only, its one key (see the budget table's test).
        "dynamodb:GetItem",
    ]);
    let mut conditioned = BTreeSet::new();
    for statement in clean.iter().filter(|s| s["Effect"] == "Allow") {
        for action in actions(statement) {
            if !unconditioned.contains(action.as_str()) {
                assert!(staging_and_dev_only(statement), "{action}: {statement}");
                conditioned.insert(action);
            }
        }
    }
    let stream_actions = [
        "logs:DeleteLogStream",
        "logs:DescribeLogStreams",
        "logs:FilterLogEvents",
    ];
    for action in stream_actions {
        assert!(conditioned.contains(action), "{action}");
    }
    // And whatever the Environment tag says, a Compliance or Audit tag (any value) stops every
    // one of them: one Deny per marker, as the keys of one condition must all hold.
    for marker in ["Compliance", "Audit"] {
        let fence: Vec<&&Value> = clean
            .iter()
            .filter(|s| {
                s["Effect"] == "Deny"
                    && s["Condition"]
                        == json!({"Null": {format!("aws:ResourceTag/{marker}"): "false"}})
            })
            .collect();
        assert_eq!(fence.len(), 1, "{marker}");
        let denied: BTreeSet<String> = actions(fence[0]).into_iter().collect();
        assert_eq!(
            denied,
            stream_actions.map(str::to_owned).into_iter().collect(),
            "{marker}"
        );
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

/// The functions a gateway invokes (the tools and the authorizer): all but the approval
/// endpoint.
fn gateway_functions(template: &Value) -> Vec<String> {
    function_names(template)
        .into_iter()
        .filter(|f| f != APPROVAL_ENDPOINT)
        .collect()
}

#[test]
fn the_audit_log_groups_outlive_the_stack_and_no_layer_may_clean_them() {
    let base = template(BASE);
    let functions = function_names(&base);
    assert_eq!(functions.len(), 6);
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
    // A given gateway: its role, named on every function it invokes; nobody is granted the
    // approval endpoint by a resource policy (the operators reach it by their own role's
    // policy, through its URL).
    assert!(
        permissions
            .iter()
            .all(|(_, f, _, _)| f != APPROVAL_ENDPOINT),
        "{permissions:?}"
    );
    for function in gateway_functions(&base) {
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
    // The created gateway: its role may invoke exactly the five functions, referenced (so they
    // exist before the gateway stack names them).
    let nested = &base["Resources"]["Gateway"]["Properties"]["Parameters"];
    assert!(nested.get(format!("{APPROVAL_ENDPOINT}Arn")).is_none());
    let mut expected = BTreeSet::new();
    for function in gateway_functions(&base) {
        let parameter = format!("{function}Arn");
        assert_eq!(
            nested[&parameter],
            json!({"Fn::GetAtt": [function, "Arn"]}),
            "{parameter}"
        );
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
fn reserved_concurrency_is_opt_in_and_only_for_the_three_destructive_tools() {
    let base = template(BASE);
    // 0, the default, reserves nothing: Lambda keeps 100 units unreserved, and a new account's
    // quota (10 or 50) has none to spare.
    let parameter = &base["Parameters"]["DestructiveToolConcurrency"];
    assert_eq!(parameter["Default"], 0);
    assert_eq!(parameter["MinValue"], 0);
    assert_eq!(
        base["Conditions"]["ReserveConcurrency"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "DestructiveToolConcurrency"}, 0]}]})
    );
    for function in function_names(&base) {
        let reserved = &base["Resources"][&function]["Properties"]["ReservedConcurrentExecutions"];
        if DESTRUCTIVE.contains(&function.as_str()) {
            assert_eq!(
                reserved,
                &json!({"Fn::If": ["ReserveConcurrency", {"Ref": "DestructiveToolConcurrency"}, {"Ref": "AWS::NoValue"}]}),
                "{function}"
            );
        } else {
            assert!(reserved.is_null(), "{function}");
        }
    }
}

#[test]
fn alerts_go_to_a_topic_under_a_key_cloudwatch_may_use() {
    let base = template(BASE);
    // Two topics: the alerts, and the approval requests (announced by restart_service).
    let topics = of_type(&base, "AWS::SNS::Topic");
    let names: Vec<&str> = topics.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["ApprovalTopic", "PolicyBlockAlertTopic"]);
    let (topic, properties) = (topics[1].0, &topics[1].1["Properties"]);
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
/// by `[Check]`, `Check` being `call`, `resource` or `budget`. `Deny` counts every stopped call,
/// errors included; `Error` only those no decision could be reached for.
const GUARD_METRICS: [&str; 5] = ["Allow", "Deny", "WouldDeny", "Error", "WouldFlip"];
/// A metric the template makes itself: the authorizer's refusals (a metric filter).
const GATEWAY_REFUSALS: &str = "GatewayRefusals";
/// The other: the operators' stops and resumes, from their audit records (a metric filter).
const STOP_SWITCH_ORDERS: &str = "StopSwitchOrders";

/// What `alarm` computes, with each metric written `Metric/check` (`Deny/resource`) or
/// `GatewayRefusals`, and its threshold.
fn alarm_formula(alarm: &Value) -> (String, Value) {
    let properties = &alarm["Properties"];
    let name = |metric: &Value| {
        assert_eq!(metric["Namespace"], json!({"Ref": "MetricsNamespace"}));
        let name = metric["MetricName"].as_str().unwrap();
        match metric["Dimensions"].as_array() {
            None => {
                assert!(
                    [GATEWAY_REFUSALS, STOP_SWITCH_ORDERS].contains(&name),
                    "{name}"
                );
                name.to_owned()
            }
            Some(dimensions) => {
                assert!(GUARD_METRICS.contains(&name), "{name}");
                assert_eq!(dimensions.len(), 1, "alarms read the [Check] dimension set");
                assert_eq!(dimensions[0]["Name"], "Check");
                let check = dimensions[0]["Value"].as_str().unwrap();
                assert!(
                    ["call", "resource", "budget", "stop"].contains(&check),
                    "{check}"
                );
                format!("{name}/{check}")
            }
        }
    };
    let formula = if properties.get("MetricName").is_some() {
        name(properties)
    } else {
        let queries = properties["Metrics"].as_array().unwrap();
        let mut formula = queries.iter().find(|q| q["ReturnData"] == true).unwrap()["Expression"]
            .as_str()
            .unwrap()
            .to_owned();
        for query in queries {
            if let Some(stat) = query.get("MetricStat") {
                let id = query["Id"].as_str().unwrap();
                formula = formula.replace(id, &name(&stat["Metric"]));
            }
        }
        formula
    };
    (formula, properties["Threshold"].clone())
}

/// Each alarm's name (after `<stack>-`), what it counts, and the alarm's threshold.
const ALARMS: [(&str, &str, &str); 9] = [
    (
        "policy-block-alert",
        "GatewayRefusals",
        "DenyAlarmThreshold",
    ),
    (
        "call-refused-in-tool",
        "FILL(Deny/call, 0) - FILL(GatewayRefusals, 0)",
        "1",
    ),
    (
        "resource-check-deny",
        "FILL(Deny/resource, 0) - FILL(Error/resource, 0)",
        "1",
    ),
    ("resource-check-error", "Error/resource", "1"),
    ("budget-table-error", "Error/budget", "1"),
    ("stop-switch-changed", "StopSwitchOrders", "1"),
    ("stop-switch-error", "Error/stop", "1"),
    (
        "would-deny-log-only",
        "FILL(WouldDeny/call, 0) + FILL(WouldDeny/resource, 0)",
        "1",
    ),
    (
        "shadow-policy-would-flip",
        "FILL(WouldFlip/call, 0) + FILL(WouldFlip/resource, 0)",
        "1",
    ),
];

#[test]
fn each_alarm_counts_one_kind_of_event() {
    let base = template(BASE);
    let alarms: BTreeMap<String, (String, Value)> = of_type(&base, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(_, a)| {
            let name = a["Properties"]["AlarmName"]["Fn::Sub"].as_str().unwrap();
            let name = name.strip_prefix("${AWS::StackName}-").unwrap().to_owned();
            (name, alarm_formula(a))
        })
        .collect();
    assert_eq!(alarms.len(), ALARMS.len(), "{alarms:#?}");
    for (name, formula, threshold) in ALARMS {
        let (read, set) = &alarms[name];
        assert_eq!(read, formula, "{name}");
        let expected = threshold
            .parse::<u64>()
            .map_or_else(|_| json!({"Ref": threshold}), |n| json!(n));
        assert_eq!(set, &expected, "{name}");
    }
    // The gateway's blocks alert on the first by default (the article's alert).
    assert_eq!(base["Parameters"]["DenyAlarmThreshold"]["Default"], 1);
}

#[test]
fn each_alarm_says_what_happened_and_what_did_not() {
    let base = template(BASE);
    let description = |name: &str| -> String {
        let (_, alarm) = of_type(&base, "AWS::CloudWatch::Alarm")
            .into_iter()
            .find(|(_, a)| {
                a["Properties"]["AlarmName"]["Fn::Sub"] == format!("${{AWS::StackName}}-{name}")
            })
            .unwrap();
        alarm["Properties"]["AlarmDescription"]["Fn::Sub"][0]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Only a refusal at the gateway is "no function ran it".
    assert!(description("policy-block-alert").contains("no function ran it"));
    for name in [
        "call-refused-in-tool",
        "resource-check-deny",
        "resource-check-error",
    ] {
        assert!(!description(name).contains("no function ran it"), "{name}");
    }
    assert!(description("call-refused-in-tool").contains("reached a tool function"));
    // A lookup error is not a disagreement with the real tags, nor a policy decision.
    assert!(description("resource-check-deny").contains("policies forbid it"));
    assert!(description("resource-check-error").contains("no policy decided it"));
    assert!(!description("resource-check-error").contains("disagreed"));
    assert!(description("budget-table-error").contains("every mutating call is refused"));
    assert!(description("stop-switch-changed").contains("within 5 seconds"));
    assert!(description("stop-switch-error").contains("fails closed"));
    assert!(description("shadow-policy-would-flip").contains("shadow policy"));
}

#[test]
fn a_metric_filter_tells_a_refusal_at_the_gateway_from_one_in_a_tool() {
    let base = template(BASE);
    let filters = of_type(&base, "AWS::Logs::MetricFilter");
    assert_eq!(
        filters.len(),
        2,
        "the gateway's refusals and the stop switch's orders"
    );
    let gateway = filters
        .iter()
        .find(|(_, f)| f["Properties"]["LogGroupName"] == json!({"Ref": "AuthorizerLogs"}))
        .unwrap();
    let properties = &gateway.1["Properties"];
    // Only the authorizer's records: every one of them is a call at the gateway.
    assert_eq!(properties["LogGroupName"], json!({"Ref": "AuthorizerLogs"}));
    assert_eq!(
        properties["FilterPattern"],
        r#"{ ($.guard_audit.check = "call") && (($.guard_audit.outcome = "deny") || ($.guard_audit.outcome = "error")) }"#
    );
    assert_eq!(
        properties["MetricTransformations"],
        json!([{"MetricNamespace": {"Ref": "MetricsNamespace"}, "MetricName": GATEWAY_REFUSALS,
                "MetricValue": "1", "Unit": "Count"}])
    );
    // The dashboard shows the shadow policies' would-flips beside the decisions.
    let body = base["Resources"]["DecisionsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert!(body.contains(r#"MetricName=\"WouldFlip\""#));
}

#[test]
fn every_stop_and_resume_is_counted_from_its_audit_record_by_a_role_no_tool_can_assume() {
    let base = template(BASE);
    let filters = of_type(&base, "AWS::Logs::MetricFilter");
    let (_, control) = filters
        .iter()
        .find(|(_, f)| f["Properties"]["LogGroupName"] == json!({"Ref": "ControlLogs"}))
        .unwrap();
    let p = &control["Properties"];
    assert_eq!(
        p["FilterPattern"],
        r#"{ ($.guard_control.action = "stop") || ($.guard_control.action = "resume") }"#
    );
    // The pattern reads the field the CLI writes (guard::ControlRecord).
    let line =
        guard::ControlRecord::new(guard::ControlAction::Stop, "arn:aws:iam::1:user/o").line();
    assert!(line.starts_with(r#"{"guard_control":{"#), "{line}");
    assert!(line.contains(r#""action":"stop""#), "{line}");
    assert_eq!(
        p["MetricTransformations"][0]["MetricName"],
        STOP_SWITCH_ORDERS
    );
    // The control records outlive the stack, as the tools' audit records do.
    let group = &base["Resources"]["ControlLogs"];
    assert_eq!(group["DeletionPolicy"], "Retain");
    assert_eq!(tags(group).get("Audit").map(String::as_str), Some("true"));
    // The operators' role: the switch's one key, the approval endpoint (through its URL), the
    // control log group, nothing a tool does; no write on approvals.
    let all = statements(&base);
    let operator: Vec<&Value> = all
        .iter()
        .filter(|(r, _)| r == "OperatorRole")
        .map(|(_, s)| s)
        .collect();
    let granted: Vec<String> = operator.iter().flat_map(|s| actions(s)).collect();
    assert_eq!(
        granted,
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "lambda:InvokeFunctionUrl",
            "lambda:InvokeFunction",
            "logs:CreateLogStream",
            "logs:PutLogEvents"
        ]
    );
    assert_eq!(
        operator[0]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
        json!([oversight::STOP_KEY])
    );
    for function in function_names(&base) {
        let role = &resources(&base)[&function]["Properties"]["Role"]["Fn::GetAtt"][0];
        assert_ne!(role, "OperatorRole", "{function}");
    }
}

#[test]
fn the_approval_endpoint_is_iam_authenticated_and_the_operators_reach_it_only_through_its_url() {
    let base = template(BASE);
    let endpoint = &resources(&base)[APPROVAL_ENDPOINT];
    let p = &endpoint["Properties"];
    // Lambda verifies each request's SigV4 signature and names the signer to the function.
    assert_eq!(p["FunctionUrlConfig"], json!({"AuthType": "AWS_IAM"}));
    assert_eq!(
        p["Environment"]["Variables"]["BUDGET_TABLE"],
        json!({"Ref": "BudgetTable"})
    );
    assert_eq!(
        base["Outputs"]["ApprovalEndpointUrl"]["Value"],
        json!({"Fn::GetAtt": [format!("{APPROVAL_ENDPOINT}Url"), "FunctionUrl"]})
    );
    let arn = json!({"Fn::GetAtt": [APPROVAL_ENDPOINT, "Arn"]});
    let all = statements(&base);
    // The operators: its URL with AWS_IAM, and an invoke only through that URL (a direct
    // invoke could hand the function an event naming anyone).
    let url = allows(&all, "lambda:InvokeFunctionUrl");
    assert_eq!(url.len(), 1);
    assert_eq!(url[0].0, "OperatorRole");
    assert_eq!(url[0].1["Resource"], arn);
    assert_eq!(
        url[0].1["Condition"],
        json!({"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}})
    );
    let invoke: Vec<_> = allows(&all, "lambda:InvokeFunction")
        .into_iter()
        .filter(|(_, s)| s["Resource"] == arn)
        .collect();
    assert_eq!(invoke.len(), 1);
    assert_eq!(invoke[0].0, "OperatorRole");
    assert_eq!(
        invoke[0].1["Condition"],
        json!({"Bool": {"lambda:InvokedViaFunctionUrl": "true"}})
    );
    // Its own role: approval requests of the table (read, decide) and its own logs, no more.
    let role = p["Role"]["Fn::GetAtt"][0].as_str().unwrap();
    assert_eq!(role, "ApprovalEndpointRole");
    let own: Vec<&Value> = all
        .iter()
        .filter(|(r, _)| r == role)
        .map(|(_, s)| s)
        .collect();
    let granted: Vec<String> = own.iter().flat_map(|s| actions(s)).collect();
    assert_eq!(
        granted,
        [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "dynamodb:GetItem",
            "dynamodb:UpdateItem"
        ]
    );
    assert_eq!(
        own[0]["Resource"],
        json!({"Fn::Sub": "${ApprovalEndpointLogs.Arn}"})
    );
    assert_eq!(
        own[1]["Resource"],
        json!({"Fn::GetAtt": ["BudgetTable", "Arn"]})
    );
    assert_eq!(
        own[1]["Condition"],
        json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["*#approval#*"]}})
    );
    // The operators record no decision themselves: only through it.
    assert!(
        allows(&all, "dynamodb:UpdateItem")
            .iter()
            .all(|(r, _)| r != "OperatorRole")
    );
    // Its log group is an audit log like the others'.
    let (group, _) = log_group_of(&base, APPROVAL_ENDPOINT);
    assert_eq!(group, "ApprovalEndpointLogs");
    assert!(
        base["Outputs"]["AuditLogGroups"]["Value"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .contains("${ApprovalEndpointLogs}")
    );
}

#[test]
fn the_operator_gets_who_what_why_from_the_audit_records() {
    let base = template(BASE);
    // The guard's decision records: the tools' and the authorizer's (the approval endpoint
    // records requests to it, not decisions about calls).
    let groups: BTreeSet<String> = gateway_functions(&base)
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
        let description = alarm["Properties"]["AlarmDescription"]["Fn::Sub"][0]
            .as_str()
            .unwrap();
        assert!(description.contains("#dashboards/dashboard/"), "{name}");
        assert!(description.contains("/blocked-calls"), "{name}");
    }
}

#[test]
fn the_gateway_id_is_derived_from_the_gateway_arn_and_the_functions_learn_it_from_a_parameter() {
    let base = template(BASE);
    assert!(base["Parameters"].get("GatewayIdentifier").is_none());
    let parameters = &base["Resources"]["GatewayTargets"]["Properties"]["Parameters"];
    let arn = json!({"Fn::If": ["CreateGateway", {"Fn::GetAtt": ["Gateway", "Outputs.GatewayArn"]}, {"Ref": "GatewayArn"}]});
    assert_eq!(
        parameters["GatewayIdentifier"],
        json!({"Fn::Select": [1, {"Fn::Split": ["/", arn]}]})
    );
    // The policies name the gateway the stack made.
    assert_eq!(
        base["Resources"]["Policies"]["Properties"]["Parameters"]["GatewayArn"],
        json!({"Fn::GetAtt": ["Gateway", "Outputs.GatewayArn"]})
    );
    // The functions are linked by the parameter, never by the gateway itself: the gateway
    // names them, so they come first.
    assert_eq!(
        base["Globals"]["Function"]["Environment"]["Variables"]["GATEWAY_ARN"],
        json!({"Ref": "GatewayArn"})
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
        json!({"Condition": "GatewayCreated"})
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
            base["Outputs"][output]["Condition"], "GatewayCreated",
            "{output}"
        );
    }

    let gateway = template(GATEWAY_STACK);
    assert_eq!(
        gateway["Resources"]["Gateway"]["Condition"],
        "CreateGateway"
    );
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
    // Nothing but targets: the stack validates wherever AgentCore has targets.
    let kinds: BTreeSet<&str> = resources(&targets)
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["AWS::BedrockAgentCore::GatewayTarget"])
    );
    // The policies: their own stack, at the policies stage, after the targets.
    let policies_app = &base["Resources"]["Policies"];
    assert_eq!(policies_app["Properties"]["Location"], POLICIES_STACK);
    assert_eq!(policies_app["Condition"], "PoliciesCreated");
    assert_eq!(policies_app["DependsOn"], "GatewayTargets");
    let policies = template(POLICIES_STACK);
    assert!(!of_type(&policies, "AWS::BedrockAgentCore::Policy").is_empty());
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
    let targets = template(POLICIES_STACK);
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
    let targets = template(POLICIES_STACK);
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
        ("AWS::IAM::Role", Some("Arn")) => format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        ("AWS::IAM::Role", None) => name.to_owned(),
        ("AWS::Serverless::Function", Some("Arn")) => {
            format!("arn:aws:lambda:{account}:function:{name}")
        }
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
                // Linted as given: the branch that is not `AWS::NoValue`.
                "Fn::If" => resolve(template, conditional(value).last().unwrap()),
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
        19,
        "nine roles (the operators', the approval endpoint's and the approved restart's among \
         them), the alert key, the alert topic, the caller key, three roles acting as the caller, \
         and the policies that let the tools assume them and the approved restart role"
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
    // Nor does it know `lambda:InvokedViaFunctionUrl` (AWS, 2025-10), which confines the
    // operators' invoke of the approval endpoint to its URL; the IAM evaluator knows it and
    // decides with it (tests/tests/e2e/iam.rs).
    let expected = |name: &str, issue: &str, detail: &str| {
        (issue == "UNKNOWN_PREFIX" && detail.contains("bedrock-agentcore"))
            || (issue == "RESOURCE_STAR" && name.ends_with("/KeyPolicy"))
            || (issue == "UNKNOWN_CONDITION_FOR_ACTION"
                && detail
                    == "Unknown condition lambda:InvokedViaFunctionUrl for action lambda:InvokeFunction")
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
        // Its budgets, the stop switch, and (restart_service) its own approval requests.
        let (grants, approvals): (Vec<&Value>, Vec<&Value>) = grants
            .into_iter()
            .partition(|s| s["Sid"] != "UseOwnApprovals");
        assert_eq!(grants.len(), 2, "{role}: its budgets and the stop switch");
        if tool == "restart_service" {
            assert_eq!(approvals.len(), 1, "{role}");
            assert_eq!(
                actions(approvals[0]),
                ["dynamodb:GetItem", "dynamodb:UpdateItem"]
            );
            assert_eq!(
                approvals[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"],
                json!([format!("{tool}#approval#*")]),
                "{role}"
            );
        } else {
            assert!(approvals.is_empty(), "{role}: {approvals:?}");
        }
        // The stop switch: read only, its one key.
        let switch = grants[1];
        assert_eq!(actions(switch), ["dynamodb:GetItem"], "{role}");
        assert_eq!(switch["Resource"], json!({"Fn::GetAtt": [name, "Arn"]}));
        assert_eq!(
            switch["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
            json!([oversight::STOP_KEY]),
            "{role}"
        );
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

// ------------------------------------------------------------------------------------------------
// Path A's order, names and regions: what the first deploy in a new account needs.

/// Path A's stages, in the order `agentcore/deploy.sh` runs them.
const STAGES: [&str; 3] = ["engine", "gateway", "policies"];

/// Where AgentCore checks what a resource names (a role it will use, a function it will
/// invoke, targets a policy is validated against): the named must exist one deploy earlier,
/// not seconds earlier. `(resource, what it names)`.
const NAMED_ACROSS_A_DEPLOY: [(&str, &str); 12] = [
    ("Gateway/Gateway", "AuthorizerFunction"),
    ("Gateway/Gateway", "Gateway/GatewayRole"),
    ("Gateway/Gateway", "Gateway/PolicyEngine"),
    ("Gateway/Gateway", "Gateway/UserPool"),
    (
        "GatewayTargets/RestartServiceTarget",
        "RestartServiceFunction",
    ),
    (
        "GatewayTargets/TerminateInstanceTarget",
        "TerminateInstanceFunction",
    ),
    ("GatewayTargets/CleanLogsTarget", "CleanLogsFunction"),
    ("GatewayTargets/GetMetricsTarget", "GetMetricsFunction"),
    (
        "Policies/AllowCleanLogsAlwaysPolicy",
        "GatewayTargets/CleanLogsTarget",
    ),
    (
        "Policies/AllowGetMetricsAlwaysPolicy",
        "GatewayTargets/GetMetricsTarget",
    ),
    ("Policies/AllowRestartStagingDevPolicy", "Gateway/Gateway"),
    (
        "Policies/AllowTerminateNonProductionPolicy",
        "GatewayTargets/TerminateInstanceTarget",
    ),
];

#[test]
fn path_a_creates_what_agentcore_checks_one_deploy_after_what_it_names() {
    let gateway_arn = "GatewayArn=arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/agent-guard-5e1d2c3b-a1b2c3d4e5";
    let stages: Vec<BTreeSet<String>> = STAGES
        .iter()
        .map(|stage| {
            let stage = format!("AgentCoreStage={stage}");
            let mut parameters = vec!["CreateGateway=true", stage.as_str()];
            if stage.ends_with("policies") {
                parameters.push(gateway_arn);
            }
            let stack = crate::iam::deployed(&parameters);
            stack["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    for (resource, named) in NAMED_ACROSS_A_DEPLOY {
        let first = stages
            .iter()
            .position(|s| s.contains(resource))
            .unwrap_or_else(|| panic!("{resource} is never created"));
        assert!(first > 0, "{resource} is created by the first deploy");
        assert!(
            stages[first - 1].contains(named),
            "{resource} ({}) names {named}, which the {} stage has not made",
            STAGES[first],
            STAGES[first - 1]
        );
    }
    // Every AgentCore policy comes after every target (each also names them all, for a stack
    // that would create both at once).
    let targets = template(TARGETS_STACK);
    for (name, _) in of_type(&targets, "AWS::BedrockAgentCore::Policy") {
        let at = stages
            .iter()
            .position(|s| s.contains(&format!("GatewayTargets/{name}")));
        assert_eq!(at, Some(2), "{name}");
        for (target, _) in of_type(&targets, "AWS::BedrockAgentCore::GatewayTarget") {
            assert!(
                stages[1].contains(&format!("GatewayTargets/{target}")),
                "{target}"
            );
        }
    }
    // Each stage only adds: a failed update rolls back to the previous stage's stack.
    for pair in stages.windows(2) {
        assert!(pair[0].is_subset(&pair[1]));
    }
    // The functions are linked at the policies stage, and refused otherwise by the rules.
    let base = template(BASE);
    for rule in ["PolicyStageIsLinked", "EarlyStagesAreUnlinked"] {
        assert!(base["Rules"][rule].is_object(), "{rule}");
    }
    assert_eq!(
        base["Parameters"]["AgentCoreStage"]["AllowedValues"],
        json!(["", "engine", "gateway", "policies"])
    );
}

/// From cfn-lint's registry schemas (the ones it validates with): the regions of the aws,
/// aws-cn and aws-us-gov partitions holding every one of `types`, and each type's property
/// patterns by JSON pointer.
fn schema_facts() -> Value {
    let out = venv("python")
        .args([
            "-c",
            r#"
import glob, json, os, cfnlint
data = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")
def partition(region):
    if region.startswith("cn-"): return "aws-cn"
    if region.startswith("us-gov-"): return "aws-us-gov"
    if "iso" in region or region.startswith("eusc-"): return None
    return "aws"
regions, schemas = {}, {}
for path in sorted(glob.glob(os.path.join(data, "providers", "*.json"))):
    region = os.path.basename(path)[:-5]
    if region == "sam" or partition(region) is None: continue
    types = json.load(open(path))
    regions[region] = {"partition": partition(region), "types": sorted(types)}
    for kind, digest in types.items():
        if kind.startswith("AWS::BedrockAgentCore::"):
            schemas[kind] = json.load(open(os.path.join(data, "resources", digest + ".json")))
json.dump({"regions": regions, "schemas": schemas}, __import__("sys").stdout)
"#,
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

fn regions_with(facts: &Value, types: &[&str], partitions: &[&str]) -> Vec<String> {
    facts["regions"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| partitions.contains(&r["partition"].as_str().unwrap()))
        .filter(|(_, r)| {
            types
                .iter()
                .all(|t| r["types"].as_array().unwrap().contains(&json!(t)))
        })
        .map(|(region, _)| region.clone())
        .collect()
}

fn rule_regions(base: &Value, rule: &str) -> Vec<String> {
    strings(&base["Rules"][rule]["Assertions"][0]["Assert"]["Fn::Contains"][0])
}

#[test]
fn path_a_and_given_targets_are_refused_in_regions_the_schemas_lack_them_in() {
    let facts = schema_facts();
    let base = template(BASE);
    // Path A: every type it creates, Cognito for the default pool, and the aws partition
    // only: China lacks the policy types and Cognito, and in GovCloud the gateway's
    // PolicyEngineConfiguration.Arn accepts only `arn:aws:` engine ARNs.
    let path_a = [
        "AWS::BedrockAgentCore::Gateway",
        "AWS::BedrockAgentCore::GatewayTarget",
        "AWS::BedrockAgentCore::PolicyEngine",
        "AWS::BedrockAgentCore::Policy",
        "AWS::Cognito::UserPool",
    ];
    let engine_arn = facts["schemas"]["AWS::BedrockAgentCore::Gateway"]["definitions"]
        ["GatewayPolicyEngineConfiguration"]["properties"]["Arn"]["pattern"]
        .as_str()
        .unwrap();
    assert!(
        engine_arn.starts_with("^arn:aws:bedrock-agentcore:"),
        "{engine_arn}"
    );
    let rule = rule_regions(&base, "CreatedGatewayRegionHasAgentCore");
    assert_eq!(rule, regions_with(&facts, &path_a, &["aws"]));
    for (region, partition) in [
        ("cn-north-1", "China"),
        ("us-gov-west-1", "GovCloud"),
        ("af-south-1", "no AgentCore"),
    ] {
        assert!(!rule.contains(&region.to_owned()), "{partition}");
    }
    // Given targets: the target type, in any of the three partitions.
    let targets = rule_regions(&base, "GivenGatewayTargetsRegion");
    assert_eq!(
        targets,
        regions_with(
            &facts,
            &["AWS::BedrockAgentCore::GatewayTarget"],
            &["aws", "aws-cn", "aws-us-gov"]
        )
    );
    // And cfn-lint agrees region by region: the nested stacks validate in every region listed.
    let (ok, text) = cfn_lint(
        &[
            &["--regions"],
            rule.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            &["--", GATEWAY_STACK, TARGETS_STACK, POLICIES_STACK],
        ]
        .concat(),
    );
    assert!(ok, "{text}");
    let (ok, text) = cfn_lint(
        &[
            &["--regions"],
            targets
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            &["--", TARGETS_STACK],
        ]
        .concat(),
    );
    assert!(ok, "{text}");
    // That is why the policies have a stack of their own: China has targets, not policies.
    let (ok, text) = cfn_lint(&["--regions", "cn-north-1", "--", POLICIES_STACK]);
    assert!(!ok && text.contains("E3006"), "{text}");
}

/// Names the stack builds from its own name, and the most characters each may have.
const NAME_LIMITS: [(&str, &str, usize); 4] = [
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
    ("AWS::Logs::QueryDefinition", "Name", 255),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
];

#[test]
fn no_stack_name_can_break_a_name_the_stack_gives() {
    // CloudFormation allows stack names of 128 characters, any number of them hyphens; the
    // stack's id adds a 36-character UUID.
    let longest_stack = "a".repeat(128);
    let facts = schema_facts();
    for path in [BASE, GATEWAY_STACK, TARGETS_STACK, POLICIES_STACK] {
        let t = template(path);
        for (name, resource) in resources(&t) {
            let kind = resource["Type"].as_str().unwrap();
            for (property, value) in resource["Properties"].as_object().into_iter().flatten() {
                let text = value.to_string();
                if !(property.ends_with("Name") || property == "Name")
                    || !text.contains("AWS::StackName")
                {
                    continue;
                }
                let limit = NAME_LIMITS
                    .iter()
                    .find(|(k, p, _)| *k == kind && p == property)
                    .unwrap_or_else(|| {
                        panic!("{path} {name}.{property} is made from the stack's name: {text}")
                    })
                    .2;
                let sub = value["Fn::Sub"]
                    .as_str()
                    .or_else(|| value["Fn::Sub"][0].as_str())
                    .unwrap();
                let worst = sub
                    .replace("${AWS::StackName}", &longest_stack)
                    .replace("${StackUuid}", &"0".repeat(36));
                assert!(
                    worst.len() <= limit,
                    "{path} {name}.{property}: {} > {limit}",
                    worst.len()
                );
            }
        }
    }
    // No function is named after the stack (Lambda allows 64 characters): CloudFormation
    // names them, shortened as needed.
    let base = template(BASE);
    for function in function_names(&base) {
        assert!(
            base["Resources"][&function]["Properties"]["FunctionName"].is_null(),
            "{function}"
        );
    }
    // The AgentCore names come from parameters the schemas' own patterns check, or from the
    // stack's id, which always fits them.
    let schema_pattern = |kind: &str, property: &str| {
        facts["schemas"][kind]["properties"][property]["pattern"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let parameter_pattern = |name: &str| {
        base["Parameters"][name]["AllowedPattern"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let gateway_name = schema_pattern("AWS::BedrockAgentCore::Gateway", "Name");
    assert_eq!(
        parameter_pattern("GatewayName"),
        format!("^$|{gateway_name}")
    );
    assert_eq!(
        parameter_pattern("GatewayArn"),
        format!(
            "^$|{}",
            schema_pattern("AWS::BedrockAgentCore::Gateway", "GatewayArn")
        )
    );
    let engine = &facts["schemas"]["AWS::BedrockAgentCore::PolicyEngine"]["properties"]["Name"];
    assert_eq!(engine["pattern"], "^[A-Za-z][A-Za-z0-9_]*$");
    assert_eq!(engine["maxLength"], 48);
    assert_eq!(
        parameter_pattern("PolicyEngineName"),
        "^$|^[A-Za-z][A-Za-z0-9_]{0,47}$"
    );
    let derived = &base["Resources"]["Gateway"]["Properties"]["Parameters"];
    assert_eq!(
        derived["GatewayName"]["Fn::If"][1]["Fn::Sub"][0],
        "agent-guard-${StackIdPart}"
    );
    assert_eq!(
        derived["PolicyEngineName"]["Fn::If"][1]["Fn::Sub"][0],
        "AgentGuard_${StackIdPart}"
    );
    // The stack id's first UUID group: eight hexadecimal digits, valid in both.
    let part = json!({"Fn::Select": [0, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]});
    assert_eq!(
        derived["GatewayName"]["Fn::If"][1]["Fn::Sub"][1]["StackIdPart"],
        part
    );
    assert_eq!(
        derived["PolicyEngineName"]["Fn::If"][1]["Fn::Sub"][1]["StackIdPart"],
        part
    );
}
