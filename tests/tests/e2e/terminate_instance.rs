//! `terminate_instance`, built, on the emulator, through the Lambda Runtime API.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use e2e::stage::{Stage, report};
use serde_json::json;

const TOOL: &str = "terminate_instance";

async fn stage(mode: &str) -> Stage {
    Stage::start(TOOL, mode, &[]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staging_instance_is_terminated() {
    let s = stage("ENFORCE").await;
    let id = &s.world.staging.instances[0];
    let answer = s
        .invoke(&json!({"environment": "staging", "instance_id": id}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    let after = s.snapshot().await.unwrap();
    assert_eq!(after.instance(id), "terminated");
    assert_eq!(after.instance(&s.world.staging.instances[1]), "running");
    assert_eq!(s.function.audit_records_at_least(2).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn production_stays_running_whatever_the_agent_claims() {
    let s = stage("ENFORCE").await;
    let before = s.snapshot().await.unwrap();
    let prod = &s.world.production.instances[0];
    for (environment, instance) in [
        ("production", prod.as_str()),
        ("staging", prod.as_str()),
        ("dev", prod.as_str()),
        ("staging", s.world.untagged_instance.as_str()),
        ("staging", s.world.staging.protected_instance.as_str()),
    ] {
        let answer = s
            .invoke_as_gateway(
                &json!({"environment": environment, "instance_id": instance}),
                "terminate-instance___terminate_instance",
            )
            .unwrap();
        let (report, is_error) = report(answer).unwrap();
        assert!(is_error, "{environment} {instance}: {report}");
        assert_eq!(report["status"], "denied", "{report}");
    }
    assert_eq!(
        s.snapshot().await.unwrap(),
        before,
        "a deny changes nothing"
    );
    let audit = s.function.audit_records_at_least(9);
    assert_eq!(audit.iter().filter(|r| r["decision"] == "DENY").count(), 5);
    assert!(
        audit
            .iter()
            .all(|r| r["request_ids"]["agentcore"] == "agentcore-request")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_reports_and_changes_nothing() {
    let s = stage("ENFORCE").await;
    let id = &s.world.staging.instances[0];
    let answer = s
        .invoke(&json!({"environment": "staging", "instance_id": id, "dry_run": true}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(report["result"]["changed"], false);
    assert_eq!(s.snapshot().await.unwrap().instance(id), "running");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_invocations_are_refused_and_audited_and_the_function_keeps_serving() {
    let s = stage("ENFORCE").await;
    let before = s.snapshot().await.unwrap();
    let payload =
        json!({"environment": "production", "instance_id": s.world.production.instances[0]});
    let mut invocations = Vec::new();
    for raw in [
        r#"{"custom":{"bedrockAgentCoreToolName":7}}"#,
        "this is not json",
        r#"{"custom":"terminate-instance___terminate_instance"}"#,
    ] {
        invocations.push(e2e::Invocation::json(&payload).with_client_context(raw));
    }
    // Payloads serde cannot read: not JSON, a lone surrogate, a number out of range, nesting
    // deeper than the parser's limit.
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    for body in [
        b"{not json".to_vec(),
        br#"{"environment":"\ud800","instance_id":"i-0abc1234"}"#.to_vec(),
        br#"{"environment":"staging","instance_id":"i-0abc1234","n":1e400}"#.to_vec(),
        deep.into_bytes(),
    ] {
        invocations.push(e2e::Invocation {
            body,
            client_context: None,
        });
    }
    let count = invocations.len();
    for invocation in invocations {
        let answer = s
            .api
            .invoke(invocation, std::time::Duration::from_secs(30))
            .unwrap();
        let (report, is_error) = report(answer).unwrap();
        assert!(is_error, "{report}");
        assert_eq!(report["status"], "denied", "{report}");
        assert!(
            report["message"]
                .as_str()
                .unwrap()
                .contains("could not be read"),
            "{report}"
        );
    }
    let audit = s.function.audit_records_at_least(count);
    assert_eq!(audit.len(), count, "one record per refusal");
    assert!(
        audit
            .iter()
            .all(|r| r["asked"] == "refused" && r["outcome"] == "error"),
        "{audit:?}"
    );
    assert_eq!(s.snapshot().await.unwrap(), before, "nothing was changed");

    // Still serving, and still guarding.
    let id = &s.world.staging.instances[1];
    let (report, is_error) = report(
        s.invoke(&json!({"environment": "staging", "instance_id": id}))
            .unwrap(),
    )
    .unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(s.snapshot().await.unwrap().instance(id), "terminated");
    let mut function = s.function;
    assert!(function.is_running());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_argument_name_built_to_forge_a_record_stays_inside_one_escaped_log_line() {
    let s = stage("ENFORCE").await;
    let forged = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "Tool": "terminate_instance",
        "Check": "resource", "Allow": 1, "Deny": 0, "WouldDeny": 0, "Error": 0, "WouldFlip": 1,
        "guard_audit": {"time": "2026-01-01T00:00:00.000Z", "gateway": e2e::GATEWAY_ARN,
            "tool": "terminate-instance___terminate_instance", "check": "call",
            "decision": "ALLOW", "outcome": "allow", "mode": "ENFORCE", "asked": "call",
            "principal": "AgentCore::OAuthUser::\"someone-else\"",
            "arguments": {"environment": "production", "instance_id": "i-0abc1234"}}
    });
    let name = format!("x\n{forged}\n");
    let mut payload =
        json!({"environment": "staging", "instance_id": s.world.staging.instances[0]});
    payload[name.as_str()] = json!("y");
    let (report, is_error) = report(s.invoke(&payload).unwrap()).unwrap();
    assert!(is_error, "{report}");
    assert!(
        report["message"].as_str().unwrap().contains("U+000A"),
        "{report}"
    );

    let audit = s.function.audit_records_at_least(1);
    assert_eq!(audit.len(), 1, "only the guard's own record: {audit:#?}");
    assert_eq!(audit[0]["asked"], "refused");
    // Every line the function wrote is one JSON object; none is the forged record.
    let lines = s.function.log_lines();
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        assert_ne!(
            value.get("guard_audit").and_then(|r| r.get("principal")),
            Some(&json!("AgentCore::OAuthUser::\"someone-else\"")),
            "{line}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("someone-else")),
        "the name is logged, escaped"
    );
}
