//! The operators' stop switch (issue 21 item 5), through the built `guard` CLI and the built
//! tool functions on the emulator: `guard stop` refuses every mutating call of all three
//! mutating tools with its reason, a switch that cannot be read refuses as an error, a stop
//! reaches a function that already read "running" within `STOP_CACHE`, and `guard resume`
//! restores them. Each order is audited in the control log group.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::process::Command;

use e2e::{
    function::binary,
    stage::{Stage, report},
};
use oversight::STOP_CACHE;
use serde_json::{Value, json};

/// The control log group the orders' audit records go to.
const CONTROL_LOG: &str = "agent-guard-control";

const MUTATING: [&str; 3] = ["terminate_instance", "restart_service", "clean_logs"];

/// A call of `tool` that both checks allow, on the seeded staging world.
fn allowed_call(s: &Stage, tool: &str, instance: usize) -> Value {
    match tool {
        "terminate_instance" => {
            json!({"environment": "staging", "instance_id": s.world.staging.instances[instance]})
        }
        "restart_service" => json!({"environment": "staging", "service": "api-gateway"}),
        _ => json!({"log_group": s.world.staging.log_group, "older_than_days": 7}),
    }
}

/// `guard ARGS` as an operator runs it, with the emulator's credentials; exit code and output.
fn guard(s: &Stage, args: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(binary("guard").unwrap());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(oversight::CONTROL_LOG_VAR, CONTROL_LOG)
        .args(args);
    for (k, v) in s.emulator.env() {
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

async fn stage(tool: &str, mode: &str, extra: &[(&str, &str)]) -> Stage {
    let s = Stage::start(tool, mode, extra).await.unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&s.config)
        .create_log_group()
        .log_group_name(CONTROL_LOG)
        .send()
        .await
        .unwrap();
    s
}

fn stop_check(report: &Value) -> Option<&Value> {
    report["guard"]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["check"] == "stop"))
}

/// The orders audited in the control log group, in order.
async fn orders(s: &Stage) -> Vec<guard::ControlRecord> {
    let out = aws_sdk_cloudwatchlogs::Client::new(&s.config)
        .filter_log_events()
        .log_group_name(CONTROL_LOG)
        .send()
        .await
        .unwrap();
    let mut records: Vec<guard::ControlRecord> = out
        .events()
        .iter()
        .filter_map(|e| guard::ControlRecord::from_line(e.message().unwrap_or_default()))
        .collect();
    records.sort_by(|a, b| a.time.cmp(&b.time));
    records
}

#[tokio::test(flavor = "multi_thread")]
async fn every_mutating_tool_refuses_while_stopped_and_works_again_after_resume() {
    for tool in MUTATING {
        let s = stage(tool, "ENFORCE", &[]).await;
        let before = s.snapshot().await.unwrap();
        let (code, out) = guard(&s, &["stop", "--reason", "agent looping, incident 42"]);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("STOPPED by arn:aws:"), "{out}");

        let (r, is_error) = report(s.invoke(&allowed_call(&s, tool, 0)).unwrap()).unwrap();
        assert!(is_error, "{tool}: {r}");
        assert_eq!(r["status"], "denied", "{tool}: {r}");
        assert_eq!(stop_check(&r).unwrap()["outcome"], "deny", "{tool}: {r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains("`agent looping, incident 42`"),
            "{tool}: {r}"
        );
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "{tool} changed nothing"
        );

        let (code, out) = guard(&s, &["resume"]);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("RESUMED by arn:aws:"), "{out}");
        // The function trusted its read of the switch for at most STOP_CACHE.
        tokio::time::sleep(STOP_CACHE).await;
        let (r, is_error) = report(s.invoke(&allowed_call(&s, tool, 0)).unwrap()).unwrap();
        assert!(!is_error, "{tool} after resume: {r}");
        assert_ne!(
            s.snapshot().await.unwrap(),
            before,
            "{tool} acted after resume"
        );

        // Both orders audited, under the identity STS gave, with the reason.
        let orders = orders(&s).await;
        assert_eq!(orders.len(), 2, "{orders:?}");
        assert_eq!(orders[0].action, guard::ControlAction::Stop);
        assert_eq!(
            orders[0].reason.as_deref(),
            Some("agent looping, incident 42")
        );
        assert_eq!(orders[1].action, guard::ControlAction::Resume);
        assert!(orders[0].by.starts_with("arn:aws:"), "{orders:?}");
        let audit = s.function.audit_records();
        let stop: Vec<&Value> = audit.iter().filter(|r| r["check"] == "stop").collect();
        assert_eq!(stop.len(), 1, "{tool}: the refusal is audited");
        assert_eq!(stop[0]["outcome"], "deny");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_reaches_a_function_that_already_read_running_within_the_cache_period() {
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    let (first, second) = (&s.world.staging.instances[0], &s.world.staging.instances[1]);
    let (r, is_error) = report(
        s.invoke(&allowed_call(&s, "terminate_instance", 0))
            .unwrap(),
    )
    .unwrap();
    assert!(!is_error, "{r}");
    let (code, out) = guard(&s, &["stop", "--reason", "halt"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("within {} s", STOP_CACHE.as_secs())),
        "{out}"
    );
    tokio::time::sleep(STOP_CACHE).await;
    let (r, _) = report(
        s.invoke(&allowed_call(&s, "terminate_instance", 1))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stop_check(&r).unwrap()["outcome"], "deny", "{r}");
    let after = s.snapshot().await.unwrap();
    assert_eq!(after.instance(first), "terminated");
    assert_eq!(after.instance(second), "running");
}

/// Every mutating tool against a switch it cannot read: refused as an error, nothing changed.
async fn unreadable_switch_refuses(mode: &str, extra: &[(&str, &str)]) {
    for tool in MUTATING {
        let s = stage(tool, mode, extra).await;
        let before = s.snapshot().await.unwrap();
        let (r, is_error) = report(s.invoke(&allowed_call(&s, tool, 0)).unwrap()).unwrap();
        assert!(is_error, "{tool}: {r}");
        let stop = stop_check(&r).unwrap();
        assert_eq!(stop["outcome"], "error", "{tool}: {r}");
        assert!(
            stop["reason"]
                .as_str()
                .unwrap()
                .contains("the stop switch could not be read"),
            "{tool}: {r}"
        );
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "{tool} changed nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_switch_table_refuses_every_mutating_call_as_an_error() {
    // Budgets off, so the switch is the only thing reading the (missing) table.
    unreadable_switch_refuses("ENFORCE", &[("BUDGET_TABLE", "no-such-table")]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_switch_refuses_every_mutating_call_even_in_log_only() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    unreadable_switch_refuses(
        "LOG_ONLY",
        &[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_that_cannot_be_audited_resumes_nothing() {
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    let (code, out) = guard(&s, &["stop", "--reason", "halt"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = guard(&s, &["resume", "--control-log-group", "no-such-group"]);
    assert_eq!(code, Some(2), "{out}");
    let (r, _) = report(
        s.invoke(&allowed_call(&s, "terminate_instance", 0))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        stop_check(&r).unwrap()["outcome"],
        "deny",
        "still stopped: {r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_get_metrics_keeps_working_while_stopped_and_when_the_switch_is_unreadable() {
    for extra in [&[][..], &[("BUDGET_TABLE", "no-such-table")][..]] {
        let s = stage("get_metrics", "ENFORCE", extra).await;
        let (code, out) = guard(&s, &["stop", "--reason", "halt"]);
        assert_eq!(code, Some(0), "{out}");
        let payload =
            json!({"service_name": "api-gateway", "environment": "staging", "minutes": 30});
        let (r, is_error) = report(s.invoke(&payload).unwrap()).unwrap();
        assert!(!is_error, "{extra:?}: {r}");
        assert!(
            stop_check(&r).is_none(),
            "a read-only tool never reads the switch: {r}"
        );
    }
}
