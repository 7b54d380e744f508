//! Replayable audit records and shadow policies (`@mode("LOG_ONLY")`), through the public API.

use std::{collections::BTreeMap, sync::Arc};

use guard::{
    Asked, EXAMPLE_GATEWAY_ARN, EmfStdout, Guard, GuardConfig, MAX_RECORDED_TAG_BYTES, MemoryAudit,
    Mode, Outcome, PolicyFile, PolicySources, Principal, RequestIds, ResourceFacts, ToolCall,
    Verdict, render_static,
};
use serde_json::{Value, json};

const RESTART: &str = "restart-service___restart_service";
const TERMINATE: &str = "terminate-instance___terminate_instance";

/// A gateway policy on trial: no restarts at all, not even in staging.
const SHADOW_NO_RESTARTS: &str = r#"@id("shadow_no_restarts")
@mode("LOG_ONLY")
forbid (
  principal,
  action == AgentCore::Action::"restart-service___restart_service",
  resource == ?resource
);
"#;

/// A resource policy on trial that would loosen: terminate production instances too.
const SHADOW_TERMINATE_PRODUCTION: &str = r#"@id("shadow_terminate_production")
@mode("LOG_ONLY")
permit (
  principal,
  action == Guard::Action::"terminate_instance",
  resource is Guard::Ec2Instance
)
when { resource.hasTag("environment") && resource.getTag("environment") == "production" };
"#;

fn with_files(extra: &[(&str, &str)]) -> PolicySources {
    let mut files: Vec<PolicyFile> = PolicySources::embedded().files().to_vec();
    files.extend(extra.iter().map(|(name, text)| PolicyFile {
        name: (*name).to_owned(),
        text: (*text).to_owned(),
    }));
    PolicySources::from_files("test", files)
}

fn guard(sources: PolicySources, mode: Mode) -> (Guard, MemoryAudit) {
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        mode,
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    (
        Guard::new(&sources, &config, Arc::new(audit.clone())),
        audit,
    )
}

fn call<'a>(tool: &'a str, input: &'a Value, principal: Option<&'a Principal>) -> ToolCall<'a> {
    static IDS: RequestIds = RequestIds {
        lambda: None,
        agentcore: None,
        mcp_message: None,
    };
    ToolCall {
        tool,
        input,
        principal,
        ids: &IDS,
    }
}

fn instance(environment: &str) -> ResourceFacts {
    ResourceFacts::new("Guard::Ec2Instance", "i-0abc")
        .attribute("state", "running")
        .attribute("termination_protected", false)
        .tags([("Environment".to_owned(), environment.to_owned())])
}

#[test]
fn a_shadow_gateway_forbid_changes_no_decision_and_is_audited_and_counted_as_a_would_flip() {
    let (guard, audit) = guard(
        with_files(&[("gateway/shadow.cedar", SHADOW_NO_RESTARTS)]),
        Mode::Enforce,
    );
    let staging = json!({"environment": "staging", "service": "api"});
    let production = json!({"environment": "prod", "service": "api"});
    let terminate = json!({"environment": "staging", "instance_id": "i-0abc"});

    assert_eq!(
        guard.check_call(&call(RESTART, &staging, None)).outcome(),
        Outcome::Allow
    );
    assert_eq!(
        guard
            .check_call(&call(RESTART, &production, None))
            .outcome(),
        Outcome::Deny
    );
    assert_eq!(
        guard
            .check_call(&call(TERMINATE, &terminate, None))
            .outcome(),
        Outcome::Allow
    );

    let records = audit.records();
    let shadow = records[0].shadow.as_ref().unwrap();
    assert_eq!(shadow.policies, ["shadow_no_restarts"]);
    assert_eq!(shadow.decision, Verdict::Deny);
    assert_eq!(shadow.determining, ["shadow_no_restarts"]);
    assert!(shadow.would_flip);
    let line = EmfStdout::default().line(&records[0]);
    assert_eq!(
        (line["Allow"].as_u64(), line["WouldFlip"].as_u64()),
        (Some(1), Some(1))
    );

    // Denied either way: audited, not a flip.
    let shadow = records[1].shadow.as_ref().unwrap();
    assert!(!shadow.would_flip);
    assert_eq!(EmfStdout::default().line(&records[1])["WouldFlip"], 0);

    // No shadow policy can apply to terminate: decided once, nothing recorded.
    assert_eq!(records[2].shadow, None);
}

#[test]
fn a_shadow_resource_permit_loosens_nothing_and_records_the_flip() {
    let (guard, audit) = guard(
        with_files(&[("resource/shadow.cedar", SHADOW_TERMINATE_PRODUCTION)]),
        Mode::Enforce,
    );
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let decision = guard.check_resource(&call(TERMINATE, &input, None), &instance("production"));
    assert_eq!(decision.outcome(), Outcome::Deny);
    let records = audit.records();
    let shadow = records[0].shadow.as_ref().unwrap();
    assert_eq!(shadow.decision, Verdict::Allow);
    assert!(shadow.would_flip);
    assert_eq!(shadow.determining, ["shadow_terminate_production"]);
}

#[test]
fn render_carries_the_log_only_annotation_of_a_shadow_policy() {
    let (guard, _) = guard(
        with_files(&[("gateway/shadow.cedar", SHADOW_NO_RESTARTS)]),
        Mode::Enforce,
    );
    let rendered = render_static(guard.gateway_set().unwrap()).unwrap();
    let statement = rendered
        .split("\n\n")
        .find(|p| p.starts_with("@id(\"shadow_no_restarts\")"))
        .unwrap();
    assert!(statement.contains("@mode(\"LOG_ONLY\")"), "{statement}");
    assert!(statement.contains(EXAMPLE_GATEWAY_ARN), "{statement}");
}

#[test]
fn an_unknown_mode_annotation_refuses_to_load_with_file_and_line() {
    let text = SHADOW_NO_RESTARTS.replace("LOG_ONLY", "SHADOW");
    let (guard, _) = guard(
        with_files(&[("gateway/shadow.cedar", &text)]),
        Mode::Enforce,
    );
    let error = guard.policy_sets().unwrap_err().to_string();
    assert!(error.contains("gateway/shadow.cedar:1"), "{error}");
    assert!(error.contains("@mode(\"SHADOW\")"), "{error}");
}

#[test]
fn records_carry_the_caller_the_resource_as_read_and_what_was_asked() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::LogOnly);
    let caller = Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: BTreeMap::from([("scope".to_owned(), "devops".to_owned())]),
    };
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let call = call(TERMINATE, &input, Some(&caller));
    guard.check_call(&call);
    guard.check_resource(&call, &instance("production"));
    guard.check_tool(TERMINATE, Some(&caller), &RequestIds::default());
    guard.refuse(&call, "misrouted");

    let records = audit.records();
    let asked: Vec<Asked> = records.iter().map(|r| r.asked).collect();
    assert_eq!(
        asked,
        [Asked::Call, Asked::Resource, Asked::Tool, Asked::Refused]
    );
    assert!(records.iter().all(|r| r.caller.as_ref() == Some(&caller)));
    assert_eq!(records[0].resource_facts, None);
    assert_eq!(records[1].resource_facts, Some(instance("production")));
    assert_eq!(records[1].outcome, Outcome::WouldDeny);

    let line = EmfStdout::default().line(&records[1]);
    let metrics = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(metrics["Dimensions"], json!([["Tool", "Check"], ["Check"]]));
    let names: Vec<&str> = metrics["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Allow", "Deny", "WouldDeny", "Error", "WouldFlip"]);
    let record = &line["guard_audit"];
    assert_eq!(record["asked"], "resource");
    assert_eq!(
        record["caller"],
        json!({"type": "OAuthUser", "id": "agent-7", "tags": {"scope": "devops"}})
    );
    assert_eq!(
        record["resource_facts"],
        json!({"type": "Guard::Ec2Instance", "id": "i-0abc",
               "tags": {"Environment": "production"},
               "attributes": {"state": "running", "termination_protected": false}})
    );
    assert!(record.get("truncated").is_none() && record.get("shadow").is_none());
}

#[test]
fn oversized_tags_and_arguments_are_cut_and_the_record_says_so() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let big = "x".repeat(1024);
    let tags: BTreeMap<String, String> = (0..MAX_RECORDED_TAG_BYTES / 1024 + 2)
        .map(|i| (format!("claim{i:02}"), big.clone()))
        .collect();
    let caller = Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags,
    };
    let input =
        json!({"environment": "staging", "instance_id": "i-0abc", "pad": "y".repeat(17 * 1024)});
    let facts = instance("staging").tags((0..20).map(|i| (format!("Tag{i:02}"), big.clone())));
    let call = call(TERMINATE, &input, Some(&caller));
    guard.check_resource(&call, &facts);

    let record = &audit.records()[0];
    assert_eq!(
        record.truncated,
        ["arguments", "caller.tags", "resource_facts.tags"]
    );
    assert_eq!(record.arguments, Value::Null);
    let Some(Principal::OAuthUser { tags, .. }) = &record.caller else {
        panic!("the caller is recorded");
    };
    assert!(tags.len() < MAX_RECORDED_TAG_BYTES / 1024 + 2 && !tags.is_empty());
    let line = EmfStdout::default().line(record).to_string();
    assert!(line.len() < 40 * 1024, "{} bytes", line.len());
}
