//! The article's sequence, as the confused agent runs it, and playing it on a fresh world.

use aws_config::SdkConfig;
use e2e::{
    Emulator,
    world::{self, Snapshot, World},
};
use serde_json::{Value, json};

use crate::{
    functions::{Call, Functions, Tool},
    narration::show,
};

/// A fresh world's emulator and the four functions running against it.
pub struct Running {
    /// The functions, in `mode`.
    pub functions: Functions,
    /// SDK configuration for the emulator.
    pub config: SdkConfig,
    /// Kept alive while the functions run.
    _emulator: Emulator,
}

/// The sequence, played: the world, its state around the sequence, the functions' log lines.
pub struct Played {
    /// What was seeded.
    pub world: World,
    /// The world before the sequence.
    pub before: Snapshot,
    /// The world after it.
    pub after: Snapshot,
    /// The sequence's own audit lines, for the replay (before later acts add theirs).
    pub log_lines: Vec<String>,
    /// Still running, for the acts that go on on the same world.
    pub running: Running,
}

/// Plays the sequence on a fresh world, the functions in `mode`, every call a dry run with
/// `dry_run`; the snapshots are taken around the sequence.
pub async fn play(title: &str, mode: &str, dry_run: bool) -> Result<Played, String> {
    println!("\n== {title} ==");
    let emulator = Emulator::start()?;
    let config = emulator.sdk_config().await;
    let world = world::seed(&config).await?;
    let before = world::snapshot(&config, &world).await?;
    let functions = Functions::start(&emulator, &world, mode)?;
    let mut records = [0; 4];
    for call in calls(&world, dry_run) {
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
    let log_lines = functions.log_lines(&records);
    Ok(Played {
        world,
        before,
        after,
        log_lines,
        running: Running {
            functions,
            config,
            _emulator: emulator,
        },
    })
}

/// The article's sequence, as the confused agent runs it.
fn calls(world: &World, dry_run: bool) -> Vec<Call> {
    let mut calls = restarts(world, dry_run);
    calls.extend(terminations(world, dry_run));
    calls.extend(log_cleaning(world, dry_run));
    // 4. "Review the state of production": reading is always fine.
    calls.push(Call {
        tool: Tool::Metrics,
        intent: "read production api-gateway CPU".to_owned(),
        arguments: json!({"service_name": "api-gateway", "environment": "production", "minutes": 30}),
    });
    calls
}

/// `arguments`, with `dry_run: true` when `dry_run`.
fn with_dry_run(mut arguments: Value, dry_run: bool) -> Value {
    if dry_run && let Some(fields) = arguments.as_object_mut() {
        fields.insert("dry_run".to_owned(), Value::Bool(true));
    }
    arguments
}

/// 1. "Restart all services (including production)".
fn restarts(world: &World, dry_run: bool) -> Vec<Call> {
    let mut calls = Vec::new();
    for env in [&world.staging, &world.production] {
        for service in &env.services {
            calls.push(Call {
                tool: Tool::Restart,
                intent: format!("restart {} in {}", service, env.name),
                arguments: with_dry_run(
                    json!({"environment": env.name, "service": service}),
                    dry_run,
                ),
            });
        }
    }
    calls.push(Call {
        tool: Tool::Restart,
        intent: format!(
            "restart `{}`, believing it is a staging service (it is production's, deployed in the staging cluster)",
            world.misplaced_service
        ),
        arguments: with_dry_run(
            json!({"environment": "staging", "service": world.misplaced_service}),
            dry_run,
        ),
    });
    calls
}

/// 2. "Terminated 15 idle EC2 instances (which turned out to be production)".
fn terminations(world: &World, dry_run: bool) -> Vec<Call> {
    let (staging, production) = (&world.staging, &world.production);
    let terminate = |intent: String, environment: &str, id: &str| Call {
        tool: Tool::Terminate,
        intent,
        arguments: with_dry_run(
            json!({"environment": environment, "instance_id": id}),
            dry_run,
        ),
    };
    let mut calls = Vec::new();
    for id in &staging.instances {
        calls.push(terminate(
            format!("terminate idle staging instance {id}"),
            "staging",
            id,
        ));
    }
    for id in &production.instances {
        calls.push(terminate(
            format!("terminate idle production instance {id} (low CPU at 3 AM)"),
            "production",
            id,
        ));
    }
    if let Some(id) = production.instances.first() {
        calls.push(terminate(
            format!("terminate {id}, having lost track: the agent now calls it staging"),
            "staging",
            id,
        ));
    }
    calls.push(terminate(
        format!(
            "terminate untagged instance {}, calling it staging",
            world.untagged_instance
        ),
        "staging",
        &world.untagged_instance,
    ));
    calls.push(terminate(
        format!(
            "terminate termination-protected staging instance {}",
            staging.protected_instance
        ),
        "staging",
        &staging.protected_instance,
    ));
    calls
}

/// 3. "Cleaned up old logs (including compliance audit records)".
fn log_cleaning(world: &World, dry_run: bool) -> Vec<Call> {
    [
        &world.staging.log_group,
        &world.production.log_group,
        &world.audit_log_group,
    ]
    .into_iter()
    .map(|group| Call {
        tool: Tool::CleanLogs,
        intent: format!("clean log streams older than a week in {group}"),
        arguments: with_dry_run(json!({"log_group": group, "older_than_days": 7}), dry_run),
    })
    .collect()
}
