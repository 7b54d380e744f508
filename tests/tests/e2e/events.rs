//! Every sample event under `events/<function>/` runs through its built function, so none can
//! rot. The file name says what must happen: `allow-…` runs, `deny-…` is denied (or refused),
//! `invalid-…` is rejected as bad input. A `<name>.client-context.json` beside an event is sent
//! as the Lambda client context, as AgentCore Gateway sends it.
//!
//! The EC2 instance ids in the events are placeholders (a user replaces them with their own);
//! here they are swapped for the seeded world's instances of the same kind.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers read the seeded world and the reports; a missing part fails the test"
)]

use std::{path::PathBuf, time::Duration};

use e2e::{Invocation, emulator::workspace, stage::Stage};
use serde_json::Value;

fn events(function: &str) -> Vec<PathBuf> {
    let dir = workspace().join("events").join(function);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".client-context.json")
        })
        .collect();
    files.sort();
    files
}

async fn replay(function: &str) {
    let stage = Stage::start(function, "ENFORCE", &[]).await.unwrap();
    let files = events(function);
    assert!(files.len() >= 4, "too few events for `{function}`");
    let mut failures = Vec::new();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&file).unwrap();
        for (placeholder, real) in e2e::events::placeholders(&stage.world) {
            text = text.replace(placeholder, &real);
        }
        let payload: Value = serde_json::from_str(&text).unwrap();
        let mut invocation = Invocation::json(&payload);
        let context = file.with_file_name(format!("{name}.client-context.json"));
        if context.exists() {
            // Lambda hands the function the client context as one line of JSON.
            let context: Value =
                serde_json::from_str(&std::fs::read_to_string(context).unwrap()).unwrap();
            invocation = invocation.with_client_context(context.to_string());
        }
        let answer = stage
            .api
            .invoke(invocation, Duration::from_secs(60))
            .unwrap();
        let (report, _) = e2e::stage::report(answer).unwrap();
        let (status, error) = (report["status"].as_str(), report["error"].as_str());
        let ok = match name.split('-').next() {
            Some("allow") => status == Some("ok"),
            Some("deny") => status == Some("denied"),
            Some("invalid") => status == Some("error") && error == Some("invalid_input"),
            _ => false,
        };
        if !ok {
            failures.push(format!("{function}/{name}: {report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_service_events() {
    replay("restart_service").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn terminate_instance_events() {
    replay("terminate_instance").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_logs_events() {
    replay("clean_logs").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn get_metrics_events() {
    replay("get_metrics").await;
}
