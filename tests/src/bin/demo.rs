//! The 2:37 AM disaster, replayed locally and blocked.
//!
//! Seeds a staging and a production world on the AWS emulator, then replays the article's
//! sequence — restart all services, terminate the "idle" instances, clean "old" logs, read
//! metrics — through the four built functions over the Lambda Runtime API, as AgentCore Gateway
//! would call them. Then replays it on a fresh world in LOG_ONLY with `dry_run`, to show what
//! LOG_ONLY reports without letting anything change. Between the two, the runaway act: the agent
//! "optimises" staging by terminating idle instances one after another, each call allowed by
//! both checks, until the budget over time stops it; and the ENFORCE run's own audit records
//! replayed against a candidate policy change (`tests/demo/candidate-policies/`) with the built
//! `guard replay`, its flips printed. Exits non-zero if production was touched, the budget did
//! not hold, or the replay did not show the candidate's flips.

use std::{
    collections::BTreeMap,
    process::{Command, ExitCode},
};

use e2e::{
    Emulator, Function, GATEWAY_ARN, RuntimeApi,
    function::binary,
    stage::report,
    world::{self, Snapshot, World},
};
use serde_json::{Value, json};

/// One tool call of the sequence.
struct Call {
    /// The function (binary) and its gateway tool name.
    tool: Tool,
    /// What the agent was thinking.
    intent: String,
    /// The arguments.
    arguments: Value,
}

#[derive(Clone, Copy)]
enum Tool {
    Restart,
    Terminate,
    CleanLogs,
    Metrics,
}

impl Tool {
    const ALL: [Tool; 4] = [
        Tool::Restart,
        Tool::Terminate,
        Tool::CleanLogs,
        Tool::Metrics,
    ];

    fn binary(self) -> &'static str {
        match self {
            Self::Restart => "restart_service",
            Self::Terminate => "terminate_instance",
            Self::CleanLogs => "clean_logs",
            Self::Metrics => "get_metrics",
        }
    }

    fn gateway_name(self) -> &'static str {
        match self {
            Self::Restart => "restart-service___restart_service",
            Self::Terminate => "terminate-instance___terminate_instance",
            Self::CleanLogs => "clean-logs___clean_logs",
            Self::Metrics => "get-metrics___get_metrics",
        }
    }
}

/// The four functions, each on its own Runtime API, against one emulator.
struct Functions {
    running: Vec<(RuntimeApi, Function)>,
}

impl Functions {
    fn start(emulator: &Emulator, world: &World, mode: &str) -> Result<Self, String> {
        let mut running = Vec::new();
        for tool in Tool::ALL {
            let api = RuntimeApi::start()?;
            let mut env = emulator.env();
            for (k, v) in [
                ("GATEWAY_ARN", GATEWAY_ARN.to_owned()),
                ("GUARD_MODE", mode.to_owned()),
                ("ECS_CLUSTERS", world.ecs_clusters()),
            ] {
                env.push((k.to_owned(), v));
            }
            let function = Function::start(tool.binary(), api.address(), &env)?;
            running.push((api, function));
        }
        Ok(Self { running })
    }

    /// The running function of `tool`.
    fn function(&self, tool: Tool) -> Option<&Function> {
        let index = Tool::ALL.iter().position(|t| t.binary() == tool.binary())?;
        self.running.get(index).map(|(_, f)| f)
    }

    /// Calls a tool the way the gateway does: its tool name in the client context.
    fn call(&self, call: &Call) -> Result<Value, String> {
        let index = Tool::ALL
            .iter()
            .position(|t| t.binary() == call.tool.binary())
            .ok_or("unknown tool")?;
        let (api, _) = self.running.get(index).ok_or("function not running")?;
        let context = agentcore_target::gateway_client_context(
            call.tool.gateway_name(),
            e2e::GATEWAY_ID,
            "demo",
        );
        let answer = api.invoke(
            e2e::Invocation::json(&call.arguments).with_client_context(context.to_string()),
            std::time::Duration::from_secs(60),
        )?;
        Ok(report(answer)?.0)
    }

    /// Every function's log lines, once each has written `records[i]` audit records.
    fn log_lines(&self, records: &[usize; 4]) -> Vec<String> {
        self.running
            .iter()
            .zip(records)
            .flat_map(|((_, function), &count)| {
                function.audit_records_at_least(count);
                function.log_lines()
            })
            .collect()
    }
}

/// The candidate policies the demo replays its ENFORCE run against.
const CANDIDATE: &str = "tests/demo/candidate-policies";

/// Leaves `log_lines`' audit records in a file for the user, then replays them against
/// [`CANDIDATE`] with the built `guard replay`, printing what it prints; returns whether it
/// found the flips the candidate makes (and CI would stop it).
fn replay(log_lines: &[String]) -> Result<bool, String> {
    e2e::records::save(log_lines)?;
    let records = log_lines
        .iter()
        .filter(|l| l.contains("guard_audit"))
        .count();
    println!(
        "\n== Replay: the ENFORCE run's {records} audit records against a candidate change ({CANDIDATE}) =="
    );
    println!("$ guard replay --policies {CANDIDATE} --fail-on newly-allowed < the functions' logs");
    let mut replay = Command::new(binary("guard")?);
    replay
        .args([
            "replay",
            "--policies",
            CANDIDATE,
            "--gateway-arn",
            GATEWAY_ARN,
        ])
        .args(["--fail-on", "newly-allowed"]);
    let out = e2e::process::output_with_stdin(&mut replay, log_lines.join("\n").as_bytes())?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        println!("  {line}");
    }
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let newly_allowed = out.status.code() == Some(1);
    println!(
        "The candidate tightens restarts and loosens log cleaning; replay shows the loosening \
         would have let this agent clean production's logs{}.",
        if newly_allowed {
            ", and `--fail-on newly-allowed` stops it in CI (exit 1)"
        } else {
            ""
        }
    );
    // Budget records depend on the history of calls, not on the policies: counted on their
    // own line. Every other record must be decided again.
    let all_replayed =
        !text.contains("NOT REPLAYED") && text.contains("budget checks: decided by history");
    Ok(newly_allowed && text.contains("NEWLY DENIED") && all_replayed)
}

/// The article's sequence, as the confused agent runs it.
fn sequence(world: &World, dry_run: bool) -> Vec<Call> {
    let mut calls = Vec::new();
    let with_dry_run = |mut arguments: Value| {
        if dry_run && let Some(fields) = arguments.as_object_mut() {
            fields.insert("dry_run".to_owned(), Value::Bool(true));
        }
        arguments
    };
    let (staging, production) = (&world.staging, &world.production);

    // 1. "Restart all services (including production)".
    for env in [staging, production] {
        for service in &env.services {
            calls.push(Call {
                tool: Tool::Restart,
                intent: format!("restart {} in {}", service, env.name),
                arguments: with_dry_run(json!({"environment": env.name, "service": service})),
            });
        }
    }
    calls.push(Call {
        tool: Tool::Restart,
        intent: format!(
            "restart `{}`, believing it is a staging service (it is production's, deployed in the staging cluster)",
            world.misplaced_service
        ),
        arguments: with_dry_run(json!({"environment": "staging", "service": world.misplaced_service})),
    });

    // 2. "Terminated 15 idle EC2 instances (which turned out to be production)".
    for id in &staging.instances {
        calls.push(Call {
            tool: Tool::Terminate,
            intent: format!("terminate idle staging instance {id}"),
            arguments: with_dry_run(json!({"environment": "staging", "instance_id": id})),
        });
    }
    for id in &production.instances {
        calls.push(Call {
            tool: Tool::Terminate,
            intent: format!("terminate idle production instance {id} (low CPU at 3 AM)"),
            arguments: with_dry_run(json!({"environment": "production", "instance_id": id})),
        });
    }
    if let Some(id) = production.instances.first() {
        calls.push(Call {
            tool: Tool::Terminate,
            intent: format!("terminate {id}, having lost track: the agent now calls it staging"),
            arguments: with_dry_run(json!({"environment": "staging", "instance_id": id})),
        });
    }
    calls.push(Call {
        tool: Tool::Terminate,
        intent: format!(
            "terminate untagged instance {}, calling it staging",
            world.untagged_instance
        ),
        arguments: with_dry_run(
            json!({"environment": "staging", "instance_id": world.untagged_instance}),
        ),
    });
    calls.push(Call {
        tool: Tool::Terminate,
        intent: format!(
            "terminate termination-protected staging instance {}",
            staging.protected_instance
        ),
        arguments: with_dry_run(
            json!({"environment": "staging", "instance_id": staging.protected_instance}),
        ),
    });

    // 3. "Cleaned up old logs (including compliance audit records)".
    for group in [
        &staging.log_group,
        &production.log_group,
        &world.audit_log_group,
    ] {
        calls.push(Call {
            tool: Tool::CleanLogs,
            intent: format!("clean log streams older than a week in {group}"),
            arguments: with_dry_run(json!({"log_group": group, "older_than_days": 7})),
        });
    }

    // 4. "Review the state of production": reading is always fine.
    calls.push(Call {
        tool: Tool::Metrics,
        intent: "read production api-gateway CPU".to_owned(),
        arguments: json!({"service_name": "api-gateway", "environment": "production", "minutes": 30}),
    });
    calls
}

/// One line per call: the decision, the reason, the effect.
fn show(call: &Call, report: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let status = report.get("status").map(text).unwrap_or_default();
    let would_deny = report
        .pointer("/guard/checks")
        .and_then(Value::as_array)
        .is_some_and(|checks| checks.iter().any(|c| c["outcome"] == "would_deny"));
    let mark = match (status.as_str(), would_deny) {
        ("ok", true) => "~ WOULD DENY",
        ("ok", false) => "✓ ALLOW     ",
        ("denied", _) => "✗ DENY      ",
        _ => "! ERROR     ",
    };
    println!("{mark} {:<18} {}", call.tool.binary(), call.intent);
    println!(
        "               {}",
        report.get("message").map(text).unwrap_or_default()
    );
}

fn production_of(snapshot: &Snapshot, world: &World) -> Value {
    let p = &world.production;
    let instances: BTreeMap<&String, &str> = p
        .instances
        .iter()
        .chain([&p.protected_instance])
        .map(|id| (id, snapshot.instance(id)))
        .collect();
    let services: BTreeMap<&String, &[String]> = p
        .services
        .iter()
        .map(|s| (s, snapshot.deployments_of(&p.cluster, s)))
        .chain([(
            &world.misplaced_service,
            snapshot.deployments_of(&world.staging.cluster, &world.misplaced_service),
        )])
        .collect();
    let streams: BTreeMap<&String, &[String]> = [&p.log_group, &world.audit_log_group]
        .into_iter()
        .map(|g| (g, snapshot.streams_of(g)))
        .collect();
    json!({"instances": instances, "services": services, "log_streams": streams})
}

/// The shipped `terminate-per-environment` budget (policies/budgets.json).
const TERMINATE_BUDGET: usize = 3;

/// One act: the sequence on a fresh world. With `runaway`, the budget act follows on the same
/// world; its result is whether the budget held. The snapshots are taken around the sequence.
async fn act(
    title: &str,
    mode: &str,
    dry_run: bool,
    runaway: bool,
) -> Result<(World, Snapshot, Snapshot, Vec<String>, bool), String> {
    println!("\n== {title} ==");
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config().await;
    let world = world::seed(&config).await?;
    let before = world::snapshot(&config, &world).await?;
    let functions = Functions::start(&emulator, &world, mode)?;
    let mut records = [0; 4];
    for call in sequence(&world, dry_run) {
        let report = functions.call(&call)?;
        show(&call, &report);
        // One audit record per check the report lists.
        let checks = report
            .pointer("/guard/checks")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if let Some(count) = Tool::ALL
            .iter()
            .position(|t| t.binary() == call.tool.binary())
            .and_then(|i| records.get_mut(i))
        {
            *count += checks;
        }
    }
    let after = world::snapshot(&config, &world).await?;
    // The sequence's own audit lines, for the replay (before the runaway act adds its own).
    let log_lines = functions.log_lines(&records);
    let held = if runaway {
        runaway_act(&config, &world, &after, &functions).await?
    } else {
        true
    };
    Ok((world, before, after, log_lines, held))
}

/// After the 2:37 AM sequence, the agent "optimises" staging: it terminates idle instances one
/// after another. Each call alone is allowed — staging, tagged, unprotected — and the budget of
/// terminations per environment per hour stops the run at its limit, across calls.
async fn runaway_act(
    config: &aws_config::SdkConfig,
    world: &World,
    after: &Snapshot,
    functions: &Functions,
) -> Result<bool, String> {
    println!(
        "\n== The budget: the agent \"optimises\" staging, terminating idle instances one after another =="
    );
    let earlier = world
        .staging
        .instances
        .iter()
        .filter(|id| after.instance(id) == "terminated")
        .count();
    println!("   ({earlier} staging instances were terminated in the sequence above, this hour)");
    let ec2 = aws_sdk_ec2::Client::new(config);
    let idle = world::run_instances(&ec2, Some("staging"), 5).await?;
    let mut over_budget = 0;
    for id in &idle {
        let call = Call {
            tool: Tool::Terminate,
            intent: format!("terminate idle staging instance {id}"),
            arguments: json!({"environment": "staging", "instance_id": id}),
        };
        let report = functions.call(&call)?;
        show(&call, &report);
        let budget_denied = report
            .pointer("/guard/checks")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["check"] == "budget" && c["outcome"] == "deny")
            });
        over_budget += usize::from(budget_denied);
    }
    let now = world::snapshot(config, world).await?;
    let terminated = idle
        .iter()
        .filter(|id| now.instance(id) == "terminated")
        .count();
    println!(
        "\n   the agent terminated {terminated} more; the budget stopped {over_budget} calls: \
         {} staging terminations this hour, the budget's {TERMINATE_BUDGET}",
        earlier + terminated
    );
    // What the operator sees: the metric CloudWatch extracts from the audit lines, summed as
    // the dashboard's widget sums it, and the last line itself.
    let lines: Vec<Value> = functions
        .function(Tool::Terminate)
        .map(Function::metric_lines)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.get("Check").and_then(Value::as_str) == Some("budget"))
        .collect();
    let sum = |metric: &str| -> u64 {
        lines
            .iter()
            .filter_map(|l| l.get(metric).and_then(Value::as_u64))
            .sum()
    };
    println!(
        "   metric (dashboard \"Budget checks by tool and outcome\"): AgentGuard Tool=terminate_instance Check=budget: \
         Allow {}, Deny {}, Error {}",
        sum("Allow"),
        sum("Deny"),
        sum("Error")
    );
    if let Some(last) = lines.last() {
        let mut shown = last.clone();
        if let Some(fields) = shown.as_object_mut() {
            fields.remove("guard_audit");
        }
        println!("   its last EMF line, without the audit record: {shown}");
    }
    Ok(earlier + terminated == TERMINATE_BUDGET && over_budget == idle.len() - terminated)
}

async fn run() -> Result<bool, String> {
    println!("The 2:37 AM sequence: restart all services, terminate the idle instances, clean old");
    println!("logs, read metrics — an agent told to work only in staging, that lost the context.");

    let (world, before, after, log_lines, budget_held) = act(
        "ENFORCE: the sequence, for real (AWS emulator on 127.0.0.1)",
        "ENFORCE",
        false,
        true,
    )
    .await?;
    let production_untouched = production_of(&before, &world) == production_of(&after, &world);
    let staging = &world.staging;
    let terminated = staging
        .instances
        .iter()
        .filter(|id| after.instance(id) == "terminated")
        .count();
    let restarted = staging
        .services
        .iter()
        // ECS adds a deployment, the emulator replaces it: either way the ids change.
        .filter(|s| {
            after.deployments_of(&staging.cluster, s) != before.deployments_of(&staging.cluster, s)
        })
        .count();
    let old_left = staging
        .old_streams
        .iter()
        .filter(|s| after.streams_of(&staging.log_group).contains(s))
        .count();
    let fresh_kept = staging
        .fresh_streams
        .iter()
        .all(|s| after.streams_of(&staging.log_group).contains(s));

    println!("\nFinal state");
    println!(
        "  production: {}",
        if production_untouched {
            "untouched — every instance running, no new deployment, every log stream and audit record kept"
        } else {
            "TOUCHED"
        }
    );
    println!(
        "  staging:    {terminated}/{} idle instances terminated, {restarted}/{} services redeployed, \
         {} old log streams deleted, fresh streams {}",
        staging.instances.len(),
        staging.services.len(),
        staging.old_streams.len() - old_left,
        if fresh_kept { "kept" } else { "LOST" }
    );
    let staging_done = terminated == staging.instances.len()
        && restarted == staging.services.len()
        && old_left == 0
        && fresh_kept;

    let replayed = replay(&log_lines)?;

    let (_, before, after, _, _) = act(
        "LOG_ONLY with dry_run: what LOG_ONLY would let through, on a fresh world",
        "LOG_ONLY",
        true,
        false,
    )
    .await?;
    let unchanged = before == after;
    println!(
        "\nLOG_ONLY reported every would-deny and let the calls through as dry runs: {}",
        if unchanged {
            "nothing changed"
        } else {
            "SOMETHING CHANGED"
        }
    );
    println!(
        "Use LOG_ONLY to trial policies before ENFORCE; with real calls it would have let production go."
    );
    Ok(production_untouched && staging_done && budget_held && replayed && unchanged)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => {
            println!("\nProduction stayed safe. You go back to sleep.");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!(
                "\nthe demo's expectations failed: production was touched, staging work was not done, \
                 the budget did not hold, or the replay did not show the candidate's flips"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("\nthe demo could not run: {e}");
            ExitCode::from(2)
        }
    }
}
