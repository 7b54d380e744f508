//! `guard prove` as a user runs it, against the shipped policies and copies loosened by hand.
//! It needs the cvc5 solver the test command installs (`source tests/env.sh`): without one
//! these tests fail, saying so.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{fs, path::Path, process::Command};

#[path = "support/prove.rs"]
mod support;

use support::{assert_fails_with_confirmed_counterexample, guard, prove, said, shipped_copy};

/// Cuts the policy annotated `@id("<id>")` out of `file`.
fn remove_policy(file: &Path, id: &str) {
    let text = fs::read_to_string(file).unwrap();
    let start = text.find(&format!("@id(\"{id}\")")).unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    fs::write(file, format!("{}{}", &text[..start], &text[end..])).unwrap();
}

#[test]
fn shipped_policies_prove_every_invariant() {
    let out = guard(&["prove"]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    let proved = text.lines().filter(|l| l.starts_with("PROVED ")).count();
    assert!(proved >= 11, "{text}");
    assert_eq!(
        text.lines().last(),
        Some(format!("{proved} proved, 0 failed").as_str()),
        "{text}"
    );
}

#[test]
fn dropping_the_resource_environment_condition_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    // Restart and terminate wherever the agent names any environment, whatever the resource.
    fs::write(
        policies.join("resource/environment.cedar"),
        r#"
@id("restart_anywhere")
permit (principal, action == Guard::Action::"restart_service", resource is Guard::EcsService)
when { context.input has environment };
@id("terminate_anywhere")
permit (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { context.input has environment };
"#,
    )
    .unwrap();
    assert_fails_with_confirmed_counterexample(&policies, "terminate_only_real_staging_dev");
    assert_fails_with_confirmed_counterexample(&policies, "restart_claim_matches_reality");
}

#[test]
fn removing_the_termination_protection_forbid_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    remove_policy(
        &policies.join("resource/protection.cedar"),
        "never_terminate_protected_instance",
    );
    assert_fails_with_confirmed_counterexample(&policies, "never_terminate_protected_instance");
}

#[test]
fn removing_the_audit_forbids_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    let protection = policies.join("resource/protection.cedar");
    remove_policy(&protection, "never_clean_compliance_log_group");
    remove_policy(&protection, "never_clean_audit_named_log_group");
    assert_fails_with_confirmed_counterexample(
        &policies,
        "never_clean_audit_or_compliance_log_group",
    );
}

#[test]
fn a_call_check_allowing_production_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    fs::write(
        policies.join("gateway/terminate_instance.cedar"),
        r#"
@id("allow_terminate_non_production")
permit (
  principal,
  action == AgentCore::Action::"terminate-instance___terminate_instance",
  resource == ?resource
)
when { context.input has instance_id };
"#,
    )
    .unwrap();
    assert_fails_with_confirmed_counterexample(
        &policies,
        "call_terminate_only_staging_dev_with_instance",
    );
}

#[test]
fn an_on_call_permit_matching_the_bare_word_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    let file = policies.join("gateway/clean_logs.cedar");
    let text = fs::read_to_string(&file).unwrap();
    // `not-oncall` (or `oncall-trainee`) would be on call.
    let loosened = text.replace(r#"like "*\"oncall\"*""#, r#"like "*oncall*""#);
    assert_ne!(loosened, text);
    fs::write(&file, loosened).unwrap();
    assert_fails_with_confirmed_counterexample(&policies, "recent_logs_only_for_oncall_callers");
}

#[test]
fn an_on_call_permit_for_every_caller_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    remove_policy(
        &policies.join("gateway/clean_logs.cedar"),
        "allow_clean_logs_always",
    );
    let file = policies.join("gateway/clean_logs.cedar");
    let text = fs::read_to_string(&file).unwrap();
    // The group test dropped: any caller cleans recent streams.
    let loosened = text.replace(
        "principal.hasTag(\"cognito:groups\") &&\n  principal.getTag(\"cognito:groups\") like \"*\\\"oncall\\\"*\"",
        "true",
    );
    assert_ne!(loosened, text);
    fs::write(&file, loosened).unwrap();
    assert_fails_with_confirmed_counterexample(&policies, "recent_logs_only_for_oncall_callers");
}

#[test]
fn an_invariant_no_policy_set_can_break_is_reported_vacuous_not_proved() {
    let (_tmp, policies) = shipped_copy();
    fs::write(
        policies.join("invariants/vacuous.cedar"),
        r#"
// Says nothing: no instance is both protected and not.
@id("vacuous")
forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { resource.termination_protected && !resource.termination_protected };
"#,
    )
    .unwrap();
    let out = prove(&policies);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("VACUOUS vacuous:")),
        "{text}"
    );
    assert!(!text.contains("PROVED vacuous"), "{text}");
}

#[test]
fn a_permit_is_refused_as_an_invariant() {
    let (_tmp, policies) = shipped_copy();
    fs::write(
        policies.join("invariants/permit.cedar"),
        "@id(\"p\") permit (principal, action, resource);",
    )
    .unwrap();
    let out = prove(&policies);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("is a permit"), "{}", said(&out));
}

#[test]
fn a_missing_solver_is_an_error_that_says_how_to_install_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_guard"))
        .arg("prove")
        .env("CVC5", "/nonexistent/cvc5")
        .output()
        .unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("no working cvc5 solver"), "{text}");
    assert!(text.contains("tests/env.sh"), "{text}");
}

#[test]
fn equivalent_directories_are_reported_equivalent() {
    let (_tmp, copy) = shipped_copy();
    let out = guard(&["prove", "--equivalent", "policies", copy.to_str().unwrap()]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("EQUIVALENT "), "{text}");
}

#[test]
fn a_loosened_directory_is_told_apart_by_one_request() {
    let (_tmp, loosened) = shipped_copy();
    remove_policy(
        &loosened.join("resource/protection.cedar"),
        "never_terminate_protected_instance",
    );
    let out = guard(&[
        "prove",
        "--equivalent",
        "policies",
        loosened.to_str().unwrap(),
    ]);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("DIFFERENT "), "{text}");
    assert!(text.contains("OLD guard: DENY"), "{text}");
    assert!(text.contains("NEW guard: ALLOW"), "{text}");
}

/// The gateway's Policy 1 opened to production restarts, so that the resource check's
/// approval policy alone decides them.
fn open_gateway_to_production_restarts(policies: &Path) {
    let file = policies.join("gateway/restart_service.cedar");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(
        &file,
        text.replace(
            r#"context.input.environment == "dev")"#,
            r#"context.input.environment == "dev" || context.input.environment == "production")"#,
        ),
    )
    .unwrap();
    // The call-check invariant that says the opposite goes with it.
    remove_policy(
        &policies.join("invariants/call_check.cedar"),
        "call_restart_only_staging_dev_production_with_service",
    );
}

#[test]
fn with_the_gateway_open_to_production_the_shipped_approval_policy_proves_its_invariants() {
    let (_tmp, policies) = shipped_copy();
    open_gateway_to_production_restarts(&policies);
    let out = guard(&["prove", "--policies", policies.to_str().unwrap()]);
    let text = said(&out);
    for id in [
        "never_approved_by_the_caller",
        "production_restart_only_with_oncall_approval",
        "production_terminate_never_approved_or_not",
        "production_clean_logs_never_approved_or_not",
    ] {
        assert!(text.contains(&format!("PROVED {id}")), "{id}: {text}");
    }
}

#[test]
fn an_approval_policy_that_lets_the_caller_approve_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    open_gateway_to_production_restarts(&policies);
    let file = policies.join("resource/approval.cedar");
    let text = fs::read_to_string(&file).unwrap();
    let loosened = text.replace(
        "  context.approval.caller_person != \"\" &&\n  context.approval.approver_person != context.approval.caller_person\n",
        "  true\n",
    );
    assert_ne!(loosened, text, "the caller conditions were cut");
    fs::write(&file, loosened).unwrap();
    assert_fails_with_confirmed_counterexample(&policies, "never_approved_by_the_caller");
}

#[test]
fn an_approvable_production_termination_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    // The gateway opened to production terminations, and an "approved" permit for them.
    let gateway = policies.join("gateway/terminate_instance.cedar");
    let text = fs::read_to_string(&gateway).unwrap();
    fs::write(
        &gateway,
        text.replace(
            r#"context.input.environment == "dev")"#,
            r#"context.input.environment == "dev" || context.input.environment == "production")"#,
        ),
    )
    .unwrap();
    remove_policy(
        &policies.join("invariants/call_check.cedar"),
        "call_terminate_only_staging_dev_with_instance",
    );
    fs::write(
        policies.join("resource/approved_termination.cedar"),
        r#"
@id("terminate_production_with_approval")
permit (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when {
  resource.hasTag("environment") && resource.getTag("environment") == "production" &&
  context has approval && context.approval.approver_person != context.approval.caller_person
};
"#,
    )
    .unwrap();
    assert_fails_with_confirmed_counterexample(
        &policies,
        "production_terminate_never_approved_or_not",
    );
}
