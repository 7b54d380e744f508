//! `guard new-tool`, as a user runs it: every piece written into the workspace named, the
//! checklist of what is left, and nothing overwritten.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

#[path = "support/cli.rs"]
mod support;

use support::{guard, shipped_copy, stderr, stdout};

#[test]
fn new_tool_writes_every_piece_and_says_what_is_left() {
    let (dir, policies) = shipped_copy();
    std::fs::create_dir_all(dir.path().join("crates")).unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = guard(&["new-tool", "stop_rds_instance", "--out", out_dir]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for piece in [
        "created crates/stop_rds_instance/src/lib.rs",
        "created crates/stop_rds_instance/tests/handler.rs",
        "created crates/stop_rds_instance/tool_schema.json",
        "created crates/stop_rds_instance/deploy/template.yaml",
        "created crates/stop_rds_instance/deploy/targets.yaml",
        "created policies/gateway/stop_rds_instance.cedar",
        "created policies/resource/stop_rds_instance.cedar",
        "created policies/invariants/stop_rds_instance.cedar",
        "created policies/tests/stop_rds_instance.json",
        "created events/stop_rds_instance/deny-production.json",
        "added to policies/schema/agentcore.cedarschema",
        "added to policies/schema/resource.cedarschema",
        "added to policies/budgets.json",
    ] {
        assert!(text.contains(piece), "{piece}: {text}");
    }
    for step in ["Make it yours", "Budget:", "Deploy: paste", "Events:"] {
        assert!(text.contains(step), "{step}: {text}");
    }
    // The new tool is part of what `guard validate` and `guard test` see.
    let dir_arg = policies.to_str().unwrap();
    let validated = guard(&["--policies", dir_arg, "validate"]);
    assert!(validated.status.success(), "{}", stdout(&validated));
    assert!(stdout(&validated).contains("5 budgets"));
    let cases = format!("{dir_arg}/tests/stop_rds_instance.json");
    let tested = guard(&["--policies", dir_arg, "test", &cases]);
    assert_eq!(stdout(&tested).lines().last(), Some("5 passed, 0 failed"));

    let again = guard(&["new-tool", "stop_rds_instance", "--out", out_dir]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );
}
