//! A production restart with a person's say-so, end to end (issue 21): the interceptor and the
//! built `restart_service` on the emulator, the built `guard` CLI as the approver in the
//! on-call role (an STS role session, as AWS would name it). The first call answers *approval
//! required* and records the request; a person approves; the call naming it runs once. Bound
//! to the arguments, the caller and the service as read; expired, pending, self-approved and
//! approvals the policies do not honour are refused, and nothing restarts; two calls racing on
//! one approval restart once.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::SystemTime;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::{
    chain::{Chain, agent_claims},
    emulator::BUDGET_TABLE,
};
use serde_json::{Value, json};

const TOOL: &str = "restart-service___restart_service";

async fn chain() -> Chain {
    Chain::start("restart_service", "ENFORCE").await.unwrap()
}

fn production(chain: &Chain) -> Value {
    json!({"environment": "production", "service": chain.world.production.services[0]})
}

/// The agent's call through the gateway: the tool's report.
fn agent(chain: &Chain, arguments: &Value, id: u64, claims: &Value) -> Value {
    let (answer, reached) = chain.through_gateway(TOOL, arguments, id, claims).unwrap();
    assert!(reached.is_some(), "the interceptor refused: {answer}");
    let (report, is_error) = reached.unwrap();
    assert_eq!(is_error, report["status"] != "ok", "{report}");
    report
}

/// The first call: approval required, and the request's id.
fn ask(chain: &Chain, id: u64) -> String {
    let report = agent(chain, &production(chain), id, &agent_claims());
    assert_eq!(report["status"], "approval_required", "{report}");
    let approval = &report["result"]["approval"];
    assert_eq!(approval["status"], "pending", "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.contains("agent-guard-oncall"), "{message}");
    approval["id"].as_str().unwrap().to_owned()
}

/// The call again, naming approval `request`.
fn with_approval(arguments: &Value, request: &str) -> Value {
    let mut arguments = arguments.clone();
    arguments["approval_id"] = json!(request);
    arguments
}

async fn guard(chain: &Chain, person: Option<&str>, args: &[&str]) -> (bool, String) {
    chain.guard_cli(person, args).await.unwrap()
}

async fn approve(chain: &Chain, person: &str, request: &str) {
    let (ok, text) = guard(chain, Some(person), &["approve", request, "--yes"]).await;
    assert!(ok, "{text}");
}

/// How many times the service was restarted (ECS `UpdateService` calls the emulator served).
fn restarts(chain: &Chain) -> usize {
    chain.requests("UpdateService").len()
}

/// A refusal of the call naming an approval, and that it says `says`.
fn refused(report: &Value, says: &str) {
    assert_eq!(report["status"], "denied", "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(message.contains(says), "expected `{says}` in: {message}");
    let last = report["guard"]["checks"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(last["check"], "resource", "{report}");
}

async fn status(chain: &Chain, request: &str) -> String {
    let approvals =
        oversight::Approvals::new(aws_sdk_dynamodb::Client::new(&chain.config), BUDGET_TABLE);
    let read = approvals.read(request).await.unwrap();
    format!("{:?}", read.status)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_production_restart_waits_for_a_person_and_runs_once_on_their_approval() {
    let chain = chain().await;
    let request = ask(&chain, 1);
    assert_eq!(restarts(&chain), 0, "asking changes nothing");
    // The approvers were told, in one screen, with the id and how to answer.
    let published = chain.requests("Publish");
    assert_eq!(published.len(), 1, "{published:?}");
    let body = &published[0].0;
    for says in [
        request.as_str(),
        "restart_service",
        "agent-guard-oncall",
        "guard%20approve",
    ] {
        assert!(body.contains(says), "`{says}` not in {body}");
    }
    // The request's record, in the function's log.
    let records = chain.tool.function.control_records();
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "request" && r["request"] == request.as_str()),
        "{records:?}"
    );

    // The approver reads the one screen, then approves, as who STS says they are.
    let (ok, text) = guard(&chain, Some("alice"), &["approve", &request, "--yes"]).await;
    assert!(ok, "{text}");
    assert!(text.contains("Approval request"), "{text}");
    assert!(
        text.contains("assumed-role/agent-guard-oncall/alice"),
        "{text}"
    );

    let approved = with_approval(&production(&chain), &request);
    let report = agent(&chain, &approved, 2, &agent_claims());
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(restarts(&chain), 1);
    assert_eq!(report["acting_as"], "agent-7", "{report}");
    assert!(status(&chain, &request).await.starts_with("Used"));
    // Made in the approved role's session, named for the caller and the approval.
    let sessions: Vec<_> = chain
        .requests("AssumeRole")
        .into_iter()
        .filter(|(body, _)| body.contains("agent-guard-approved-restart"))
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(
        sessions[0].0.contains("SourceIdentity=agent-7"),
        "{}",
        sessions[0].0
    );
    assert!(sessions[0].0.contains(&request), "{}", sessions[0].0);
    let restart = &chain.requests("UpdateService")[0].1;
    assert!(
        !restart.contains("Credential=testing/"),
        "made with the function's own credentials: {restart}"
    );

    // The same approval again: used.
    let report = agent(&chain, &approved, 3, &agent_claims());
    refused(&report, "already used");
    assert_eq!(restarts(&chain), 1);
    let records = chain.tool.function.control_records();
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "use" && r["request"] == request.as_str()),
        "{records:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_is_bound_to_the_arguments_the_caller_and_the_service_as_read() {
    let chain = chain().await;
    let request = ask(&chain, 1);
    approve(&chain, "alice", &request).await;
    let arguments = production(&chain);

    // Other arguments (a dry run is another call).
    let mut other = with_approval(&arguments, &request);
    other["dry_run"] = json!(true);
    refused(
        &agent(&chain, &other, 2, &agent_claims()),
        "the arguments differ",
    );
    // Another caller.
    let mut claims = agent_claims();
    claims["sub"] = json!("agent-8");
    refused(
        &agent(&chain, &with_approval(&arguments, &request), 3, &claims),
        "the caller differs",
    );
    // The service re-tagged between the approval and the call.
    let ecs = aws_sdk_ecs::Client::new(&chain.config);
    let service = ecs
        .describe_services()
        .cluster(&chain.world.production.cluster)
        .services(&chain.world.production.services[0])
        .send()
        .await
        .unwrap();
    let arn = service.services()[0].service_arn().unwrap().to_owned();
    ecs.tag_resource()
        .resource_arn(arn)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("Owner")
                .value("someone-else")
                .build(),
        )
        .send()
        .await
        .unwrap();
    refused(
        &agent(
            &chain,
            &with_approval(&arguments, &request),
            4,
            &agent_claims(),
        ),
        "the resource as read differs",
    );
    assert_eq!(restarts(&chain), 0);
    assert!(status(&chain, &request).await.starts_with("Approved"));
}

#[tokio::test(flavor = "multi_thread")]
async fn self_approval_other_roles_pending_unknown_and_expired_approvals_run_nothing() {
    let chain = chain().await;
    let request = ask(&chain, 1);
    let arguments = with_approval(&production(&chain), &request);

    // Pending: nobody approved yet.
    refused(&agent(&chain, &arguments, 2, &agent_claims()), "pending");
    // The caller in the on-call role approving their own call.
    let (ok, text) = guard(&chain, Some("agent-7"), &["approve", &request, "--yes"]).await;
    assert!(
        !ok && text.contains("nobody approves their own call"),
        "{text}"
    );
    // Someone outside the on-call role: the policies would not honour it.
    let (ok, text) = guard(&chain, None, &["approve", &request, "--yes"]).await;
    assert!(
        !ok && text.contains("the policies would not let the call run"),
        "{text}"
    );
    assert_eq!(status(&chain, &request).await, "Pending");
    // A request that does not exist, and text that is not a request id.
    let missing = with_approval(
        &production(&chain),
        "restart_service-00000000000000000000000000000000",
    );
    refused(
        &agent(&chain, &missing, 3, &agent_claims()),
        "does not exist",
    );
    let report = agent(
        &chain,
        &with_approval(&production(&chain), "restart_service-X\n{\"forged\":1}"),
        4,
        &agent_claims(),
    );
    assert_eq!(report["status"], "error", "{report}");

    // Approved, then past its expiry.
    approve(&chain, "alice", &request).await;
    let past = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    aws_sdk_dynamodb::Client::new(&chain.config)
        .update_item()
        .table_name(BUDGET_TABLE)
        .key(
            budget::ledger::KEY,
            AttributeValue::S(format!("restart_service#approval#{request}")),
        )
        .key(budget::ledger::SLOT, AttributeValue::N("0".to_owned()))
        .update_expression("SET #e = :past")
        .expression_attribute_names("#e", budget::ledger::EXPIRES_AT)
        .expression_attribute_values(":past", AttributeValue::N(past.to_string()))
        .send()
        .await
        .unwrap();
    refused(&agent(&chain, &arguments, 5, &agent_claims()), "expired");
    assert_eq!(restarts(&chain), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_calls_racing_on_one_approval_restart_the_service_once() {
    let chain = chain().await;
    let request = ask(&chain, 1);
    approve(&chain, "alice", &request).await;
    let arguments = with_approval(&production(&chain), &request);
    let second = chain.another_tool().unwrap();
    // Each call vouched for by the interceptor as its own MCP request.
    let passed = [10_u64, 11].map(|id| {
        let answer = chain
            .intercept(TOOL, &arguments, id, &agent_claims())
            .unwrap();
        e2e::chain::passed_arguments(&answer).unwrap()
    });
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Chain::call(&chain.tool, TOOL, &passed[0], 10).unwrap());
        let b = s.spawn(|| Chain::call(&second, TOOL, &passed[1], 11).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    let oks = [&a, &b]
        .iter()
        .filter(|(report, _)| report["status"] == "ok")
        .count();
    assert_eq!(oks, 1, "{a:?} {b:?}");
    assert_eq!(restarts(&chain), 1);
    let lost = if a.0["status"] == "ok" { &b.0 } else { &a.0 };
    refused(lost, "used");
}
