//! The `guard` binary, as a user runs it.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::process::{Command, Output};

fn guard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guard"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn test_runs_the_article_cases_and_ends_with_the_summary() {
    let out = guard(&["test", "policies/tests/article.json"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS ")).count(), 7);
    assert_eq!(text.lines().last(), Some("7 passed, 0 failed"));
}

#[test]
fn test_fails_on_an_unseen_file_with_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    std::fs::write(
        &file,
        r#"[{"name":"prod terminate","tool":"terminate-instance___terminate_instance",
             "params":{"environment":"production","instance_id":"i-1"},"expected":"DENY"},
            {"name":"wrongly expected","tool":"get-metrics___get_metrics",
             "params":{},"expected":"ALLOW"}]"#,
    )
    .unwrap();
    let out = guard(&["test", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL wrongly expected: expected ALLOW, got DENY"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn validate_reports_the_shipped_policies_valid() {
    let out = guard(&["validate"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("valid: "));
}

#[test]
fn validate_names_the_file_and_line_of_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["gateway", "resource", "schema"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    for schema in ["agentcore.cedarschema", "resource.cedarschema"] {
        std::fs::copy(
            format!("{root}/schema/{schema}"),
            dir.path().join("schema").join(schema),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("resource/typo.cedar"),
        "@id(\"typo\")\nforbid (principal, action == Guard::Action::\"clean_logs\", resource is Guard::LogGroup)\nwhen { resource.deletion_protectd };\n",
    )
    .unwrap();
    let out = guard(&["validate", "--policies", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("resource/typo.cedar:3: "), "{text}");
    assert!(text.contains("deletion_protectd"), "{text}");
}

#[test]
fn check_explains_a_claimed_vs_real_mismatch() {
    let out = guard(&[
        "check",
        "--tool",
        "terminate-instance___terminate_instance",
        "--input",
        r#"{"environment":"staging","instance_id":"i-0abc"}"#,
        "--resource",
        r#"{"type":"Guard::Ec2Instance","id":"i-0abc","tags":{"Environment":"production"},"attributes":{"state":"running","termination_protected":false}}"#,
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("decision: DENY\n"), "{text}");
    assert!(text.contains("call check: ALLOW"), "{text}");
    assert!(
        text.contains("resource check: no policy permits `terminate-instance___terminate_instance` on `i-0abc`"),
        "{text}"
    );
}

#[test]
fn render_links_the_given_gateway() {
    let arn = "arn:aws:bedrock-agentcore:eu-west-1:210987654321:gateway/ops-gw";
    let out = guard(&["render", "--gateway-arn", arn]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches(&format!("AgentCore::Gateway::\"{arn}\""))
            .count(),
        4
    );
}

#[test]
fn bad_json_arguments_are_a_usage_error() {
    let out = guard(&[
        "check",
        "--tool",
        "clean-logs___clean_logs",
        "--input",
        "{not json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input is not valid"));
}
