//! Every case file under `policies/tests/` runs as part of `cargo test`, against the shipped
//! policies, exactly as `guard test` runs it.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::path::PathBuf;

use guard::{EXAMPLE_GATEWAY_ARN, PolicySources};
use guard_cli::cases::{CaseRunner, summary};

fn case_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Against the policies as `guard test` loads them (text) and as a deployed function loads
/// them (build.rs's JSON forms): the same cases, the same answers.
#[test]
fn every_shipped_case_file_passes() {
    for sources in [PolicySources::embedded(), PolicySources::compiled()] {
        every_case_file_passes(&sources);
    }
}

fn every_case_file_passes(sources: &PolicySources) {
    let runner = CaseRunner::new(sources, EXAMPLE_GATEWAY_ARN).unwrap();
    let mut results = Vec::new();
    for file in case_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        results.extend(runner.run_file(&file.display().to_string(), &text));
    }
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(ToString::to_string)
        .collect();
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        summary(&results)
    );
    assert!(results.len() >= 40, "only {} cases", results.len());
}

#[test]
fn the_articles_seven_cases_pass() {
    let runner = CaseRunner::new(&PolicySources::embedded(), EXAMPLE_GATEWAY_ARN).unwrap();
    let text = include_str!("../../../policies/tests/article.json");
    let results = runner.run_file("article.json", text);
    assert_eq!(summary(&results), "7 passed, 0 failed");
}

#[test]
fn a_wrong_expectation_fails_its_case() {
    let runner = CaseRunner::new(&PolicySources::embedded(), EXAMPLE_GATEWAY_ARN).unwrap();
    let text = r#"[
        {"name": "prod restart expected to pass", "tool": "restart-service___restart_service",
         "params": {"environment": "prod", "service": "api"}, "expected": "ALLOW"},
        {"name": "missing expected", "tool": "restart-service___restart_service", "params": {}},
        {"name": "typo field", "tool": "clean-logs___clean_logs", "params": {}, "expected": "DENY", "expect": "DENY"}
    ]"#;
    let results = runner.run_file("bad.json", text);
    assert_eq!(summary(&results), "0 passed, 3 failed");
    assert!(
        results[1].detail.contains("missing field `expected`"),
        "{}",
        results[1].detail
    );
    assert!(
        results[2].detail.contains("unknown field `expect`"),
        "{}",
        results[2].detail
    );
    assert_eq!(
        summary(&runner.run_file("x.json", "{}")),
        "0 passed, 1 failed"
    );
}

#[test]
fn a_case_with_history_runs_the_budget_check_third() {
    let runner = CaseRunner::new(&PolicySources::embedded(), EXAMPLE_GATEWAY_ARN).unwrap();
    let text = r#"[
        {"name": "over budget", "tool": "terminate-instance___terminate_instance",
         "params": {"environment": "staging", "instance_id": "i-0abc0004"},
         "resource": {"type": "Guard::Ec2Instance", "id": "i-0abc0004", "tags": {"Environment": "staging"},
                      "attributes": {"state": "running", "termination_protected": false}},
         "history": [{"tool": "terminate_instance", "environment": "staging", "ago": "59m"},
                     {"tool": "terminate_instance", "environment": "staging", "ago": "2m"},
                     {"tool": "terminate_instance", "environment": "staging", "ago": "1m"}],
         "expected": "DENY"},
        {"name": "bad age", "tool": "terminate-instance___terminate_instance",
         "params": {"environment": "staging", "instance_id": "i-0abc0004"},
         "history": [{"tool": "terminate_instance", "ago": "lately"}], "expected": "ALLOW"}
    ]"#;
    let results = runner.run_file("b.json", text);
    assert!(results[0].passed(), "{}", results[0]);
    assert!(
        results[0].detail.ends_with(
            "budget check: `terminate-instance___terminate_instance` on `i-0abc0004` is over budget: \
             budget `terminate-per-environment` is used up for environment `staging` \
             (at most 3 `terminate_instance` per environment per 1h); the next slot frees up in 1m"
        ),
        "{}",
        results[0].detail
    );
    assert!(!results[1].passed());
    assert!(
        results[1].detail.contains("`lately` is not a duration"),
        "{}",
        results[1].detail
    );
}

#[test]
fn an_error_never_passes_as_a_deny_and_a_case_names_the_check_that_decides() {
    let runner = CaseRunner::new(&PolicySources::embedded(), EXAMPLE_GATEWAY_ARN).unwrap();
    let staging_instance = r#"{"type": "Guard::Ec2Instance", "id": "i-0abc",
        "tags": {"Environment": "staging"}, "attributes": {"state": "running", "termination_protected": false}}"#;
    let text = format!(
        r#"[
        {{"name": "a resource missing an attribute expected to deny",
          "tool": "terminate-instance___terminate_instance",
          "params": {{"environment": "staging", "instance_id": "i-0abc"}},
          "resource": {{"type": "Guard::Ec2Instance", "id": "i-0abc", "tags": {{"Environment": "staging"}},
                        "attributes": {{"state": "running"}}}},
          "expected": "DENY"}},
        {{"name": "a type without its namespace expected to deny",
          "tool": "terminate-instance___terminate_instance",
          "params": {{"environment": "staging", "instance_id": "i-0abc"}},
          "resource": {{"type": "Ec2Instance", "id": "i-0abc", "tags": {{}}, "attributes": {{}}}},
          "expected": "DENY"}},
        {{"name": "a tool name without the separator expected to deny",
          "tool": "terminate_instance", "params": {{}}, "expected": "DENY"}},
        {{"name": "the same, expecting the error it is",
          "tool": "terminate_instance", "params": {{}}, "expected": "ERROR", "denied_by": "call"}},
        {{"name": "a production claim denied at the call check, said to be the budget's",
          "tool": "terminate-instance___terminate_instance",
          "params": {{"environment": "production", "instance_id": "i-0abc"}},
          "expected": "DENY", "denied_by": "budget"}},
        {{"name": "a production claim denied at the call check",
          "tool": "terminate-instance___terminate_instance",
          "params": {{"environment": "production", "instance_id": "i-0abc"}},
          "expected": "DENY", "denied_by": "call"}},
        {{"name": "a staging termination permitted by a policy that does not permit it",
          "tool": "terminate-instance___terminate_instance",
          "params": {{"environment": "staging", "instance_id": "i-0abc"}},
          "resource": {staging_instance},
          "expected": "ALLOW", "policy": "never_terminate_protected_instance"}},
        {{"name": "a staging termination permitted by the staging policy",
          "tool": "terminate-instance___terminate_instance",
          "params": {{"environment": "staging", "instance_id": "i-0abc"}},
          "resource": {staging_instance},
          "expected": "ALLOW", "denied_by": "resource", "policy": "terminate_only_real_staging_dev"}}
    ]"#
    );
    let results = runner.run_file("cases.json", &text);
    let passed: Vec<bool> = results.iter().map(|r| r.passed()).collect();
    assert_eq!(
        passed,
        [false, false, false, true, false, true, false, true],
        "{results:#?}"
    );
    assert_eq!(results[0].got, Some(guard_cli::cases::Expected::Error));
    assert!(
        results[4]
            .to_string()
            .contains("but the call check decided it, not the budget check"),
        "{}",
        results[4]
    );
    assert!(
        results[6]
            .to_string()
            .contains("`never_terminate_protected_instance` is not among the deciding"),
        "{}",
        results[6]
    );
}
