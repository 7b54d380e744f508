//! The demo's act for people over the tools (issue 21): `guard stop` halts a staging
//! termination sequence mid-way and `guard resume` lets it go on; then a production restart's
//! approval request, approved from the CLI by the on-call operator, is used once, its second
//! use refused, and an approval whose service was re-tagged in between is refused.
//!
//! Self-contained: it starts its own emulator, world and `terminate_instance` function, and
//! runs the built `guard` CLI as an operator would. The tools do not yet create approval
//! requests themselves (issue 21, open), so the act records the request as the tool will, and
//! uses it as the tool will, through `oversight::Approvals`.

use std::{process::Command, time::SystemTime};

use guard::{Principal, ResourceFacts};
use oversight::{ApprovalRequest, Approvals, Call, STOP_CACHE};
use serde_json::json;

use crate::{
    Emulator, Function, GATEWAY_ARN, RuntimeApi,
    function::binary,
    stage::report,
    world::{self, World},
};

/// The control log group the operator's orders are audited in.
const CONTROL_LOG: &str = "agent-guard-control";

/// Runs the act, printing it. `Ok(true)` when every step did what it should.
pub async fn run() -> Result<bool, String> {
    println!("\n== People over the tools: the stop switch and approvals ==");
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config().await;
    let world = world::seed(&config).await?;
    aws_sdk_cloudwatchlogs::Client::new(&config)
        .create_log_group()
        .log_group_name(CONTROL_LOG)
        .send()
        .await
        .map_err(|e| format!("control log group: {e}"))?;
    let api = RuntimeApi::start()?;
    let mut env = emulator.env();
    env.extend(
        [
            ("GATEWAY_ARN", GATEWAY_ARN),
            ("GUARD_MODE", "ENFORCE"),
            ("BUDGETS", "OFF"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let _function = Function::start("terminate_instance", api.address(), &env)?;
    let guard = |args: &[&str]| operator(&emulator, args);

    let stopped = stop_act(&api, &world, &guard).await?;
    let approved = approval_act(&config, &guard).await?;
    Ok(stopped && approved)
}

/// `guard ARGS` as the operator runs it (the emulator's credentials are the operator's).
fn operator(emulator: &Emulator, args: &[&str]) -> Result<(bool, String), String> {
    println!("$ guard {}", args.join(" "));
    let mut command = Command::new(binary("guard")?);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(oversight::CONTROL_LOG_VAR, CONTROL_LOG)
        .args(args);
    for (k, v) in emulator.env() {
        command.env(k, v);
    }
    let out = command.output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in text
        .lines()
        .filter(|l| !l.starts_with("{\"guard_control\""))
    {
        println!("  {line}");
    }
    Ok((out.status.success(), text))
}

/// The agent terminates idle staging instances one by one; the operator stops it after the
/// first, and resumes.
async fn stop_act(
    api: &RuntimeApi,
    world: &World,
    guard: &impl Fn(&[&str]) -> Result<(bool, String), String>,
) -> Result<bool, String> {
    let terminate = |id: &str| -> Result<(String, String), String> {
        let payload = json!({"environment": "staging", "instance_id": id});
        let (r, _) = report(api.invoke_json(&payload)?)?;
        let text = |field: &str| {
            r.get(field)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (status, message) = (text("status"), text("message"));
        println!("{} terminate_instance {id}: {message}", mark(&status));
        Ok((status, message))
    };
    let ids: Vec<&String> = world.staging.instances.iter().take(2).collect();
    let [first, second] = ids.as_slice() else {
        return Err("the world has fewer than two staging instances".to_owned());
    };
    let (s1, _) = terminate(first)?;
    let (ok_stop, _) = guard(&[
        "stop",
        "--reason",
        "the agent is terminating staging in a loop",
    ])?;
    // A function trusts its last read of the switch for STOP_CACHE: the stop reaches it then.
    tokio::time::sleep(STOP_CACHE).await;
    let (s2, m2) = terminate(second)?;
    let (ok_resume, _) = guard(&["resume"])?;
    tokio::time::sleep(STOP_CACHE).await;
    let (s3, _) = terminate(second)?;
    Ok(s1 == "ok"
        && ok_stop
        && s2 == "denied"
        && m2.contains("the tools are stopped")
        && ok_resume
        && s3 == "ok")
}

/// A production restart waits for the on-call operator, is used once, and an approval whose
/// service changed in between is refused.
async fn approval_act(
    config: &aws_config::SdkConfig,
    guard: &impl Fn(&[&str]) -> Result<(bool, String), String>,
) -> Result<bool, String> {
    let approvals = Approvals::new(
        aws_sdk_dynamodb::Client::new(config),
        crate::emulator::BUDGET_TABLE,
    );
    let agent = Principal::OAuthUser {
        id: "devops-agent".to_owned(),
        tags: std::collections::BTreeMap::new(),
    };
    let arguments = json!({"environment": "production", "service": "api-gateway"});
    let service = |environment: &str| {
        ResourceFacts::new(
            "Guard::EcsService",
            "arn:aws:ecs:us-east-1:123456789012:service/production-cluster/api-gateway",
        )
        .attribute("name", "api-gateway")
        .attribute("cluster", "production-cluster")
        .attribute("status", "ACTIVE")
        .tags([("environment".to_owned(), environment.to_owned())])
    };
    let request = |resource: &ResourceFacts| {
        ApprovalRequest::new(
            &Call {
                tool: "restart_service",
                arguments: &arguments,
                caller: Some(&agent),
                resource,
            },
            "a member of the on-call group (role `agent-guard-oncall`)",
            "the api-gateway service crashed at 2:37 AM; production restarts need a person",
            SystemTime::now(),
        )
    };
    let use_it = |id: String, resource: ResourceFacts| {
        let (approvals, arguments, agent) = (approvals.clone(), arguments.clone(), agent.clone());
        async move {
            let call = Call {
                tool: "restart_service",
                arguments: &arguments,
                caller: Some(&agent),
                resource: &resource,
            };
            approvals.consume(&id, &call, SystemTime::now()).await
        }
    };
    let say = |what: &str, result: &Result<ApprovalRequest, oversight::ApprovalError>| match result
    {
        Ok(used) => println!("✓ {what}: approval `{}` used; the restart runs", used.id),
        Err(e) => println!("✗ {what}: {e}"),
    };

    println!("\nThe agent asks to restart the crashed production api-gateway: approval required.");
    let first = request(&service("production"));
    approvals.record(&first).await.map_err(|e| e.to_string())?;
    let (approved, _) = guard(&["approve", &first.id, "--yes"])?;
    let once = use_it(first.id.clone(), service("production")).await;
    say("the agent calls again", &once);
    let twice = use_it(first.id.clone(), service("production")).await;
    say("the agent uses the same approval again", &twice);

    println!("\nAnother request; the service is re-tagged between the approval and the call.");
    let second = request(&service("production"));
    approvals.record(&second).await.map_err(|e| e.to_string())?;
    let (approved_again, _) = guard(&["approve", &second.id, "--yes"])?;
    let retagged = use_it(second.id.clone(), service("staging")).await;
    say("the agent calls on the re-tagged service", &retagged);

    Ok(approved
        && once.is_ok()
        && twice.is_err()
        && approved_again
        && retagged
            .as_ref()
            .is_err_and(|e| e.to_string().contains("the resource as read differs")))
}

fn mark(status: &str) -> &'static str {
    if status == "ok" { "✓" } else { "✗" }
}
