//! Modes and audit records: one record per check, would-deny in LOG_ONLY, metrics by declared tool.

use guard::{Check, EXAMPLE_GATEWAY_ARN, Mode, Outcome, Reason, RequestIds, Verdict};
use serde_json::json;

use crate::support::{RESTART, TERMINATE, call, shipped, staging_instance};

#[test]
fn log_only_records_a_would_deny_and_lets_the_call_go_on() {
    let (guard, audit) = shipped(Mode::LogOnly);
    let ids = RequestIds {
        lambda: Some("req-1".to_owned()),
        ..RequestIds::default()
    };
    let input = json!({"environment": "prod", "service": "api-gateway"});
    let decision = guard.check_call(&call(RESTART, &input, &ids));
    assert_eq!(decision.reason, Reason::NoPolicyPermits);
    assert!(decision.proceeds() && decision.would_deny());
    let records = audit.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.decision, r.outcome, r.enforced),
        (Verdict::Deny, Outcome::WouldDeny, false)
    );
    assert_eq!(r.mode, Mode::LogOnly);
    assert_eq!(r.request_ids.lambda.as_deref(), Some("req-1"));
}

#[test]
fn enforce_blocks_and_audits_each_check_once() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &input, &ids);
    assert!(guard.check_call(&c).is_allow());
    let protected = staging_instance("staging").attribute("termination_protected", true);
    let decision = guard.check_resource(&c, &protected);
    assert_eq!(decision.reason, Reason::Forbidden);
    assert_eq!(decision.policies, ["never_terminate_protected_instance"]);
    assert_eq!(
        decision.explain(),
        "resource check: `terminate-instance___terminate_instance` on `i-0abc` forbidden by `never_terminate_protected_instance`"
    );

    let records = audit.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].check, Check::Call);
    assert_eq!(
        records[0].resource,
        format!("AgentCore::Gateway::\"{EXAMPLE_GATEWAY_ARN}\"")
    );
    assert_eq!(records[0].policies, ["allow_terminate_non_production"]);
    assert_eq!(records[1].check, Check::Resource);
    assert_eq!(records[1].resource, "Guard::Ec2Instance::\"i-0abc\"");
    assert_eq!(records[1].action, "Guard::Action::\"terminate_instance\"");
    assert_eq!(records[1].principal, "unknown AgentCore::OAuthUser");
    assert_eq!(records[1].arguments, input);
    assert_eq!(records[1].outcome, Outcome::Deny);
}

#[test]
fn the_audit_line_is_an_emf_document() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "production", "instance_id": "i-0abc"});
    guard.check_call(&call(TERMINATE, &input, &ids));
    let line = guard::EmfStdout::new("AgentGuard").line(&audit.records()[0]);
    let metrics = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(metrics["Namespace"], "AgentGuard");
    assert_eq!(metrics["Dimensions"], json!([["Tool", "Check"], ["Check"]]));
    assert_eq!(line["Tool"], "terminate_instance");
    assert_eq!(line["Check"], "call");
    assert_eq!(
        (line["Allow"].clone(), line["Deny"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(line["guard_audit"]["decision"], "DENY");
    assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn made_up_tool_names_are_counted_as_unknown_never_as_new_metrics() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({});
    for tool in [
        "ops___drop_database",
        "not-a-tool-name",
        "x___terminate_instance\u{200b}",
    ] {
        guard.check_call(&call(tool, &input, &ids));
    }
    guard.check_call(&call("my-target___terminate_instance", &input, &ids));
    let emf = guard::EmfStdout::new("AgentGuard");
    let tools: Vec<String> = audit
        .records()
        .iter()
        .map(|r| emf.line(r)["Tool"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        tools,
        ["unknown", "unknown", "unknown", "terminate_instance"]
    );
}

#[test]
fn a_refusal_is_audited_as_an_error() {
    let (guard, audit) = shipped(Mode::LogOnly);
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "service": "api"});
    let decision = guard.refuse(&call(RESTART, &input, &ids), "misrouted");
    assert!(
        !decision.proceeds(),
        "refusals are never let through, even in LOG_ONLY"
    );
    assert_eq!(audit.records()[0].outcome, Outcome::Error);
    assert_eq!(audit.records()[0].errors, ["misrouted"]);
}
