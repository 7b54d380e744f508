//! Guard your own tool: `reboot_instance`, complete and small.
//!
//! A tool supplies four things — its arguments, the lookup of the real resource, the operation,
//! and a sentence about the result — and its policies: a gateway policy (the call check) and a
//! resource policy (the check on the real instance). `ToolHost` runs them in the order every
//! tool follows: parse, call check, lookup, resource check, budget, operate, audit each step.
//! `guard new-tool reboot_instance --resource-type Server` writes this tool (its `impl Tool`,
//! its policies and schema lines are exactly these; a test keeps them equal) as a crate, with
//! every other piece a deployed tool needs.
//!
//! This program runs the tool twice against a mocked EC2 (the event in `event.json`, then the
//! same agent claiming staging for a production instance) and shows that only the first reboots.
//! `cargo run -p agentcore_target --example reboot_instance`; the test command runs it.

use std::sync::Arc;

use agentcore_target::{
    Access, Attempts, BudgetLedger, ErrorKind, Found, Recheck, StopSwitch, Tool, ToolError,
    ToolHost, check_identifier, tag_map,
};
use aws_sdk_ec2::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        describe_instances::DescribeInstancesOutput,
        reboot_instances::{RebootInstancesError, RebootInstancesOutput},
    },
    types::{Instance, InstanceState, InstanceStateName, Reservation, Tag},
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use guard::{
    EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, MemoryAudit, PolicyFile, PolicySources, ResourceFacts,
};
use lambda_host::{Context, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// 1. The arguments: strict, so an unknown field is refused before anything is asked.
/// The arguments of `reboot_instance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RebootInput {
    /// The environment the agent claims; the policies compare it with the real tag.
    #[expect(dead_code, reason = "read by the policies, through `context.input`")]
    environment: String,
    instance_id: String,
    /// Report what would happen (EC2's own DryRun check) and change nothing.
    #[serde(default)]
    dry_run: bool,
}

/// The resource as read before acting.
#[derive(Debug)]
struct Server {
    id: String,
    state: String,
}

/// What the tool reports.
#[derive(Debug, Serialize)]
struct RebootOutput {
    instance_id: String,
    state: String,
    dry_run: bool,
    changed: bool,
}

/// The tool holds its AWS client.
struct RebootInstance {
    ec2: Client,
}

impl Tool for RebootInstance {
    const NAME: &'static str = "reboot_instance";
    const DEFAULT_TARGET: &'static str = "reboot-instance";
    // It changes things: every call must pass the resource check on the real resource, and
    // take a slot in the tool's budgets (policies/budgets.json) before it operates.
    const ACCESS: Access = Access::Mutating;
    type Settings = ();
    type Input = RebootInput;
    type Resource = Server;
    type Output = RebootOutput;

    fn validate(input: &RebootInput) -> Result<(), ToolError> {
        check_identifier(
            "instance_id",
            &input.instance_id,
            19,
            |c| c.is_ascii_alphanumeric() || c == '-',
            "an EC2 instance id",
        )
    }

    // 2. The real resource: its tags and state as AWS reports them, not as the agent claims.
    async fn lookup(&self, input: &RebootInput) -> Result<Found<Server>, ToolError> {
        let id = &input.instance_id;
        let described = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| ToolError::aws("ec2:DescribeInstances", &e))?;
        let instance = described
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id.as_str()))
            .ok_or_else(|| ToolError::not_found(format!("instance `{id}` not found")))?;
        let state = instance
            .state()
            .and_then(|s| s.name())
            .map_or("unknown", |n| n.as_str());
        // Tag keys reach the policies folded (lowercased); values and attributes exactly as
        // AWS reports them.
        let facts = ResourceFacts::new("Guard::Server", id.clone())
            .attribute("state", state)
            .tags(tag_map(
                instance.tags().iter().map(|t| (t.key(), t.value())),
            ));
        Ok(Found {
            facts: Some(facts),
            resource: Server {
                id: id.clone(),
                state: state.to_owned(),
            },
        })
    }

    // 3. The operation: reached only when both checks allowed it and a budget slot is held.
    async fn operate(
        &self,
        input: &RebootInput,
        instance: Server,
        // One AWS call: the resource check just before it is the check.
        _recheck: &Recheck<'_, Self>,
    ) -> Result<RebootOutput, ToolError> {
        let unchanged = |dry_run| RebootOutput {
            instance_id: instance.id.clone(),
            state: instance.state.clone(),
            dry_run,
            changed: false,
        };
        // Only a running instance reboots: anything else is a no-op.
        if instance.state != "running" {
            return Ok(unchanged(input.dry_run));
        }
        let request = self
            .ec2
            .reboot_instances()
            .instance_ids(&instance.id)
            .dry_run(input.dry_run);
        if input.dry_run {
            // EC2 answers a permitted dry run with the error `DryRunOperation`.
            return match request.send().await {
                Err(SdkError::ServiceError(e)) if e.err().code() == Some("DryRunOperation") => {
                    Ok(unchanged(true))
                }
                Err(e) => Err(ToolError::aws("ec2:RebootInstances (dry run)", &e)),
                Ok(_) => Err(ToolError::new(
                    ErrorKind::Aws,
                    "EC2 did not treat the dry run as a dry run",
                )),
            };
        }
        // Every attempt is watched: the budget slot goes back only if AWS refused them all
        // before acting (an attempt that timed out may have acted).
        let attempts = Attempts::<RebootInstancesError>::new();
        request
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await
            .map_err(|e| ToolError::aws_attempted("ec2:RebootInstances", &e, &attempts))?;
        Ok(RebootOutput {
            instance_id: instance.id,
            state: "rebooting".to_owned(),
            dry_run: false,
            changed: true,
        })
    }

    // A dry run changes nothing, so it counts against no budget.
    fn dry_run(input: &RebootInput) -> bool {
        input.dry_run
    }

    // A call that changed nothing (the instance was not running) gives its budget slot back.
    fn changed(out: &RebootOutput) -> bool {
        out.changed
    }

    fn summary(out: &RebootOutput) -> String {
        let id = &out.instance_id;
        if out.changed {
            format!("rebooted `{id}`")
        } else if out.state != "running" {
            format!("`{id}` is {}, not running: nothing to do", out.state)
        } else {
            format!("dry run: `{id}` would be rebooted; nothing was changed")
        }
    }
}

// 4. The policies.
/// The shipped policy files, plus this tool's gateway policy, resource policy and schema
/// additions (in a real project, files under `policies/`).
fn policies() -> PolicySources {
    let mut files: Vec<PolicyFile> = PolicySources::embedded().files().to_vec();
    for file in &mut files {
        let part = match file.name.as_str() {
            "schema/agentcore.cedarschema" => include_str!("agentcore.cedarschema.part"),
            "schema/resource.cedarschema" => include_str!("resource.cedarschema.part"),
            _ => continue,
        };
        // Each schema file is one namespace: the new declarations go before its closing brace.
        if let Some(end) = file.text.rfind('}') {
            file.text.insert_str(end, part);
        }
    }
    files.push(PolicyFile {
        name: "gateway/reboot_instance.cedar".to_owned(),
        text: include_str!("gateway.cedar").to_owned(),
    });
    files.push(PolicyFile {
        name: "resource/reboot_instance.cedar".to_owned(),
        text: include_str!("resource.cedar").to_owned(),
    });
    PolicySources::from_files("policies/ + examples/reboot_instance/", files)
}

/// An EC2 that knows a staging and a production instance, and counts reboots.
fn ec2() -> (Client, aws_smithy_mocks::Rule) {
    let describe = mock!(Client::describe_instances).then_compute_output(|request| {
        let id = request.instance_ids().first().cloned().unwrap_or_default();
        let environment = if id.ends_with("718") {
            "staging"
        } else {
            "production"
        };
        DescribeInstancesOutput::builder()
            .reservations(
                Reservation::builder()
                    .instances(
                        Instance::builder()
                            .instance_id(id)
                            .state(
                                InstanceState::builder()
                                    .name(InstanceStateName::Running)
                                    .build(),
                            )
                            .tags(Tag::builder().key("Environment").value(environment).build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let reboot =
        mock!(Client::reboot_instances).then_output(|| RebootInstancesOutput::builder().build());
    let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&describe, &reboot]);
    (client, reboot)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let audit = MemoryAudit::new();
    let guard = Arc::new(Guard::new(&policies(), &config, Arc::new(audit.clone())));
    guard.health()?;
    let (client, reboots) = ec2();
    // Budgets over time and the stop switch need their DynamoDB table (README, "Budgets",
    // "Approvals and the stop switch"); this example has none, so it says so deliberately. A
    // host built without them refuses every mutating call.
    let host = ToolHost::new(Ok(RebootInstance { ec2: client }), guard, "reboot-instance")
        .with_budgets(BudgetLedger::off())
        .with_stop(StopSwitch::absent());

    // The event a user would send with `cargo lambda invoke --data-file event.json`.
    let staging: Value = serde_json::from_str(include_str!("event.json"))?;
    // The same claim about a production instance: the resource check sees through it.
    let production =
        serde_json::json!({"environment": "staging", "instance_id": "i-0a1b2c3d4e5f60999"});

    for payload in [staging, production] {
        let result = host
            .handle(LambdaEvent::new(payload, Context::default()))
            .await
            .map_err(|d| d.error_message)?;
        let report = result.report().unwrap_or_default();
        println!(
            "{}: {}",
            report.get("status").unwrap_or(&Value::Null),
            report.get("message").unwrap_or(&Value::Null)
        );
    }
    println!(
        "reboots: {}, audit records: {}",
        reboots.num_calls(),
        audit.records().len()
    );
    if reboots.num_calls() != 1 {
        return Err("expected exactly one reboot: the staging instance".into());
    }
    Ok(())
}
