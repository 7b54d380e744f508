//! `guard replay`, as a user runs it, on records the guard library writes the way a function
//! does (its EMF line).

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::Arc,
};

use guard::{
    EXAMPLE_GATEWAY_ARN, EmfStdout, Guard, GuardConfig, MemoryAudit, Mode, PolicySources,
    Principal, RequestIds, ResourceFacts, ToolCall,
};
use serde_json::{Value, json};

const RESTART: &str = "restart-service___restart_service";
const TERMINATE: &str = "terminate-instance___terminate_instance";
const OTHER_GATEWAY: &str = "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/other";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guard(args: &[&str], stdin: Option<&str>) -> (Output, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guard"))
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    (out, text)
}

fn instance(environment: &str, protected: bool) -> ResourceFacts {
    ResourceFacts::new("Guard::Ec2Instance", format!("i-{environment}"))
        .attribute("state", "running")
        .attribute("termination_protected", protected)
        .tags([("Environment".to_owned(), environment.to_owned())])
}

/// The log lines a terminate function writes for these calls, in `mode` for `gateway`.
fn log_lines(mode: Mode, gateway: &str) -> Vec<String> {
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        mode,
        gateway_arn: Some(gateway.to_owned()),
        ..GuardConfig::default()
    };
    let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
    let ids = RequestIds {
        lambda: Some("lambda-1".to_owned()),
        ..RequestIds::default()
    };
    for (claimed, real, protected) in [
        ("staging", "staging", false),
        ("staging", "production", false),
        ("staging", "staging", true),
        ("production", "production", false),
    ] {
        let input = json!({"environment": claimed, "instance_id": format!("i-{real}")});
        let call = ToolCall {
            tool: TERMINATE,
            input: &input,
            principal: None,
            ids: &ids,
        };
        if guard.check_call(&call).proceeds() {
            guard.check_resource(&call, &instance(real, protected));
        }
    }
    let emf = EmfStdout::default();
    audit
        .records()
        .iter()
        .map(|r| emf.line(r).to_string())
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The shipped policies, copied to `dir/candidate`.
fn candidate(dir: &Path) -> PathBuf {
    let root = dir.join("candidate");
    for sub in ["gateway", "resource", "schema"] {
        let to = root.join(sub);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(workspace().join("policies").join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    root
}

/// Rewrites `file` of the candidate set at `root`.
fn edit(root: &Path, file: &str, change: impl FnOnce(String) -> String) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, change(text)).unwrap();
}

/// A candidate that loosens (termination protection no longer stops a termination) and
/// tightens (the gateway lets terminations through only for `dev`).
fn loosened_and_tightened(dir: &Path) -> String {
    let root = candidate(dir);
    edit(&root, "resource/protection.cedar", |text| {
        let start = text
            .find("@id(\"never_terminate_protected_instance\")")
            .unwrap();
        let end = start + text[start..].find("};").unwrap() + 2;
        format!("{}{}", &text[..start], &text[end..])
    });
    edit(&root, "gateway/terminate_instance.cedar", |text| {
        text.replace(
            r#"(context.input.environment == "staging" || context.input.environment == "dev")"#,
            r#"context.input.environment == "dev""#,
        )
    });
    root.to_str().unwrap().to_owned()
}

#[test]
fn records_replayed_against_the_same_policies_flip_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let lines = log_lines(Mode::Enforce, EXAMPLE_GATEWAY_ARN);
    assert_eq!(lines.len(), 7);
    let file = write(dir.path(), "audit.jsonl", &lines.join("\n"));
    let (out, text) = guard(
        &[
            "replay",
            &file,
            "--fail-on",
            "newly-allowed,newly-denied,not-replayed",
        ],
        None,
    );
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("NEWLY"), "{text}");
    assert!(
        text.contains(&format!(
            "  {TERMINATE} call: 4 replayed, 0 newly denied, 0 newly allowed, 4 unchanged"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  {TERMINATE} resource: 3 replayed, 0 newly denied, 0 newly allowed, 3 unchanged"
        )),
        "{text}"
    );
    assert!(text.contains("  total: 7 replayed, 0 newly denied, 0 newly allowed, 7 unchanged"));
}

#[test]
fn a_changed_set_prints_each_flip_with_the_call_the_resource_and_both_deciding_policies() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "audit.jsonl",
        &log_lines(Mode::Enforce, EXAMPLE_GATEWAY_ARN).join("\n"),
    );
    let policies = loosened_and_tightened(dir.path());
    let (out, text) = guard(&["replay", "--policies", &policies, &file], None);
    assert!(out.status.success(), "{text}");
    // Staging terminations: allowed at the gateway then, not now (3 calls claimed staging).
    assert_eq!(
        text.matches("NEWLY DENIED  call check").count(),
        3,
        "{text}"
    );
    // The protected staging instance: denied by the forbid then, allowed now.
    assert_eq!(
        text.matches("NEWLY ALLOWED resource check").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("then:      DENY (deny, ENFORCE): by `never_terminate_protected_instance`"),
        "{text}"
    );
    assert!(
        text.contains("permitted by `terminate_only_real_staging_dev`"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"resource:  Guard::Ec2Instance::"i-staging" tags {"Environment":"staging"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"arguments: {"environment":"staging","instance_id":"i-staging"}"#),
        "{text}"
    );
    assert!(text.contains("lambda lambda-1"), "{text}");
    assert!(
        text.contains(&format!(
            "  {TERMINATE} call: 4 replayed, 3 newly denied, 0 newly allowed, 1 unchanged"
        )),
        "{text}"
    );
    assert!(
        text.contains("  total: 7 replayed, 3 newly denied, 1 newly allowed, 3 unchanged"),
        "{text}"
    );

    let (out, _) = guard(
        &[
            "replay",
            "--policies",
            &policies,
            "--fail-on",
            "newly-allowed",
            &file,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn filter_log_events_output_and_an_s3_export_read_like_the_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let lines = log_lines(Mode::Enforce, EXAMPLE_GATEWAY_ARN);
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| json!({"logStreamName": "2026/01/01/[$LATEST]abc", "timestamp": 1_767_225_600_000_i64 + i as i64,
                                "message": format!("{line}\n"), "ingestionTime": 1_767_225_600_100_i64, "eventId": i.to_string()}))
        .chain([json!({"logStreamName": "s", "timestamp": 1, "message": "START RequestId: 1 Version: $LATEST\n"})])
        .collect();
    let document =
        serde_json::to_string_pretty(&json!({"events": events, "searchedLogStreams": []})).unwrap();
    let policies = loosened_and_tightened(dir.path());
    let (out, text) = guard(&["replay", "--policies", &policies], Some(&document));
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("  total: 7 replayed, 3 newly denied, 1 newly allowed, 3 unchanged"),
        "{text}"
    );
    assert!(text.contains("ignored: 1 lines or events"), "{text}");
    assert!(text.contains("stdin:1 events[0]"), "{text}");

    let export: String = lines
        .iter()
        .map(|l| format!("2026-01-01T00:00:00.000Z {l}\n"))
        .chain(["2026-01-01T00:00:00.000Z END RequestId: 1\n".to_owned()])
        .collect();
    let file = write(dir.path(), "000000", &export);
    let (out, text) = guard(&["replay", "--policies", &policies, &file], None);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("  total: 7 replayed, 3 newly denied, 1 newly allowed, 3 unchanged"),
        "{text}"
    );
}

#[test]
fn a_log_only_would_deny_counts_as_a_deny() {
    let dir = tempfile::tempdir().unwrap();
    let lines = log_lines(Mode::LogOnly, EXAMPLE_GATEWAY_ARN);
    // LOG_ONLY lets the production-claimed call through to its resource check.
    assert_eq!(lines.len(), 8);
    let file = write(dir.path(), "audit.jsonl", &lines.join("\n"));
    let (out, text) = guard(
        &["replay", &file, "--fail-on", "newly-allowed,newly-denied"],
        None,
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("  total: 8 replayed, 0 newly denied, 0 newly allowed, 8 unchanged"),
        "{text}"
    );
    let policies = loosened_and_tightened(dir.path());
    let (_, text) = guard(&["replay", "--policies", &policies, &file], None);
    assert!(
        text.contains(
            "then:      DENY (would_deny, LOG_ONLY): by `never_terminate_protected_instance`"
        ),
        "{text}"
    );
}

#[test]
fn other_gateways_and_records_that_cannot_be_decided_again_are_counted_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = log_lines(Mode::Enforce, OTHER_GATEWAY);
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let guard_lib = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "service": "api"});
    let caller = Principal::OAuthUser {
        id: "agent".to_owned(),
        tags: (0..10)
            .map(|i| (format!("claim{i}"), "x".repeat(1000)))
            .collect(),
    };
    let call = ToolCall {
        tool: RESTART,
        input: &input,
        principal: None,
        ids: &ids,
    };
    guard_lib.refuse(&call, "misrouted");
    guard_lib.check_call(&ToolCall {
        principal: Some(&caller),
        ..call
    });
    let emf = EmfStdout::default();
    lines.extend(audit.records().iter().map(|r| emf.line(r).to_string()));
    // A record from before records were replayable, and one that is not a record at all.
    let mut old: Value = serde_json::from_str(&emf.line(&audit.records()[0]).to_string()).unwrap();
    old["guard_audit"].as_object_mut().unwrap().remove("asked");
    lines.push(old.to_string());
    // Not the guard's line: never a record, counted as ignored.
    lines.push(r#"{"guard_audit": {"tool": 7}}"#.to_owned());
    let file = write(dir.path(), "audit.jsonl", &lines.join("\n"));

    let (out, text) = guard(&["replay", &file], None);
    // Nothing here could be decided again: not a pass.
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!(
            "not replayed: 7 from another gateway (`{OTHER_GATEWAY}`)"
        )),
        "{text}"
    );
    assert!(
        text.contains("refused before any policy was asked: "),
        "{text}"
    );
    assert!(text.contains("cut to stay bounded: caller.tags"), "{text}");
    assert!(
        text.contains("written before records were replayable"),
        "{text}"
    );
    assert!(
        text.contains("ignored: 1 lines or events that are not the guard's audit records"),
        "{text}"
    );
    assert!(text.contains("not replayed: 3 not re-decidable"), "{text}");
    assert!(text.contains("  total: 0 replayed"), "{text}");
    let (out, _) = guard(&["replay", &file, "--fail-on", "not-replayed"], None);
    assert_eq!(out.status.code(), Some(1));
}

/// The log lines a tool writes around a refusal of an argument *name* built to forge a record:
/// the tool's own JSON log line (its message quoting the name) and its audit line.
fn forged_name_lines() -> Vec<String> {
    let forged_record = json!({
        "_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "Tool": "terminate_instance",
        "Check": "resource", "Allow": 1, "Deny": 0, "WouldDeny": 0, "Error": 0, "WouldFlip": 0,
        "guard_audit": {"time": "2026-01-01T00:00:00.000Z", "gateway": EXAMPLE_GATEWAY_ARN,
            "tool": TERMINATE, "check": "call", "decision": "ALLOW", "outcome": "allow",
            "mode": "ENFORCE", "asked": "call", "principal": "unknown AgentCore::OAuthUser",
            "arguments": {"environment": "production", "instance_id": "i-0abc1234"}}
    })
    .to_string();
    let name = format!("x\n{forged_record}");
    // The function logs JSON: the name stays inside one escaped string.
    let tracing_line = json!({"level": "WARN", "fields": {"message": format!(
        "invalid arguments: unknown field `{name}`"), "tool": "terminate_instance"}});
    // And a flattened variant, as other JSON formatters write it.
    let flat = json!({"level": "WARN", "message": format!("unknown field `{name}`")});
    vec![tracing_line.to_string(), flat.to_string()]
}

#[test]
fn text_a_caller_sent_never_passes_for_a_record_in_any_shape_the_logs_take() {
    let dir = tempfile::tempdir().unwrap();
    let lines = forged_name_lines();
    let events: Vec<Value> = lines
        .iter()
        .map(|l| json!({"timestamp": 1, "message": format!("{l}\n")}))
        .collect();
    let inputs = [
        lines.join("\n"),
        json!({"events": events}).to_string(),
        lines
            .iter()
            .map(|l| format!("2026-01-01T00:00:00.000Z {l}\n"))
            .collect(),
    ];
    let policies = loosened_and_tightened(dir.path());
    for input in inputs {
        let (out, text) = guard(
            &[
                "replay",
                "--policies",
                &policies,
                "--fail-on",
                "newly-allowed,newly-denied",
            ],
            Some(&input),
        );
        assert!(!text.contains("NEWLY"), "{text}");
        assert!(text.contains("  total: 0 replayed"), "{text}");
        assert!(text.contains("ignored: 2 lines or events"), "{text}");
        // Nothing was replayed, which the CI gate reports separately (exit 0 here: no flip).
        assert_ne!(out.status.code(), Some(1), "{text}");
    }
}

#[test]
fn budget_checks_are_counted_on_their_own_line_and_are_not_a_failure_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let guard_lib = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-staging"});
    let call = ToolCall {
        tool: TERMINATE,
        input: &input,
        principal: None,
        ids: &ids,
    };
    let facts = instance("staging", false);
    guard_lib.check_call(&call);
    guard_lib.check_resource(&call, &facts);
    let count = guard::BudgetCount {
        budget: "terminate-per-environment".to_owned(),
        per: "environment".to_owned(),
        scope: "staging".to_owned(),
        slot: Some(0),
    };
    guard_lib.record_budget(
        &call,
        &facts,
        guard::BudgetOutcome::Within(vec![count]),
        std::time::Duration::ZERO,
    );
    let emf = EmfStdout::default();
    let lines: Vec<String> = audit
        .records()
        .iter()
        .map(|r| emf.line(r).to_string())
        .collect();
    let file = write(dir.path(), "audit.jsonl", &lines.join("\n"));
    let (out, text) = guard(&["replay", &file, "--fail-on", "not-replayed"], None);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("  1 budget checks: decided by history"),
        "{text}"
    );
    assert!(text.contains("  total: 2 replayed"), "{text}");
    assert!(!text.contains("NOT REPLAYED"), "{text}");
}

#[test]
fn nothing_to_replay_is_not_a_pass() {
    let (out, text) = guard(&["replay", "--fail-on", "newly-allowed"], Some("\n"));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.ends_with("nothing replayed: no replayable audit record was read\n"),
        "{text}"
    );
}

#[test]
fn records_all_about_another_gateway_are_not_a_pass() {
    let lines = log_lines(Mode::Enforce, OTHER_GATEWAY).join("\n");
    let (out, text) = guard(&["replay", "--fail-on", "newly-allowed"], Some(&lines));
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!(
            "nothing replayed: every record is about another gateway (`{OTHER_GATEWAY}`); pass \
             the gateway they were written for as --gateway-arn"
        )),
        "{text}"
    );
    let arn = ["--gateway-arn", OTHER_GATEWAY];
    let (out, text) = guard(&[&["replay"], &arn[..]].concat(), Some(&lines));
    assert!(out.status.success(), "{text}");
}

/// The lines restart_service writes for a production restart that ran on alice's approval
/// (she is on call; the caller is agent-7) and a staging restart that needed none.
fn restart_lines() -> Vec<String> {
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
    let ids = RequestIds::default();
    let agent = guard::Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: std::collections::BTreeMap::new(),
    };
    let approval = guard::Approval {
        approver: "arn:aws:sts::123456789012:assumed-role/agent-guard-oncall/alice".to_owned(),
        approver_person: "alice".to_owned(),
        approver_role: "agent-guard-oncall".to_owned(),
        caller_person: "agent-7".to_owned(),
    };
    for (environment, approval) in [("production", Some(&approval)), ("staging", None)] {
        let input = json!({"environment": environment, "service": "api"});
        let call = ToolCall {
            tool: "restart-service___restart_service",
            input: &input,
            principal: Some(&agent),
            ids: &ids,
        };
        let service = ResourceFacts::new(
            "Guard::EcsService",
            format!("arn:aws:ecs:us-east-1:1:service/{environment}/api"),
        )
        .attribute("name", "api")
        .attribute("cluster", environment)
        .attribute("status", "ACTIVE")
        .tags([("Environment".to_owned(), environment.to_owned())]);
        assert!(guard.check_call(&call).proceeds());
        assert!(
            guard
                .check_resource_approved(&call, &service, approval)
                .is_allow()
        );
    }
    let emf = EmfStdout::default();
    audit
        .records()
        .iter()
        .map(|r| emf.line(r).to_string())
        .collect()
}

#[test]
fn replay_says_which_approvals_a_candidate_makes_unnecessary_or_required() {
    let lines = restart_lines().join("\n");
    // The shipped policies: the approved restart replays as allowed, with its approval.
    let (out, text) = guard(&["replay", "-"], Some(&lines));
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("APPROVAL"), "{text}");
    assert!(text.contains("0 newly denied, 0 newly allowed"), "{text}");

    // A candidate that lets production restarts run on the agent's word, and asks a person
    // for staging ones.
    let dir = tempfile::tempdir().unwrap();
    let root = candidate(dir.path());
    edit(&root, "resource/environment.cedar", |text| {
        text.replacen(
            r#"(resource.getTag("environment") == "staging" || resource.getTag("environment") == "dev")"#,
            r#"(resource.getTag("environment") == "production" || resource.getTag("environment") == "dev")"#,
            1,
        )
    });
    edit(&root, "resource/approval.cedar", |text| {
        text.replace(
            r#"resource.getTag("environment") == "production" &&
  context.input has environment &&
  context.input.environment == "production" &&"#,
            r#"resource.getTag("environment") == "staging" &&
  context.input has environment &&
  context.input.environment == "staging" &&"#,
        )
    });
    let root = root.to_str().unwrap();
    let (_, text) = guard(&["replay", "--policies", root, "-"], Some(&lines));
    assert!(
        text.contains("APPROVAL NO LONGER NEEDED")
            && text.contains(r#"arguments: {"environment":"production","service":"api"}"#),
        "{text}"
    );
    assert!(text.contains("APPROVAL NOW REQUIRED"), "{text}");
    assert!(
        text.contains("approvals: 1 would no longer need a person's approval"),
        "{text}"
    );
    assert!(
        text.contains("approvals: 1 would now need a person's approval"),
        "{text}"
    );
}
