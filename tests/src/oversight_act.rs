//! The demo's act for people over the tools (issue 21): `guard stop` halts a staging
//! termination sequence mid-way and `guard resume` lets it go on; then a production restart's
//! approval request, approved from the CLI by the on-call operator, is used once, its second
//! use refused, and an approval whose service was re-tagged in between is refused.
//!
//! Self-contained: it starts its own emulators, worlds and functions (`terminate_instance`; the
//! interceptor and `restart_service`), and runs the built `guard` CLI as an operator would.

use std::process::Command;

use oversight::STOP_CACHE;
use serde_json::{Value, json};

use crate::{
    Emulator, Function, GATEWAY_ARN, RuntimeApi,
    chain::{Chain, agent_claims},
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
    let approved = approval_act().await?;
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

/// A production restart waits for the on-call operator: the agent's call through the gateway
/// answers *approval required*; alice, on call, approves from the CLI; the call naming the
/// approval restarts the service; the same approval again is refused; and an approval whose
/// service was re-tagged in between is refused. The interceptor and the built
/// `restart_service` on an emulator of their own ([`Chain`]).
async fn approval_act() -> Result<bool, String> {
    const TOOL: &str = "restart-service___restart_service";
    let chain = Chain::start("restart_service", "ENFORCE").await?;
    let chain = &chain;
    let service = chain
        .world
        .production
        .services
        .first()
        .ok_or("the world has no production service")?
        .clone();
    let production = json!({"environment": "production", "service": service});
    let mut next_id = 100_u64;
    let mut agent = |arguments: &Value, what: &str| -> Result<Value, String> {
        next_id += 1;
        let (answer, reached) = chain.through_gateway(TOOL, arguments, next_id, &agent_claims())?;
        let (report, _) = reached.ok_or_else(|| format!("the interceptor refused: {answer}"))?;
        let (status, message) = (text(&report, "/status"), text(&report, "/message"));
        println!("{} {what}: {status}: {message}", mark(&status));
        Ok(report)
    };
    let approve = |id: String| async move {
        println!("$ guard approve {id} --yes    (alice, in role agent-guard-oncall)");
        let (ok, text) = chain
            .guard_cli(Some("alice"), &["approve", &id, "--yes"])
            .await?;
        for line in text
            .lines()
            .filter(|l| !l.starts_with("{\"guard_control\""))
        {
            println!("  {line}");
        }
        Ok::<bool, String>(ok)
    };
    let named = |request: &str| {
        let mut arguments = production.clone();
        if let Some(map) = arguments.as_object_mut() {
            map.insert("approval_id".to_owned(), json!(request));
        }
        arguments
    };

    println!(
        "\nThe api-gateway service crashed at 2:37 AM; the agent asks to restart it in production."
    );
    let asked = agent(&production, "restart_service production")?;
    let first = text(&asked, "/result/approval/id");
    let approved = approve(first.clone()).await?;
    let ran = agent(&named(&first), "the agent calls again, naming the approval")?;
    let again = agent(&named(&first), "the agent uses the same approval again")?;

    println!("\nAnother request; the service is re-tagged between the approval and the call.");
    let asked_again = agent(&production, "restart_service production")?;
    let second = text(&asked_again, "/result/approval/id");
    let approved_again = approve(second.clone()).await?;
    chain
        .tag_service(
            &chain.world.production.cluster,
            &service,
            "Owner",
            "platform-team",
        )
        .await?;
    println!("  (someone tags the service Owner=platform-team)");
    let retagged = agent(&named(&second), "the agent calls on the re-tagged service")?;
    let restarts = chain.requests("UpdateService").len();
    println!("ECS UpdateService calls: {restarts} (one: the approved call)");

    Ok(text(&asked, "/status") == "approval_required"
        && approved
        && text(&ran, "/status") == "ok"
        && text(&again, "/status") == "denied"
        && text(&asked_again, "/status") == "approval_required"
        && approved_again
        && text(&retagged, "/status") == "denied"
        && text(&retagged, "/message").contains("the resource as read differs")
        && restarts == 1)
}

/// The string at `pointer` in a report, or empty.
fn text(report: &Value, pointer: &str) -> String {
    report
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn mark(status: &str) -> &'static str {
    if status == "ok" { "✓" } else { "✗" }
}
