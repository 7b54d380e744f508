//! `guard validate` covers the whole policies directory: the policies, `budgets.json`, the
//! invariants, and every file nothing would read; it warns about what validates yet can never
//! apply.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::fs;

#[path = "support/cli.rs"]
mod support;

use support::{ROOT, guard, shipped_copy, stderr, stdout};

/// Rewrites `file` under `root` with `change`.
fn edit(root: &std::path::Path, file: &str, change: impl FnOnce(String) -> String) {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(path, change(text)).unwrap();
}

fn validate(policies: &std::path::Path) -> (Option<i32>, String) {
    let out = guard(&["--policies", policies.to_str().unwrap(), "validate"]);
    (out.status.code(), stdout(&out))
}

#[test]
fn the_shipped_directory_is_valid_and_says_what_was_checked() {
    let out = guard(&["validate"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("valid: embedded policies/budgets.json (4 budgets"),
        "{text}"
    );
    assert!(text.contains("valid: 6 invariant file(s)"), "{text}");
    assert!(!text.contains("warning"), "{text}");
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_budget_limit_of_zero_is_invalid_and_names_the_file() {
    let (_dir, policies) = shipped_copy();
    edit(&policies, "budgets.json", |t| {
        t.replacen("\"limit\": 3", "\"limit\": 0", 1)
    });
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(1), "{text}");
    let file = policies.join("budgets.json").display().to_string();
    assert!(
        text.contains(&format!(
            "{file}: budget `terminate-per-environment`: the limit is 0"
        )),
        "{text}"
    );
    assert!(
        text.ends_with("1 problem(s): the policies are invalid\n"),
        "{text}"
    );
}

#[test]
fn a_budget_for_a_tool_the_schema_does_not_declare_is_invalid() {
    let (_dir, policies) = shipped_copy();
    edit(&policies, "budgets.json", |t| {
        t.replacen("\"tool\": \"clean_logs\"", "\"tool\": \"clean_log\"", 1)
    });
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("`clean_log` is not a tool the policies' schema declares"),
        "{text}"
    );
}

#[test]
fn a_missing_budget_file_is_invalid() {
    let (_dir, policies) = shipped_copy();
    fs::remove_file(policies.join("budgets.json")).unwrap();
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("budgets.json: cannot read"), "{text}");
}

#[test]
fn an_invariant_that_does_not_validate_against_the_schema_is_invalid() {
    let (_dir, policies) = shipped_copy();
    edit(&policies, "invariants/protection.cedar", |t| {
        t.replacen("termination_protected", "termination_protectd", 1)
    });
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("invariants/protection.cedar: "), "{text}");
    assert!(text.contains("termination_protectd"), "{text}");
}

#[test]
fn cedar_files_nothing_reads_are_warned_about_each_with_its_path() {
    let (_dir, policies) = shipped_copy();
    let restart = fs::read_to_string(policies.join("gateway/restart_service.cedar")).unwrap();
    fs::write(policies.join("new_rule.cedar"), "").unwrap();
    fs::create_dir_all(policies.join("gateway/old")).unwrap();
    fs::write(policies.join("gateway/old/restart_service.cedar"), &restart).unwrap();
    fs::write(policies.join("resource/protect.cedar.txt"), "").unwrap();
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(0), "{text}");
    for file in [
        "new_rule.cedar",
        "gateway/old/restart_service.cedar",
        "resource/protect.cedar.txt",
    ] {
        assert!(
            text.contains(&format!("{file}: warning: not loaded: ")),
            "{file}: {text}"
        );
    }
}

#[test]
fn a_gateway_policy_pinned_to_another_gateway_is_a_warning() {
    let (_dir, policies) = shipped_copy();
    let other = "arn:aws:bedrock-agentcore:eu-west-1:210987654321:gateway/ops-gw";
    fs::write(
        policies.join("gateway/pinned.cedar"),
        format!(
            "@id(\"pinned_elsewhere\")\npermit (\n  principal,\n  action == \
             AgentCore::Action::\"get-metrics___get_metrics\",\n  resource == \
             AgentCore::Gateway::\"{other}\"\n);\n"
        ),
    )
    .unwrap();
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "gateway/pinned.cedar:1: warning: `pinned_elsewhere` names gateway `{other}`"
        )),
        "{text}"
    );
}

#[test]
fn an_unknown_gateway_action_is_answered_with_the_declared_tool_names() {
    let (_dir, policies) = shipped_copy();
    edit(&policies, "gateway/restart_service.cedar", |t| {
        t.replace(
            "\"restart-service___restart_service\"",
            "\"restart_service\"",
        )
    });
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("did you mean `AgentCore::Action::\"restart-service___restart_service\"`"),
        "{text}"
    );
    assert!(
        !text.contains("did you mean `AgentCore::Action::\"Mcp\"`"),
        "{text}"
    );
}

#[test]
fn the_policies_directory_of_the_repository_has_no_file_validate_would_warn_about() {
    let out = guard(&["--policies", &format!("{ROOT}/policies"), "validate"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn each_problem_is_named_with_its_file_and_line() {
    let (_dir, policies) = shipped_copy();
    fs::write(
        policies.join("resource/typo.cedar"),
        "@id(\"typo\")\nforbid (principal, action == Guard::Action::\"clean_logs\", resource is \
         Guard::LogGroup)\nwhen { resource.deletion_protectd };\n",
    )
    .unwrap();
    let (code, text) = validate(&policies);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("resource/typo.cedar:3: "), "{text}");
    assert!(text.contains("deletion_protectd"), "{text}");
}
