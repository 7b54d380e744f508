//! Approvals in the emulator's DynamoDB (issue 21 items 2–4), with the built `guard` CLI as
//! the approver: the approver is who STS says, never the caller; an approval is used once
//! even by calls racing on it; a changed resource, changed arguments, another caller or a
//! rejection is refused; every answer is audited in the control log group first.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{process::Command, time::SystemTime};

use aws_config::SdkConfig;
use e2e::{Emulator, function::binary, world};
use guard::{Principal, ResourceFacts};
use oversight::{ApprovalError, ApprovalRequest, Approvals, Call, Status};
use serde_json::{Value, json};

const CONTROL_LOG: &str = "agent-guard-control";

struct Bench {
    emulator: Emulator,
    config: SdkConfig,
    approvals: Approvals,
    /// Who the emulator's STS says the CLI's credentials belong to: alice, in the on-call
    /// role (the shipped policy honours no other approval).
    operator: String,
    /// Her role session's credentials, for the CLI.
    credentials: [(&'static str, String); 3],
}

async fn bench() -> Bench {
    let emulator = Emulator::start().unwrap();
    let config = emulator.sdk_config().await;
    world::budget_table(&config).await.unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&config)
        .create_log_group()
        .log_group_name(CONTROL_LOG)
        .send()
        .await
        .unwrap();
    let assumed = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn(e2e::chain::ONCALL_ROLE)
        .role_session_name("alice")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let credentials = [
        ("AWS_ACCESS_KEY_ID", c.access_key_id().to_owned()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key().to_owned()),
        ("AWS_SESSION_TOKEN", c.session_token().to_owned()),
    ];
    let operator = assumed.assumed_role_user().unwrap().arn().to_owned();
    let approvals = Approvals::new(
        aws_sdk_dynamodb::Client::new(&config),
        e2e::emulator::BUDGET_TABLE,
    );
    Bench {
        emulator,
        config,
        approvals,
        operator,
        credentials,
    }
}

fn production_service() -> ResourceFacts {
    ResourceFacts::new(
        "Guard::EcsService",
        "arn:aws:ecs:us-east-1:123456789012:service/production-cluster/api-gateway",
    )
    .attribute("name", "api-gateway")
    .attribute("cluster", "production-cluster")
    .attribute("status", "ACTIVE")
    .tags([("environment".to_owned(), "production".to_owned())])
}

fn agent() -> Principal {
    Principal::OAuthUser {
        id: "devops-agent".to_owned(),
        tags: std::collections::BTreeMap::new(),
    }
}

fn arguments() -> Value {
    json!({"environment": "production", "service": "api-gateway"})
}

/// A request for a production restart by `caller`, recorded as the tool records it.
async fn recorded(b: &Bench, caller: &Principal) -> ApprovalRequest {
    let (arguments, resource) = (arguments(), production_service());
    let call = Call {
        tool: "restart_service",
        arguments: &arguments,
        caller: Some(caller),
        resource: &resource,
    };
    let request = ApprovalRequest::new(
        &call,
        "a member of the on-call group who is not the caller",
        "production restarts need a person",
        SystemTime::now(),
    );
    b.approvals.record(&request).await.unwrap();
    request
}

/// `guard ARGS` as the operator runs it; exit code and output.
fn guard(b: &Bench, args: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(binary("guard").unwrap());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(oversight::CONTROL_LOG_VAR, CONTROL_LOG)
        .args(args);
    for (k, v) in b.emulator.env() {
        command.env(k, v);
    }
    for (k, v) in &b.credentials {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

async fn consume(
    b: &Bench,
    id: &str,
    arguments: &Value,
    caller: &Principal,
    resource: &ResourceFacts,
) -> Result<ApprovalRequest, ApprovalError> {
    let call = Call {
        tool: "restart_service",
        arguments,
        caller: Some(caller),
        resource,
    };
    b.approvals.consume(id, &call, SystemTime::now()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_from_the_cli_is_used_exactly_once_by_calls_racing_on_it() {
    let b = bench().await;
    let request = recorded(&b, &agent()).await;
    // Not approved yet: refused.
    let e = consume(
        &b,
        &request.id,
        &arguments(),
        &agent(),
        &production_service(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("is pending"), "{e}");

    let (code, out) = guard(&b, &["approve", &request.id, "--yes"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("What:      `restart_service`"),
        "the summary first: {out}"
    );
    assert!(
        out.contains(&format!("now approved by {}", b.operator)),
        "{out}"
    );

    // Eight calls race on the one approval: exactly one proceeds.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (approvals, id) = (b.approvals.clone(), request.id.clone());
            tokio::spawn(async move {
                let (arguments, caller, resource) = (arguments(), agent(), production_service());
                let call = Call {
                    tool: "restart_service",
                    arguments: &arguments,
                    caller: Some(&caller),
                    resource: &resource,
                };
                approvals.consume(&id, &call, SystemTime::now()).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let used: Vec<&ApprovalRequest> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(used.len(), 1, "{results:#?}");
    assert_eq!(
        used[0].status,
        Status::Used {
            by: b.operator.clone()
        }
    );
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(refused.to_string().contains("already used"), "{refused}");
    }

    // The answer was audited, naming the request and the approver.
    let events = aws_sdk_cloudwatchlogs::Client::new(&b.config)
        .filter_log_events()
        .log_group_name(CONTROL_LOG)
        .send()
        .await
        .unwrap();
    let records: Vec<guard::ControlRecord> = events
        .events()
        .iter()
        .filter_map(|e| guard::ControlRecord::from_line(e.message().unwrap_or_default()))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].action, guard::ControlAction::Approve);
    assert_eq!(records[0].request.as_deref(), Some(request.id.as_str()));
    assert_eq!(records[0].by, b.operator);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caller_cannot_approve_their_own_call() {
    let b = bench().await;
    // The call was made by the operator's own identity.
    let me = Principal::IamEntity {
        id: b.operator.clone(),
    };
    let request = recorded(&b, &me).await;
    let (code, out) = guard(&b, &["approve", &request.id, "--yes"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("nobody approves their own call"), "{out}");
    // Around the CLI, straight to the table: the write's own condition refuses it.
    let e = b
        .approvals
        .decide(
            &request.id,
            &b.operator,
            oversight::Verdict::Approve,
            SystemTime::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApprovalError::SelfApproval { .. }), "{e}");
    assert_eq!(
        b.approvals.read(&request.id).await.unwrap().status,
        Status::Pending
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_is_bound_to_the_arguments_the_caller_and_the_resource_state() {
    let b = bench().await;
    let request = recorded(&b, &agent()).await;
    let (code, out) = guard(&b, &["approve", &request.id, "--yes"]);
    assert_eq!(code, Some(0), "{out}");
    let retagged = production_service().tags([("environment".to_owned(), "staging".to_owned())]);
    let other_caller = Principal::OAuthUser {
        id: "another-agent".to_owned(),
        tags: std::collections::BTreeMap::new(),
    };
    let other_arguments = json!({"environment": "production", "service": "worker"});
    for (arguments, caller, resource, what) in [
        (arguments(), agent(), retagged, "the resource as read"),
        (
            arguments(),
            other_caller,
            production_service(),
            "the caller",
        ),
        (
            other_arguments,
            agent(),
            production_service(),
            "the arguments",
        ),
    ] {
        let e = consume(&b, &request.id, &arguments, &caller, &resource)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "approval request `{}` was approved for another call: {what} differs from what \
                 was approved, so it cannot be used",
                request.id
            )
        );
    }
    // None of those used it: the call it was approved for still may, once.
    consume(
        &b,
        &request.id,
        &arguments(),
        &agent(),
        &production_service(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_request_cannot_be_used_or_decided_again() {
    let b = bench().await;
    let request = recorded(&b, &agent()).await;
    let (code, out) = guard(&b, &["reject", &request.id, "--yes"]);
    assert_eq!(code, Some(0), "{out}");
    let e = consume(
        &b,
        &request.id,
        &arguments(),
        &agent(),
        &production_service(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("rejected by"), "{e}");
    let (code, out) = guard(&b, &["approve", &request.id, "--yes"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("cannot be decided again"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_aws_credentials_nobody_can_approve() {
    let b = bench().await;
    let request = recorded(&b, &agent()).await;
    // The operator's environment without any credentials: no name to type instead.
    let mut command = Command::new(binary("guard").unwrap());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(oversight::CONTROL_LOG_VAR, CONTROL_LOG)
        .args(["approve", &request.id, "--yes"]);
    for (k, v) in b.emulator.env() {
        if !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET") {
            command.env(k, v);
        }
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("who you are could not be established"),
        "{text}"
    );
    assert_eq!(
        b.approvals.read(&request.id).await.unwrap().status,
        Status::Pending
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_request_cannot_be_approved_nor_an_expired_approval_used() {
    let b = bench().await;
    let (arguments, resource) = (arguments(), production_service());
    let agent = agent();
    let call = Call {
        tool: "restart_service",
        arguments: &arguments,
        caller: Some(&agent),
        resource: &resource,
    };
    // Made 16 minutes ago: past its 15.
    let made =
        SystemTime::now() - oversight::APPROVAL_LIFETIME - std::time::Duration::from_secs(60);
    let stale = ApprovalRequest::new(&call, "on-call", "production", made);
    b.approvals.record(&stale).await.unwrap();
    let (code, out) = guard(&b, &["approve", &stale.id, "--yes"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("has expired"), "{out}");

    // Approved in time, used too late.
    let fresh = recorded(&b, &agent).await;
    let (code, out) = guard(&b, &["approve", &fresh.id, "--yes"]);
    assert_eq!(code, Some(0), "{out}");
    let later = SystemTime::now() + oversight::APPROVAL_LIFETIME;
    let e = b
        .approvals
        .consume(&fresh.id, &call, later)
        .await
        .unwrap_err();
    assert_eq!(e, ApprovalError::Expired(fresh.id.clone()));
}
