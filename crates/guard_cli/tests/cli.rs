//! The `guard` binary, as a user runs it: `test`, `check`, `render`, and what every subcommand
//! shares (a closed pipe, a bad `--gateway-arn`, `--help`).

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    fs,
    process::{Command, Stdio},
};

#[path = "support/cli.rs"]
mod support;

use support::{ROOT, guard, shipped_copy, stderr, stdout};

#[test]
fn test_runs_the_article_cases_and_ends_with_the_summary() {
    let out = guard(&["test", "policies/tests/article.json"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS ")).count(), 7);
    assert_eq!(text.lines().last(), Some("7 passed, 0 failed"));
}

fn wrong_expectation() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    fs::write(
        &file,
        r#"[{"name":"prod terminate","tool":"terminate-instance___terminate_instance",
             "params":{"environment":"production","instance_id":"i-1"},"expected":"DENY"},
            {"name":"wrongly expected","tool":"get-metrics___get_metrics",
             "params":{},"expected":"ALLOW"}]"#,
    )
    .unwrap();
    let file = file.display().to_string();
    (dir, file)
}

#[test]
fn each_case_line_names_its_file_and_a_wrong_expectation_fails() {
    let (_dir, file) = wrong_expectation();
    let out = guard(&["test", &file]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("PASS {file}: prod terminate: expected DENY")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "FAIL {file}: wrongly expected: expected ALLOW, got DENY"
        )),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn failures_only_prints_the_failed_cases_and_the_summary() {
    let (_dir, file) = wrong_expectation();
    let out = guard(&["test", "--failures-only", &file]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.starts_with(&format!("FAIL {file}: wrongly expected")),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn json_output_is_one_document_with_each_result_and_the_counts() {
    let (_dir, file) = wrong_expectation();
    let out = guard(&["test", "--format", "json", &file]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let failed = &report["results"][1];
    assert_eq!(failed["file"], file.as_str());
    assert_eq!(failed["name"], "wrongly expected");
    assert_eq!(failed["passed"], false);
    assert_eq!(
        (&failed["expected"], &failed["got"]),
        (&"ALLOW".into(), &"DENY".into())
    );
    assert_eq!(failed["check"], "call");
}

#[test]
fn a_missing_case_file_is_an_error_about_reading_it() {
    let out = guard(&["test", "nosuch.json"]);
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    assert!(
        said.contains("cannot read `nosuch.json`: No such file"),
        "{said}"
    );
    assert!(!said.contains("JSON array"), "{said}");
}

#[test]
fn a_directory_runs_each_of_its_case_files() {
    let out = guard(&["test", "policies/tests/"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("PASS policies/tests/article.json: "),
        "{text}"
    );
    assert!(
        text.contains("PASS policies/tests/budgets.json: "),
        "{text}"
    );
    let empty = tempfile::tempdir().unwrap();
    let out = guard(&["test", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("holds no `*.json` case file"));
}

/// Every subcommand with its reader gone before it writes: a quiet exit, never a panic.
#[test]
fn a_closed_pipe_ends_every_subcommand_quietly() {
    let resource = r#"{"type":"Guard::Ec2Instance","id":"i-1","tags":{"Environment":"staging"},"attributes":{"state":"running","termination_protected":false}}"#;
    let commands: [&[&str]; 6] = [
        &["validate"],
        &["prove"],
        &["test", "policies/tests/"],
        &[
            "check",
            "--tool",
            "terminate-instance___terminate_instance",
            "--resource",
            resource,
        ],
        &["render"],
        &["replay", "-"],
    ];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_guard"))
            .args(args)
            .current_dir(ROOT)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the command has written anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(141), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

fn check(args: &[&str]) -> (Option<i32>, String) {
    let out = guard(&[&["check"], args].concat());
    (out.status.code(), stdout(&out))
}

#[test]
fn check_explains_a_claimed_vs_real_mismatch() {
    let (code, text) = check(&[
        "--tool",
        "terminate-instance___terminate_instance",
        "--input",
        r#"{"environment":"staging","instance_id":"i-0abc"}"#,
        "--resource",
        r#"{"type":"Guard::Ec2Instance","id":"i-0abc","tags":{"Environment":"production"},"attributes":{"state":"running","termination_protected":false}}"#,
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.starts_with("decision: DENY\n"), "{text}");
    assert!(text.contains("call check: ALLOW"), "{text}");
    assert!(
        text.contains("resource check: no policy permits `terminate-instance___terminate_instance` on `i-0abc`"),
        "{text}"
    );
}

#[test]
fn check_exits_0_on_allow_1_on_deny_and_3_when_no_decision_is_reached() {
    let get_metrics = ["--tool", "get-metrics___get_metrics"];
    let (allow, _) = check(&[&get_metrics[..], &["--input", r#"{"service_name":"api"}"#]].concat());
    let (deny, _) = check(&get_metrics);
    let (error, text) = check(&["--tool", "get-metrics___get_metric"]);
    assert_eq!((allow, deny, error), (Some(0), Some(1), Some(3)), "{text}");
    assert!(text.starts_with("decision: ERROR\n"), "{text}");
}

#[test]
fn check_and_test_show_what_a_shadow_policy_would_decide() {
    let (_dir, policies) = shipped_copy();
    fs::write(
        policies.join("resource/shadow.cedar"),
        "@id(\"no_terminate_trial\")\n@mode(\"LOG_ONLY\")\nforbid (principal, action == \
         Guard::Action::\"terminate_instance\", resource);\n",
    )
    .unwrap();
    let dir = policies.to_str().unwrap();
    let shown = "shadow `no_terminate_trial` enforcing: resource check DENY by \
                 `no_terminate_trial` (would flip)";
    let out = guard(&[
        "--policies",
        dir,
        "check",
        "--tool",
        "terminate-instance___terminate_instance",
        "--input",
        r#"{"environment":"staging","instance_id":"i-0abc"}"#,
        "--resource",
        r#"{"type":"Guard::Ec2Instance","id":"i-0abc","tags":{"Environment":"staging"},"attributes":{"state":"running","termination_protected":false}}"#,
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("  {shown}")), "{text}");
    let out = guard(&[
        "--policies",
        dir,
        "test",
        &format!("{dir}/tests/resources.json"),
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("PASS ") && l.ends_with(shown)),
        "{text}"
    );
}

#[test]
fn help_lists_the_case_fields_the_tool_names_and_the_exit_codes() {
    let test = stdout(&guard(&["test", "--help"]));
    for said in [
        "denied_by",
        "history",
        "WOULD_DENY",
        "restart-service___restart_service",
        "Exit codes:",
        "141",
    ] {
        assert!(test.contains(said), "{said}: {test}");
    }
    let check = stdout(&guard(&["check", "--help"]));
    assert!(
        check.contains("terminate-instance___terminate_instance"),
        "{check}"
    );
    assert!(
        check.contains("  3    an error: no decision could be reached"),
        "{check}"
    );
}

#[test]
fn a_bad_gateway_arn_is_named_as_the_flag_given() {
    let out = guard(&[
        "--gateway-arn",
        "gw-xyz789",
        "test",
        "policies/tests/article.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    assert!(
        said.contains("`--gateway-arn` `gw-xyz789` is not an AgentCore gateway ARN"),
        "{said}"
    );
    assert!(!said.contains("GATEWAY_ARN"), "{said}");
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
        6
    );
}

#[test]
fn render_prints_only_the_policies_asked_for() {
    let out = guard(&[
        "render",
        "--policy",
        "allow_get_metrics_always",
        "--format",
        "json",
    ]);
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rendered.as_array().map(Vec::len), Some(1));
    assert_eq!(rendered[0]["id"], "allow_get_metrics_always");
    let out = guard(&["render", "--policy", "allow_everything"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no policy `allow_everything` (it has `allow_clean_logs_always`")
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
    assert!(stderr(&out).contains("--input is not valid"));
}
