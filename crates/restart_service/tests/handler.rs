//! The handler against a mocked ECS (`aws-smithy-mocks`): every path, and the calls it makes.

use agentcore_target::{
    ClusterMap, Tool,
    testing::{Invoked, direct, from_gateway, invoke, invoke_misconfigured},
    tool_schema::ToolSchema,
};
use aws_sdk_ecs::{
    Client,
    error::ErrorMetadata,
    operation::{
        describe_services::{DescribeServicesError, DescribeServicesOutput},
        list_tags_for_resource::ListTagsForResourceOutput,
        update_service::{UpdateServiceError, UpdateServiceOutput},
    },
    types::{Deployment, Failure, Service, Tag},
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use guard::{Mode, Outcome};
use restart_service::{RestartInput, RestartService};
use serde_json::{Value, json};

const SERVICE: &str = "api-gateway";
const STAGING: &str = "staging-cluster";
const PRODUCTION: &str = "production-cluster";
const CLUSTERS: &str = "staging=staging-cluster,production=production-cluster";
/// The PRIMARY deployment before a restart, and the one a restart starts.
const OLD: &str = "ecs-svc/1111111111111111111";
const NEW: &str = "ecs-svc/2222222222222222222";
const ACTIVE: &str = "ACTIVE";

fn arn(cluster: &str) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{SERVICE}")
}

fn service(cluster: &str, status: &str, deployments: Vec<Deployment>) -> Service {
    Service::builder()
        .service_arn(arn(cluster))
        .service_name(SERVICE)
        .cluster_arn(format!(
            "arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}"
        ))
        .status(status)
        .desired_count(2)
        .running_count(2)
        .set_deployments(Some(deployments))
        .build()
}

fn deployment(id: &str, status: &str) -> Deployment {
    Deployment::builder().id(id).status(status).build()
}

/// A mocked ECS holding one service in `cluster`, and the rules that count its calls.
struct Ecs {
    describe: Rule,
    tags: Rule,
    update: Rule,
}

impl Ecs {
    fn new(cluster: &'static str, environment: Option<&str>, status: &'static str) -> Self {
        let tags: Vec<Tag> = environment
            .map(|e| Tag::builder().key("Environment").value(e).build())
            .into_iter()
            .chain([Tag::builder().key("Team").value("platform").build()])
            .collect();
        Self {
            describe: mock!(Client::describe_services)
                .match_requests(move |r| r.cluster() == Some(cluster) && r.services() == [SERVICE])
                .then_output(move || {
                    DescribeServicesOutput::builder()
                        .services(service(cluster, status, vec![deployment(OLD, "PRIMARY")]))
                        .build()
                }),
            tags: mock!(Client::list_tags_for_resource)
                .match_requests(move |r| r.resource_arn() == Some(arn(cluster).as_str()))
                .then_output(move || {
                    ListTagsForResourceOutput::builder()
                        .set_tags(Some(tags.clone()))
                        .build()
                }),
            // Only the restart this tool means: force a new deployment of the checked ARN,
            // and change nothing else about the service.
            update: mock!(Client::update_service)
                .match_requests(move |r| {
                    r.cluster() == Some(cluster)
                        && r.service() == Some(arn(cluster).as_str())
                        && r.force_new_deployment() == Some(true)
                        && r.desired_count().is_none()
                        && r.task_definition().is_none()
                })
                .then_output(move || {
                    UpdateServiceOutput::builder()
                        .service(service(
                            cluster,
                            ACTIVE,
                            vec![deployment(NEW, "PRIMARY"), deployment(OLD, "ACTIVE")],
                        ))
                        .build()
                }),
        }
    }

    fn staging(environment: Option<&str>) -> Self {
        Self::new(STAGING, environment, ACTIVE)
    }

    fn client(&self) -> Client {
        mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&self.describe, &self.tags, &self.update]
        )
    }

    fn calls(&self) -> [usize; 3] {
        [
            self.describe.num_calls(),
            self.tags.num_calls(),
            self.update.num_calls(),
        ]
    }
}

#[expect(
    clippy::unwrap_used,
    reason = "a fixture that does not parse fails the test"
)]
fn clusters() -> ClusterMap {
    CLUSTERS.parse().unwrap()
}

async fn call(ecs: &Ecs, mode: Mode, payload: Value) -> Invoked {
    let tool = RestartService::new(ecs.client(), clusters());
    invoke(tool, mode, direct(payload)).await
}

fn args(environment: &str) -> Value {
    json!({"environment": environment, "service": SERVICE})
}

fn message(out: &Invoked) -> &str {
    out.report
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_real_staging_service_gets_a_new_deployment() {
    let ecs = Ecs::staging(Some("staging"));
    let out = call(&ecs, Mode::Enforce, args("staging")).await;
    assert!(!out.is_error, "{}", out.report);
    assert_eq!(ecs.calls(), [1, 1, 1]);
    assert_eq!(out.report["status"], "ok");
    assert_eq!(
        out.report["result"],
        json!({
            "cluster": STAGING,
            "service": SERVICE,
            "dry_run": false,
            "changed": true,
            "deployment_id": NEW,
            "previous_deployment_id": OLD,
            "desired_count": 2,
            "running_count": 2,
        })
    );
    assert_eq!(
        message(&out),
        format!(
            "restarted `{SERVICE}` in `{STAGING}`: new deployment `{NEW}` replaces `{OLD}` (desired 2, running 2)"
        )
    );
    assert_eq!(
        out.report["guard"]["checks"][1]["policies"],
        json!(["restart_only_real_staging_dev"])
    );
    assert_eq!(out.audit.len(), 2);
    assert!(out.audit.iter().all(|r| r.outcome == Outcome::Allow));
    assert_eq!(
        out.audit[1].resource,
        format!("Guard::EcsService::\"{}\"", arn(STAGING))
    );
}

#[tokio::test]
async fn production_without_a_persons_approval_is_denied_by_its_real_tag_and_never_restarted() {
    // The gateway lets a production claim through to be approved; without a known caller
    // and a person's approval, the resource check denies it on the service's real tag.
    let ecs = Ecs::new(PRODUCTION, Some("production"), ACTIVE);
    let out = call(&ecs, Mode::Enforce, args("production")).await;
    assert!(out.is_error);
    assert_eq!(ecs.calls(), [1, 1, 0]);
    assert_eq!(out.report["status"], "denied");
    assert_eq!(out.report["guard"]["checks"][0]["outcome"], "allow");
    assert_eq!(out.report["guard"]["checks"][1]["check"], "resource");
    assert_eq!(out.report["guard"]["checks"][1]["outcome"], "deny");
    assert_eq!(out.audit.len(), 2);
}

#[tokio::test]
async fn claiming_staging_for_a_production_service_is_denied_before_restarting() {
    // A production-tagged service where the staging cluster is: the claim is checked
    // against the service's real tag, not against the cluster it was found in.
    let ecs = Ecs::staging(Some("production"));
    let out = call(&ecs, Mode::Enforce, args("staging")).await;
    assert!(out.is_error);
    assert_eq!(ecs.calls(), [1, 1, 0]);
    assert_eq!(out.report["status"], "denied");
    assert_eq!(out.report["guard"]["checks"][0]["outcome"], "allow");
    assert_eq!(out.report["guard"]["checks"][1]["check"], "resource");
    assert_eq!(out.report["guard"]["checks"][1]["outcome"], "deny");
    assert_eq!(
        out.audit[1].resource,
        format!("Guard::EcsService::\"{}\"", arn(STAGING))
    );
}

#[tokio::test]
async fn an_untagged_service_is_denied() {
    let ecs = Ecs::staging(None);
    let out = call(&ecs, Mode::Enforce, args("staging")).await;
    assert_eq!(out.report["status"], "denied");
    assert_eq!(out.report["guard"]["checks"][1]["outcome"], "deny");
    assert_eq!(ecs.calls(), [1, 1, 0]);
}

#[tokio::test]
async fn an_unmapped_environment_is_a_configuration_error_without_any_call() {
    // `dev` passes the call check, but ECS_CLUSTERS names no cluster for it.
    let ecs = Ecs::staging(Some("dev"));
    let out = call(&ecs, Mode::Enforce, args("dev")).await;
    assert!(out.is_error);
    assert_eq!(out.report["error"], "configuration");
    assert_eq!(
        message(&out),
        "no ECS cluster is configured for environment `dev` (ECS_CLUSTERS maps: production, staging)"
    );
    assert_eq!(ecs.calls(), [0, 0, 0]);
    // The call check allowed it; the resource that could not be looked up is an audited
    // refusal.
    assert_eq!(out.audit.len(), 2);
    assert_eq!(out.audit[0].outcome, Outcome::Allow);
    assert_eq!(out.audit[1].outcome, Outcome::Error);
}

#[tokio::test]
async fn a_malformed_cluster_map_fails_every_call_clearly() {
    for (map, expected) in [
        (
            "staging",
            "ECS_CLUSTERS entry `staging` is not `environment=cluster`",
        ),
        (
            "staging=a,staging=b",
            "ECS_CLUSTERS names environment `staging` twice",
        ),
    ] {
        let ecs = Ecs::staging(Some("staging"));
        let error = map.parse::<ClusterMap>().unwrap_err();
        let out =
            invoke_misconfigured::<RestartService>(error, Mode::Enforce, direct(args("staging")))
                .await;
        assert_eq!(out.report["error"], "configuration", "{map}");
        assert_eq!(
            message(&out),
            format!("the function is misconfigured, nothing was called: {expected}")
        );
        assert_eq!(ecs.calls(), [0, 0, 0], "{map}");
    }
}

#[tokio::test]
async fn a_missing_service_is_a_clear_error() {
    let missing = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .failures(
                Failure::builder()
                    .arn(arn(STAGING))
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let empty =
        mock!(Client::describe_services).then_output(|| DescribeServicesOutput::builder().build());
    for describe in [missing, empty] {
        let ecs = Ecs::staging(Some("staging"));
        let client = mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            [&describe, &ecs.tags, &ecs.update]
        );
        let out = invoke(
            RestartService::new(client, clusters()),
            Mode::Enforce,
            direct(args("staging")),
        )
        .await;
        assert_eq!(out.report["error"], "not_found");
        assert_eq!(
            message(&out),
            format!("service `{SERVICE}` not found in cluster `{STAGING}`")
        );
        assert_eq!(ecs.calls()[1..], [0, 0]);
    }
}

#[tokio::test]
async fn a_missing_cluster_is_a_not_found_error() {
    let describe = mock!(Client::describe_services).then_error(|| {
        DescribeServicesError::generic(
            ErrorMetadata::builder()
                .code("ClusterNotFoundException")
                .message("Cluster not found.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let out = invoke(
        RestartService::new(client, clusters()),
        Mode::Enforce,
        direct(args("staging")),
    )
    .await;
    assert_eq!(out.report["error"], "not_found");
    assert_eq!(
        message(&out),
        "`ecs:DescribeServices` failed: ClusterNotFoundException: Cluster not found."
    );
}

#[tokio::test]
async fn a_service_that_is_not_active_is_a_conflict_and_is_not_updated() {
    for (status, dry_run) in [("DRAINING", false), ("INACTIVE", false), ("INACTIVE", true)] {
        let ecs = Ecs::new(STAGING, Some("staging"), status);
        let mut payload = args("staging");
        payload["dry_run"] = json!(dry_run);
        let out = call(&ecs, Mode::Enforce, payload).await;
        assert!(out.is_error);
        assert_eq!(out.report["error"], "conflict", "{status}");
        assert_eq!(
            message(&out),
            format!(
                "service `{SERVICE}` in cluster `{STAGING}` is {status}, not ACTIVE; only an active service can be restarted"
            )
        );
        assert_eq!(ecs.calls(), [1, 1, 0], "{status}");
    }
}

#[tokio::test]
async fn dry_run_reports_what_would_be_done_and_calls_no_mutating_api() {
    let ecs = Ecs::staging(Some("staging"));
    let mut payload = args("staging");
    payload["dry_run"] = json!(true);
    let out = call(&ecs, Mode::Enforce, payload).await;
    assert!(!out.is_error, "{}", out.report);
    assert_eq!(ecs.calls(), [1, 1, 0]);
    assert_eq!(
        out.report["result"],
        json!({
            "cluster": STAGING,
            "service": SERVICE,
            "dry_run": true,
            "changed": false,
            "deployment_id": OLD,
            "previous_deployment_id": OLD,
            "desired_count": 2,
            "running_count": 2,
        })
    );
    assert_eq!(
        message(&out),
        format!(
            "dry run: `{SERVICE}` in `{STAGING}` would get a new deployment replacing `{OLD}` (desired 2, running 2); nothing was changed"
        )
    );
}

#[tokio::test]
async fn throttling_and_access_denied_are_tool_errors_not_panics() {
    let describe = mock!(Client::describe_services).then_error(|| {
        DescribeServicesError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let throttled = invoke(
        RestartService::new(client, clusters()),
        Mode::Enforce,
        direct(args("staging")),
    )
    .await;
    assert_eq!(throttled.report["error"], "throttled");
    assert_eq!(
        message(&throttled),
        "`ecs:DescribeServices` failed (after the SDK's retries): ThrottlingException: Rate exceeded"
    );

    let ecs = Ecs::staging(Some("staging"));
    let denied = mock!(Client::update_service).then_error(|| {
        UpdateServiceError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: ecs:UpdateService")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&ecs.describe, &ecs.tags, &denied]
    );
    let out = invoke(
        RestartService::new(client, clusters()),
        Mode::Enforce,
        direct(args("staging")),
    )
    .await;
    assert_eq!(out.report["status"], "error");
    assert_eq!(out.report["error"], "access_denied");
    assert!(out.report.get("result").is_none(), "{}", out.report);
    assert!(message(&out).starts_with("`ecs:UpdateService` failed: AccessDeniedException"));
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_call() {
    for (payload, expected) in [
        (
            json!({"environment": "staging", "service": SERVICE, "force": true}),
            "unknown field `force`",
        ),
        (
            json!({"environment": "staging", "service": SERVICE, "cluster": STAGING}),
            "unknown field `cluster`",
        ),
        (
            json!({"environment": "staging", "service": 7}),
            "invalid argument `service`",
        ),
        (
            json!({"environment": "staging", "service": SERVICE, "dry_run": "yes"}),
            "invalid argument `dry_run`",
        ),
        (
            json!({"environment": ["staging"], "service": SERVICE}),
            "invalid argument `environment`",
        ),
        (json!({"environment": "staging"}), "missing field `service`"),
        (
            json!({"environment": "staging", "service": "api gateway"}),
            "`service` is `api gateway`, which is not an ECS service name",
        ),
        (
            json!({"environment": "staging", "service": "staging-cluster/api-gateway"}),
            "not an ECS service name",
        ),
        (
            json!({"environment": "staging", "service": ""}),
            "not an ECS service name",
        ),
        (
            json!({"environment": "staging", "service": "a".repeat(256)}),
            "not an ECS service name",
        ),
        (
            json!({"environment": "staging", "service": "ápi-gateway"}),
            "not an ECS service name",
        ),
        (
            json!({"environment": "staging", "service": "api-gateway\u{200b}"}),
            "U+200B",
        ),
        (
            json!({"environment": "\u{202e}gnigats", "service": SERVICE}),
            "U+202E",
        ),
        (json!("restart everything"), "must be a JSON object"),
    ] {
        let ecs = Ecs::staging(Some("staging"));
        let out = call(&ecs, Mode::Enforce, payload.clone()).await;
        assert!(out.is_error, "{payload}");
        assert_eq!(out.report["error"], "invalid_input", "{payload}");
        assert!(message(&out).contains(expected), "{}", out.report);
        assert_eq!(ecs.calls(), [0, 0, 0], "{payload}");
        // Refused before any policy was asked, and audited all the same.
        assert_eq!(out.audit.len(), 1, "{payload}");
        assert_eq!(out.audit[0].outcome, Outcome::Error, "{payload}");
    }
}

#[test]
fn service_names_are_letters_digits_hyphens_and_underscores_up_to_255() {
    let input = |service: String| RestartInput {
        environment: "staging".to_owned(),
        service,
        dry_run: false,
        approval_id: None,
    };
    for name in ["api-gateway", "worker_2", "A", &"s".repeat(255)] {
        assert!(
            RestartService::validate(&input(name.to_owned())).is_ok(),
            "{name}"
        );
    }
    let err = RestartService::validate(&input("api.gateway".to_owned())).unwrap_err();
    assert_eq!(
        err.message,
        "`service` is `api.gateway`, which is not an ECS service name (1 to 255 letters, digits, hyphens and underscores)"
    );
}

#[tokio::test]
async fn a_misrouted_call_is_refused_and_audited_without_any_call() {
    let ecs = Ecs::staging(Some("staging"));
    let event = from_gateway(args("staging"), "terminate-instance___terminate_instance");
    let tool = RestartService::new(ecs.client(), clusters());
    let out = invoke(tool, Mode::LogOnly, event).await;
    assert!(out.is_error);
    assert!(message(&out).contains("misrouted call"), "{}", out.report);
    assert_eq!(ecs.calls(), [0, 0, 0]);
    assert_eq!(out.audit.len(), 1);
    assert_eq!(out.audit[0].outcome, Outcome::Error);
}

#[tokio::test]
async fn a_gateway_call_is_checked_under_the_gateways_tool_name() {
    let ecs = Ecs::staging(Some("staging"));
    let event = from_gateway(args("staging"), "restart-service___restart_service");
    let out = invoke(
        RestartService::new(ecs.client(), clusters()),
        Mode::Enforce,
        event,
    )
    .await;
    assert!(!out.is_error, "{}", out.report);
    assert_eq!(ecs.calls(), [1, 1, 1]);
    assert_eq!(
        out.audit[0].request_ids.agentcore.as_deref(),
        Some("agentcore-request")
    );

    // A target the policies do not know: the call check cannot permit it.
    let ecs = Ecs::staging(Some("staging"));
    let event = from_gateway(args("staging"), "ops-tools___restart_service");
    let out = invoke(
        RestartService::new(ecs.client(), clusters()),
        Mode::Enforce,
        event,
    )
    .await;
    assert_eq!(out.report["status"], "denied");
    assert!(
        message(&out).contains("unknown tool `ops-tools___restart_service`"),
        "{}",
        out.report
    );
    assert_eq!(ecs.calls(), [0, 0, 0]);
}

#[tokio::test]
async fn log_only_records_would_deny_and_dry_run_keeps_production_untouched() {
    let ecs = Ecs::new(PRODUCTION, Some("production"), ACTIVE);
    let payload = json!({"environment": "production", "service": SERVICE, "dry_run": true});
    let out = call(&ecs, Mode::LogOnly, payload).await;
    assert!(!out.is_error, "{}", out.report);
    assert!(
        message(&out).starts_with("LOG_ONLY: the guard would have denied"),
        "{}",
        out.report
    );
    assert_eq!(
        ecs.calls(),
        [1, 1, 0],
        "LOG_ONLY let it through; dry_run kept it harmless"
    );
    assert_eq!(out.report["guard"]["mode"], "LOG_ONLY");
    assert_eq!(out.report["result"]["changed"], false);
    assert_eq!(out.audit.len(), 2);
    assert_eq!(
        (out.audit[0].outcome, out.audit[1].outcome),
        (Outcome::Allow, Outcome::WouldDeny),
        "the gateway lets a production claim through; the real tag is what would deny"
    );
}

#[test]
fn the_tool_schema_matches_the_parser_and_the_cedar_schema() {
    let schema = ToolSchema::parse(include_str!("../tool_schema.json")).unwrap();
    assert_eq!(schema.name, RestartService::NAME);
    let example = json!({
        "environment": "staging",
        "service": SERVICE,
        "dry_run": false,
        "approval_id": "restart_service-0123456789abcdef0123456789abcdef",
    });
    let problems = schema.check_parser::<RestartInput>(&example);
    assert!(problems.is_empty(), "{problems:#?}");
    let (guard, _) = agentcore_target::testing::guard(Mode::Enforce);
    let problems = schema.check_cedar(RestartService::DEFAULT_TARGET, guard.policy_sets().unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
}
