//! The handler against a mocked EC2 (`aws-smithy-mocks`): every path, and the calls it makes.

use agentcore_target::{
    testing::{direct, from_gateway, invoke},
    tool_schema::ToolSchema,
};
use aws_sdk_ec2::{
    Client,
    error::ErrorMetadata,
    operation::{
        describe_instance_attribute::DescribeInstanceAttributeOutput,
        describe_instances::{DescribeInstancesError, DescribeInstancesOutput},
        terminate_instances::{TerminateInstancesError, TerminateInstancesOutput},
    },
    types::{
        AttributeBooleanValue, Instance, InstanceState, InstanceStateChange, InstanceStateName,
        Reservation, Tag,
    },
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use guard::{Mode, Outcome};
use serde_json::{Value, json};
use terminate_instance::TerminateInstance;

const ID: &str = "i-0123456789abcdef0";

/// A mocked EC2 holding one instance, and the rules that count its calls.
struct Ec2 {
    describe: Rule,
    attribute: Rule,
    terminate: Rule,
    dry_run: Rule,
}

impl Ec2 {
    fn new(environment: Option<&str>, state: InstanceStateName, protected: bool) -> Self {
        let tags: Vec<Tag> = environment
            .map(|e| Tag::builder().key("Environment").value(e).build())
            .into_iter()
            .chain([Tag::builder().key("Name").value("worker").build()])
            .collect();
        let describe = mock!(Client::describe_instances)
            .match_requests(|r| r.instance_ids() == [ID])
            .then_output(move || {
                DescribeInstancesOutput::builder()
                    .reservations(
                        Reservation::builder()
                            .instances(
                                Instance::builder()
                                    .instance_id(ID)
                                    .state(InstanceState::builder().name(state.clone()).build())
                                    .set_tags(Some(tags.clone()))
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        Self {
            describe,
            attribute: mock!(Client::describe_instance_attribute).then_output(move || {
                DescribeInstanceAttributeOutput::builder()
                    .disable_api_termination(
                        AttributeBooleanValue::builder().value(protected).build(),
                    )
                    .build()
            }),
            terminate: mock!(Client::terminate_instances)
                .match_requests(|r| r.dry_run() != Some(true) && r.instance_ids() == [ID])
                .then_output(|| {
                    TerminateInstancesOutput::builder()
                        .terminating_instances(
                            InstanceStateChange::builder()
                                .instance_id(ID)
                                .previous_state(
                                    InstanceState::builder()
                                        .name(InstanceStateName::Running)
                                        .build(),
                                )
                                .current_state(
                                    InstanceState::builder()
                                        .name(InstanceStateName::ShuttingDown)
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                }),
            dry_run: mock!(Client::terminate_instances)
                .match_requests(|r| r.dry_run() == Some(true))
                .then_error(|| {
                    TerminateInstancesError::generic(
                        ErrorMetadata::builder()
                            .code("DryRunOperation")
                            .message("Request would have succeeded, but DryRun flag is set.")
                            .build(),
                    )
                }),
        }
    }

    fn running(environment: Option<&str>) -> Self {
        Self::new(environment, InstanceStateName::Running, false)
    }

    fn client(&self) -> Client {
        mock_client!(
            aws_sdk_ec2,
            RuleMode::MatchAny,
            [
                &self.describe,
                &self.attribute,
                &self.terminate,
                &self.dry_run
            ]
        )
    }

    fn calls(&self) -> [usize; 4] {
        [
            self.describe.num_calls(),
            self.attribute.num_calls(),
            self.terminate.num_calls(),
            self.dry_run.num_calls(),
        ]
    }
}

async fn call(ec2: &Ec2, mode: Mode, payload: Value) -> (Value, bool, Vec<guard::AuditRecord>) {
    let out = invoke(TerminateInstance::new(ec2.client()), mode, direct(payload)).await;
    (out.report, out.is_error, out.audit)
}

fn args(environment: &str) -> Value {
    json!({"environment": environment, "instance_id": ID})
}

#[tokio::test]
async fn a_real_staging_instance_is_terminated() {
    let ec2 = Ec2::running(Some("staging"));
    let (report, is_error, audit) = call(&ec2, Mode::Enforce, args("staging")).await;
    assert!(!is_error, "{report}");
    assert_eq!(ec2.calls(), [1, 1, 1, 0]);
    assert_eq!(report["status"], "ok");
    assert_eq!(report["result"]["previous_state"], "running");
    assert_eq!(report["result"]["current_state"], "shutting-down");
    assert_eq!(report["result"]["changed"], true);
    assert_eq!(
        report["guard"]["checks"][1]["policies"],
        json!(["terminate_only_real_staging_dev"])
    );
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|r| r.outcome == Outcome::Allow));
}

#[tokio::test]
async fn production_is_denied_at_the_call_check_without_any_aws_call() {
    let ec2 = Ec2::running(Some("production"));
    let (report, is_error, audit) = call(&ec2, Mode::Enforce, args("production")).await;
    assert!(is_error);
    assert_eq!(ec2.calls(), [0, 0, 0, 0]);
    assert_eq!(report["status"], "denied");
    assert_eq!(
        report["message"],
        "denied, nothing was changed: call check: no policy permits `terminate-instance___terminate_instance`"
    );
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn claiming_staging_for_a_production_instance_is_denied_before_terminating() {
    let ec2 = Ec2::running(Some("production"));
    let (report, is_error, audit) = call(&ec2, Mode::Enforce, args("staging")).await;
    assert!(is_error);
    assert_eq!(ec2.calls(), [1, 1, 0, 0]);
    assert_eq!(report["guard"]["checks"][0]["outcome"], "allow");
    assert_eq!(report["guard"]["checks"][1]["check"], "resource");
    assert_eq!(report["guard"]["checks"][1]["outcome"], "deny");
    assert_eq!(audit[1].resource, format!("Guard::Ec2Instance::\"{ID}\""));
}

#[tokio::test]
async fn an_untagged_instance_is_denied() {
    let ec2 = Ec2::running(None);
    let (report, _, _) = call(&ec2, Mode::Enforce, args("staging")).await;
    assert_eq!(report["status"], "denied");
    assert_eq!(ec2.calls()[2..], [0, 0]);
}

#[tokio::test]
async fn a_termination_protected_instance_is_refused() {
    let ec2 = Ec2::new(Some("staging"), InstanceStateName::Running, true);
    let (report, _, _) = call(&ec2, Mode::Enforce, args("staging")).await;
    assert_eq!(report["status"], "denied");
    assert_eq!(
        report["guard"]["checks"][1]["policies"],
        json!(["never_terminate_protected_instance"])
    );
    assert_eq!(ec2.calls()[2..], [0, 0]);
}

#[tokio::test]
async fn dry_run_asks_ec2_and_changes_nothing() {
    let ec2 = Ec2::running(Some("dev"));
    let mut payload = args("dev");
    payload["dry_run"] = json!(true);
    let (report, is_error, _) = call(&ec2, Mode::Enforce, payload).await;
    assert!(!is_error, "{report}");
    assert_eq!(ec2.calls(), [1, 1, 0, 1]);
    assert_eq!(report["result"]["changed"], false);
    assert!(report["message"].as_str().unwrap().starts_with("dry run: "));
}

#[tokio::test]
async fn an_already_terminated_instance_is_a_no_op() {
    let ec2 = Ec2::new(Some("staging"), InstanceStateName::Terminated, false);
    let (report, is_error, _) = call(&ec2, Mode::Enforce, args("staging")).await;
    assert!(!is_error);
    assert_eq!(ec2.calls()[2..], [0, 0]);
    assert_eq!(
        report["message"],
        format!("`{ID}` was already terminated; nothing to do")
    );
}

#[tokio::test]
async fn a_missing_instance_is_a_clear_error() {
    let describe = mock!(Client::describe_instances)
        .then_output(|| DescribeInstancesOutput::builder().build());
    let terminate = mock!(Client::terminate_instances)
        .then_output(|| TerminateInstancesOutput::builder().build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&describe, &terminate]);
    let report = invoke(
        TerminateInstance::new(ec2),
        Mode::Enforce,
        direct(args("staging")),
    )
    .await
    .report;
    assert_eq!(report["error"], "not_found");
    assert_eq!(report["message"], format!("instance `{ID}` not found"));
    assert_eq!(terminate.num_calls(), 0);
}

#[tokio::test]
async fn throttling_and_access_denied_are_tool_errors_not_panics() {
    let describe = mock!(Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            ErrorMetadata::builder()
                .code("RequestLimitExceeded")
                .message("slow down")
                .build(),
        )
    });
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&describe]);
    let throttled = invoke(
        TerminateInstance::new(ec2),
        Mode::Enforce,
        direct(args("staging")),
    )
    .await
    .report;
    assert_eq!(throttled["error"], "throttled");
    assert!(
        throttled["message"]
            .as_str()
            .unwrap()
            .contains("RequestLimitExceeded")
    );

    let ec2 = Ec2::running(Some("staging"));
    let denied = mock!(Client::terminate_instances).then_error(|| {
        TerminateInstancesError::generic(
            ErrorMetadata::builder()
                .code("UnauthorizedOperation")
                .message("not allowed")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_ec2,
        RuleMode::MatchAny,
        [&ec2.describe, &ec2.attribute, &denied]
    );
    let report = invoke(
        TerminateInstance::new(client),
        Mode::Enforce,
        direct(args("staging")),
    )
    .await
    .report;
    assert_eq!(report["status"], "error");
    assert_eq!(report["error"], "access_denied");
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_call() {
    for (payload, expected) in [
        (
            json!({"environment": "staging", "instance_id": ID, "force": true}),
            "unknown field `force`",
        ),
        (
            json!({"environment": "staging", "instance_id": "i-123"}),
            "not an EC2 instance id",
        ),
        (
            json!({"environment": "staging", "instance_id": "I-0123456789ABCDEF0"}),
            "not an EC2 instance id",
        ),
        (
            json!({"environment": "staging", "instance_id": [ID]}),
            "invalid argument `instance_id`",
        ),
        (
            json!({"environment": "staging"}),
            "missing field `instance_id`",
        ),
        (
            json!({"environment": "stag\u{200b}ing", "instance_id": ID}),
            "U+200B",
        ),
        (json!("terminate everything"), "must be a JSON object"),
    ] {
        let ec2 = Ec2::running(Some("staging"));
        let (report, is_error, audit) = call(&ec2, Mode::Enforce, payload.clone()).await;
        assert!(is_error, "{payload}");
        assert_eq!(report["error"], "invalid_input", "{payload}");
        assert!(
            report["message"].as_str().unwrap().contains(expected),
            "{report}"
        );
        assert_eq!(ec2.calls(), [0, 0, 0, 0], "{payload}");
        // Refused before any policy was asked, and audited all the same.
        assert_eq!(audit.len(), 1, "{payload}");
        assert_eq!(audit[0].outcome, Outcome::Error, "{payload}");
    }
}

#[tokio::test]
async fn a_misrouted_call_is_refused_and_audited_without_any_call() {
    let ec2 = Ec2::running(Some("staging"));
    let event = from_gateway(args("staging"), "restart-service___restart_service");
    let out = invoke(TerminateInstance::new(ec2.client()), Mode::LogOnly, event).await;
    assert!(out.is_error);
    let message = out.report["message"].as_str().unwrap();
    assert!(message.contains("misrouted call"), "{message}");
    assert_eq!(ec2.calls(), [0, 0, 0, 0]);
    assert_eq!(out.audit.len(), 1);
    assert_eq!(out.audit[0].outcome, Outcome::Error);
}

#[tokio::test]
async fn the_gateways_tool_name_is_the_one_checked() {
    let ec2 = Ec2::running(Some("staging"));
    // A target the policies do not know: the call check cannot permit it.
    let event = from_gateway(args("staging"), "ops-tools___terminate_instance");
    let out = invoke(TerminateInstance::new(ec2.client()), Mode::Enforce, event).await;
    assert_eq!(out.report["status"], "denied");
    let message = out.report["message"].as_str().unwrap();
    assert!(
        message.contains("unknown tool `ops-tools___terminate_instance`"),
        "{message}"
    );
    assert_eq!(ec2.calls(), [0, 0, 0, 0]);
    let ids = &out.audit[0].request_ids;
    assert_eq!(ids.agentcore.as_deref(), Some("agentcore-request"));
}

#[tokio::test]
async fn log_only_records_would_deny_and_goes_ahead() {
    let ec2 = Ec2::running(Some("production"));
    let payload = json!({"environment": "production", "instance_id": ID, "dry_run": true});
    let (report, is_error, audit) = call(&ec2, Mode::LogOnly, payload).await;
    assert!(!is_error, "{report}");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .starts_with("LOG_ONLY: the guard would have denied")
    );
    assert_eq!(
        ec2.calls(),
        [1, 1, 0, 1],
        "LOG_ONLY let it through; dry_run kept it harmless"
    );
    assert_eq!(report["guard"]["mode"], "LOG_ONLY");
    assert!(audit.iter().all(|r| r.outcome == Outcome::WouldDeny));
}

#[test]
fn the_tool_schema_matches_the_parser_and_the_cedar_schema() {
    let schema = ToolSchema::parse(include_str!("../tool_schema.json")).unwrap();
    assert_eq!(schema.name, "terminate_instance");
    let example = json!({"environment": "staging", "instance_id": ID, "dry_run": false});
    let problems = schema.check_parser::<terminate_instance::TerminateInput>(&example);
    assert!(problems.is_empty(), "{problems:#?}");
    let (guard, _) = agentcore_target::testing::guard(Mode::Enforce);
    let problems = schema.check_cedar("terminate-instance", guard.policy_sets().unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
}
