//! `examples/audit/sample.jsonl`: audit records the built functions wrote in a run of the demo,
//! shipped so a newcomer can try `guard replay` in five minutes. They must stay replayable and
//! in the shape the guard writes today: when the record changes, regenerate the sample
//! (`examples/audit/README.md`).

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{collections::BTreeSet, process::Command, sync::Arc};

use guard::{
    BudgetCount, BudgetOutcome, EXAMPLE_GATEWAY_ARN, EmfStdout, Guard, GuardConfig, MemoryAudit,
    PolicySources, RequestIds, ResourceFacts, ToolCall,
};
use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const SAMPLE: &str = "examples/audit/sample.jsonl";

/// Fields a record carries only when they apply (`skip_serializing_if`).
const OPTIONAL: [&str; 7] = [
    "gateway",
    "caller",
    "resource_facts",
    "truncated",
    "shadow",
    "budget",
    "approval",
];

fn sample() -> Vec<Value> {
    std::fs::read_to_string(format!("{ROOT}/{SAMPLE}"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The EMF lines the guard writes today for a call check, a resource check and a budget check.
fn current_lines() -> Vec<Value> {
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-0abc1234"});
    let call = ToolCall {
        tool: "terminate-instance___terminate_instance",
        input: &input,
        principal: None,
        ids: &ids,
    };
    let instance = ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234")
        .attribute("state", "running")
        .attribute("termination_protected", false)
        .tags([("Environment".to_owned(), "staging".to_owned())]);
    guard.check_call(&call);
    guard.check_resource(&call, &instance);
    let count = BudgetCount {
        budget: "terminate-per-environment".to_owned(),
        per: "environment".to_owned(),
        scope: "staging".to_owned(),
        slot: Some(0),
    };
    guard.record_budget(
        &call,
        &instance,
        BudgetOutcome::Within(vec![count]),
        std::time::Duration::ZERO,
    );
    let emf = EmfStdout::default();
    audit.records().iter().map(|r| emf.line(r)).collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_sample_holds_every_kind_of_check_and_outcome() {
    let records: Vec<Value> = sample().iter().map(|l| l["guard_audit"].clone()).collect();
    assert!(
        (10..=40).contains(&records.len()),
        "{} records",
        records.len()
    );
    for (field, value) in [
        ("check", "call"),
        ("check", "resource"),
        ("check", "budget"),
        ("outcome", "allow"),
        ("outcome", "deny"),
    ] {
        assert!(
            records.iter().any(|r| r[field] == value),
            "no {field} {value}"
        );
    }
}

#[test]
fn the_sample_is_in_the_shape_the_guard_writes_today() {
    let current = current_lines();
    for line in sample() {
        let record = &line["guard_audit"];
        let like = current
            .iter()
            .find(|c| c["guard_audit"]["check"] == record["check"])
            .unwrap();
        let now = keys(&like["guard_audit"]);
        let then = keys(record);
        let optional: BTreeSet<String> = OPTIONAL.iter().map(|k| (*k).to_owned()).collect();
        let missing: Vec<&String> = now
            .difference(&then)
            .filter(|k| !optional.contains(*k))
            .collect();
        let unknown: Vec<&String> = then
            .difference(&now)
            .filter(|k| !optional.contains(*k))
            .collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "a {} record of {SAMPLE} lacks {missing:?} and has {unknown:?}: regenerate the sample",
            record["check"]
        );
        // The metrics envelope CloudWatch reads the counts from.
        assert!(line.get("_aws").is_some(), "{line}");
    }
}

#[test]
fn the_sample_replays_against_the_shipped_policies_without_a_flip() {
    let out = Command::new(env!("CARGO_BIN_EXE_guard"))
        .args([
            "replay",
            "--fail-on",
            "newly-allowed,newly-denied,not-replayed",
            SAMPLE,
        ])
        .current_dir(ROOT)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("ignored:"), "{text}");
    assert!(text.contains("budget checks: decided by history"), "{text}");
}

#[test]
fn the_demos_candidate_flips_the_sample_both_ways() {
    let out = Command::new(env!("CARGO_BIN_EXE_guard"))
        .args([
            "replay",
            "--policies",
            "tests/demo/candidate-policies",
            SAMPLE,
        ])
        .current_dir(ROOT)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("NEWLY ALLOWED"), "{text}");
    assert!(text.contains("NEWLY DENIED"), "{text}");
}
