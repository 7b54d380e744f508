//! Loading fails closed: broken policy files make every check an error naming the file and line.

use std::sync::Arc;

use guard::{Guard, GuardConfig, MemoryAudit, Mode, Outcome, PolicySources, RequestIds};
use serde_json::json;

use crate::support::{RESTART, TERMINATE, call, config, guard_with, staging_instance, with_file};

/// Every check a tool could make, all of which must deny with an error when the policies are
/// broken.
fn assert_every_decision_is_an_error(guard: &Guard, expected: &str) {
    let ids = RequestIds::default();
    let staging = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &staging, &ids);
    for decision in [
        guard.check_call(&c),
        guard.check_resource(&c, &staging_instance("staging")),
    ] {
        assert!(!decision.proceeds(), "{decision:?}");
        let explained = decision.explain();
        assert!(
            explained.contains("error, not a policy decision"),
            "{explained}"
        );
        assert!(explained.contains(expected), "{explained}");
    }
}

#[test]
fn a_policy_syntax_error_denies_every_call_with_the_file_and_line() {
    let broken = "@id(\"oops\")\npermit (\n  principal,\n  action ==,\n  resource\n);\n";
    let sources = with_file("resource/broken.cedar", broken);
    let (guard, audit) = guard_with(sources, Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert_eq!(err.problems[0].file, "resource/broken.cedar");
    assert_eq!(err.problems[0].line, Some(4));
    assert_every_decision_is_an_error(&guard, "resource/broken.cedar:4");
    assert_eq!(audit.records().len(), 2, "every refusal is audited");
    assert!(audit.records().iter().all(|r| r.outcome == Outcome::Error));
}

#[test]
fn a_schema_violation_denies_every_call_even_in_log_only() {
    let bad = "@id(\"reads_unknown_argument\")\npermit (principal, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource)\nwhen { context.input has environment && context.input.environment && true };\n";
    let sources = with_file("gateway/restart_service.cedar", bad);
    let (guard, _) = guard_with(sources, Mode::LogOnly);
    let err = guard.policy_sets().unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.file == "gateway/restart_service.cedar" && p.line == Some(3)),
        "{err}"
    );
    assert_every_decision_is_an_error(&guard, "gateway/restart_service.cedar:3");
}

#[test]
fn gateway_policies_must_validate_against_the_agentcore_schema_alone() {
    // Valid against the whole schema, but it names a resource-check type: AgentCore would
    // refuse it, so the guard does too.
    let leaky = "@id(\"names_guard_types\")\npermit (principal, action == Guard::Action::\"clean_logs\", resource);\n";
    let (guard, _) = guard_with(with_file("gateway/leaky.cedar", leaky), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(
        err.problems.iter().all(|p| p.file == "gateway/leaky.cedar"),
        "{err}"
    );
}

#[test]
fn policies_without_an_id_or_with_a_duplicate_id_are_refused() {
    let no_id = "permit (principal, action == Guard::Action::\"clean_logs\", resource);\n";
    let (guard, _) = guard_with(with_file("resource/no_id.cedar", no_id), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(err.to_string().contains("no `@id"), "{err}");

    let dup = "@id(\"never_terminate_protected_instance\")\npermit (principal, action == Guard::Action::\"clean_logs\", resource);\n";
    let (guard, _) = guard_with(with_file("resource/dup.cedar", dup), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(err.to_string().contains("duplicate policy id"), "{err}");
    assert!(
        err.to_string().contains("resource/protection.cedar"),
        "{err}"
    );
}

#[test]
fn a_template_with_a_principal_slot_is_refused() {
    let t = "@id(\"per_user\")\npermit (principal == ?principal, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource);\n";
    let (guard, _) = guard_with(with_file("gateway/per_user.cedar", t), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(err.to_string().contains("exactly one slot"), "{err}");
}

#[test]
fn policies_load_from_a_directory_override() {
    let dir = tempfile::tempdir().unwrap();
    for file in PolicySources::embedded().files() {
        let path = dir.path().join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.text).unwrap();
    }
    // Loosen one rule on disk; the override must pick it up.
    std::fs::write(
        dir.path().join("gateway/restart_service.cedar"),
        "@id(\"allow_any_restart\")\npermit (principal, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource);\n",
    )
    .unwrap();
    let config = GuardConfig {
        policy_dir: Some(dir.path().to_owned()),
        ..config(Mode::Enforce)
    };
    let guard = Guard::configured(&config, Arc::new(MemoryAudit::new()));
    let ids = RequestIds::default();
    let input = json!({"environment": "production", "service": "api"});
    let decision = guard.check_call(&call(RESTART, &input, &ids));
    assert_eq!(decision.policies, ["allow_any_restart"]);

    let missing = GuardConfig {
        policy_dir: Some(dir.path().join("nowhere")),
        ..config
    };
    let guard = Guard::configured(&missing, Arc::new(MemoryAudit::new()));
    assert!(!guard.check_call(&call(RESTART, &input, &ids)).proceeds());
}
