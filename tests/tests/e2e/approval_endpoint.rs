//! The built approval endpoint on the emulator's DynamoDB, fed the shipped function URL events
//! (`events/approval_endpoint/`) as Lambda would hand them over: an approval is recorded only
//! as the identity AWS verified, never without one, never by the caller, never by someone the
//! policies do not accept, and its audit record comes first. (The emulator serves no function
//! URLs: the events stand for what Lambda builds from a signed request.)

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::SystemTime;

use e2e::{Emulator, Function, RuntimeApi, emulator::BUDGET_TABLE, emulator::workspace, world};
use guard::{ControlAction, ControlRecord, Principal, ResourceFacts};
use oversight::{ApprovalRequest, Approvals, Call, Status};
use serde_json::{Value, json};

/// The request id the sample events name.
const PLACEHOLDER_ID: &str = "restart_service-0a1b2c3d4e5f60000a1b2c3d4e5f6000";
/// Who `allow-approve-as-oncall` is signed by.
const ONCALL_ALICE: &str = "arn:aws:sts::123456789012:assumed-role/agent-guard-oncall/alice";

/// Sample event `name`, naming request `id`.
fn event(name: &str, id: &str) -> Value {
    let path = workspace()
        .join("events/approval_endpoint")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text.replace(PLACEHOLDER_ID, id)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_built_endpoint_records_an_approval_only_as_the_identity_aws_verified() {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config().await;
    world::budget_table(&config).await.unwrap();
    let approvals = Approvals::new(aws_sdk_dynamodb::Client::new(&config), BUDGET_TABLE);
    let agent = Principal::OAuthUser {
        id: "devops-agent".to_owned(),
        tags: std::collections::BTreeMap::new(),
    };
    let resource = ResourceFacts::new(
        "Guard::EcsService",
        "arn:aws:ecs:us-east-1:123456789012:service/production-cluster/api-gateway",
    )
    .attribute("name", "api-gateway")
    .attribute("cluster", "production-cluster")
    .attribute("status", "ACTIVE")
    .tags([("environment".to_owned(), "production".to_owned())]);
    let call = Call {
        tool: "restart_service",
        arguments: &json!({"environment": "production", "service": "api-gateway"}),
        caller: Some(&agent),
        resource: &resource,
    };
    let request = ApprovalRequest::new(
        &call,
        "a member of the on-call group who is not the caller",
        "production restarts need a person",
        SystemTime::now(),
    );
    approvals.record(&request).await.unwrap();

    let api = RuntimeApi::start().unwrap();
    let function = Function::start("approval_endpoint", api.address(), &emulator.env()).unwrap();
    let ask = |name: &str| {
        let answer = api
            .invoke_json(&event(name, &request.id))
            .unwrap()
            .response()
            .unwrap();
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        (answer["statusCode"].as_u64().unwrap(), body)
    };

    // Nobody AWS verified, the caller themselves, an IAM user the policies do not accept:
    // refused, and the request still waits.
    for (name, error) in [
        ("deny-approve-without-verified-identity", "unauthenticated"),
        ("deny-approve-own-call", "self_approval"),
        ("deny-approve-as-iam-user", "not_an_approver"),
        ("invalid-unknown-field", "bad_body"),
    ] {
        let (status, body) = ask(name);
        assert!(status == 403 || status == 400, "{name}: {status} {body}");
        assert_eq!(body["error"], error, "{name}: {body}");
        assert_eq!(
            approvals.read(&request.id).await.unwrap().status,
            Status::Pending,
            "{name}"
        );
    }

    // The summary first, then the approval, recorded as the signer.
    let (status, body) = ask("allow-show-request");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"], request.summary());
    let (status, body) = ask("allow-approve-as-oncall");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        approvals.read(&request.id).await.unwrap().status,
        Status::Approved {
            by: ONCALL_ALICE.to_owned()
        }
    );
    // Decided once: a second answer is refused.
    let (status, body) = ask("allow-reject-as-oncall");
    assert_eq!(status, 409, "{body}");

    // The decision's audit record was written before the endpoint's record of the answer, and
    // every request left one record. The lines are read from the pipe on another thread: wait
    // for the seventh (5 s at most).
    let answered = |lines: &[String]| {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("approval_endpoint").is_some())
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut lines = function.log_lines();
    while answered(&lines) < 7 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        lines = function.log_lines();
    }
    let control: Vec<(usize, ControlRecord)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| ControlRecord::from_line(l).map(|r| (i, r)))
        .collect();
    assert_eq!(control.len(), 1, "{lines:#?}");
    let (at, record) = &control[0];
    assert_eq!(record.action, ControlAction::Approve);
    assert_eq!(record.by, ONCALL_ALICE);
    let records: Vec<(usize, Value)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let v: Value = serde_json::from_str(l).ok()?;
            Some((i, v.get("approval_endpoint")?.clone()))
        })
        .collect();
    assert_eq!(records.len(), 7, "{lines:#?}");
    let decided = records
        .iter()
        .find(|(_, r)| r["outcome"] == "decided")
        .unwrap();
    assert!(at < &decided.0, "{lines:#?}");
}
