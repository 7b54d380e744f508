//! `guard prove` as a user runs it, against the shipped policies and copies loosened by hand.
//! It needs the cvc5 solver the test command installs (`source tests/env.sh`): without one
//! these tests fail, saying so.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn guard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guard"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap()
}

/// Everything the command said, for assertion messages.
fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the shipped policies (with their invariants) to loosen.
fn shipped_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_dir(&Path::new(ROOT).join("policies"), &policies);
    (dir, policies)
}

/// Cuts the policy annotated `@id("<id>")` out of `file`.
fn remove_policy(file: &Path, id: &str) {
    let text = fs::read_to_string(file).unwrap();
    let start = text.find(&format!("@id(\"{id}\")")).unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    fs::write(file, format!("{}{}", &text[..start], &text[end..])).unwrap();
}

fn prove(policies: &Path) -> Output {
    guard(&["--policies", policies.to_str().unwrap(), "prove"])
}

/// The case printed under the FAILED line of `invariant`.
fn counterexample(text: &str, invariant: &str) -> serde_json::Value {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("FAILED {invariant}:")));
    let failed = lines.next().unwrap_or_default();
    assert!(
        failed.starts_with("FAILED "),
        "no FAILED {invariant}:\n{text}"
    );
    assert!(failed.contains("the guard confirms ALLOW"), "{failed}");
    let case: String = lines
        .take_while(|l| l.starts_with("  "))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&case).unwrap()
}

/// Runs `case` through `guard test` on `policies`: the counterexample must really be allowed.
fn assert_guard_test_allows(policies: &Path, case: &serde_json::Value) {
    let file = policies.join("counterexample.json");
    fs::write(&file, serde_json::to_string(&[case]).unwrap()).unwrap();
    let out = guard(&[
        "--policies",
        policies.to_str().unwrap(),
        "test",
        file.to_str().unwrap(),
    ]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("expected ALLOW, got ALLOW"), "{text}");
    assert_eq!(text.lines().last(), Some("1 passed, 0 failed"), "{text}");
}

fn assert_fails_with_confirmed_counterexample(policies: &Path, invariant: &str) {
    let out = prove(policies);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let case = counterexample(&text, invariant);
    assert_guard_test_allows(policies, &case);
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

/// Marks the policy annotated `@id("<id>")` in `file` as a shadow policy.
fn shadow_policy(file: &Path, id: &str) {
    let text = fs::read_to_string(file).unwrap();
    let marker = format!("@id(\"{id}\")");
    assert!(text.contains(&marker), "no {marker} in {}", file.display());
    fs::write(
        file,
        text.replace(&marker, &format!("{marker}\n@mode(\"LOG_ONLY\")")),
    )
    .unwrap();
}

/// The README's step 4 on the compliance forbid: the guard no longer enforces it, so the
/// invariant it alone upheld must fail, with a counterexample the guard allows.
#[test]
fn an_invariant_upheld_only_by_a_shadow_forbid_fails_with_an_allowed_counterexample() {
    let (_tmp, policies) = shipped_copy();
    shadow_policy(
        &policies.join("resource/protection.cedar"),
        "never_clean_compliance_log_group",
    );
    assert_fails_with_confirmed_counterexample(
        &policies,
        "never_clean_audit_or_compliance_log_group",
    );
    let text = said(&prove(&policies));
    // Once the shadow forbid enforces, the invariant holds again: said apart.
    assert!(
        text.lines().any(|l| l.starts_with(
            "SHADOW never_clean_audit_or_compliance_log_group: with the shadow policies \
             `never_clean_compliance_log_group` enforcing: PROVED"
        )),
        "{text}"
    );
    let last = text.lines().last().unwrap_or_default();
    assert!(last.ends_with("proved, 1 failed"), "{text}");
}

#[test]
fn a_shadow_gateway_forbid_is_not_proved_as_enforced() {
    let (_tmp, policies) = shipped_copy();
    // Terminate anything named, with production kept out only by a shadow forbid.
    fs::write(
        policies.join("gateway/terminate_instance.cedar"),
        r#"
@id("allow_terminate_named")
permit (
  principal,
  action == AgentCore::Action::"terminate-instance___terminate_instance",
  resource == ?resource
)
when { context.input has instance_id && context.input has environment };

@id("trial_forbid_terminate_outside_staging_dev")
@mode("LOG_ONLY")
forbid (
  principal,
  action == AgentCore::Action::"terminate-instance___terminate_instance",
  resource == ?resource
)
unless {
  context.input has environment &&
  (context.input.environment == "staging" || context.input.environment == "dev")
};
"#,
    )
    .unwrap();
    assert_fails_with_confirmed_counterexample(
        &policies,
        "call_terminate_only_staging_dev_with_instance",
    );
    let text = said(&prove(&policies));
    assert!(
        text.contains(
            "SHADOW call_terminate_only_staging_dev_with_instance: with the shadow policies \
             `trial_forbid_terminate_outside_staging_dev` enforcing: PROVED"
        ),
        "{text}"
    );
}

#[test]
fn equivalent_compares_the_enforced_policies_and_says_when_the_shadow_ones_differ() {
    let (_tmp, trial) = shipped_copy();
    shadow_policy(
        &trial.join("resource/protection.cedar"),
        "never_clean_compliance_log_group",
    );
    let out = guard(&["prove", "--equivalent", "policies", trial.to_str().unwrap()]);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("DIFFERENT "), "{text}");
    assert!(text.contains("Guard::Action::\"clean_logs\""), "{text}");
    assert!(
        text.contains("OLD none; NEW `never_clean_compliance_log_group`: they differ"),
        "{text}"
    );
    assert!(
        text.contains("SHADOW with the shadow policies enforcing: EQUIVALENT"),
        "{text}"
    );

    // The same shadow policy on both sides: equivalent, and the shadows are the same.
    let (_tmp2, other) = shipped_copy();
    shadow_policy(
        &other.join("resource/protection.cedar"),
        "never_clean_compliance_log_group",
    );
    let out = guard(&[
        "prove",
        "--equivalent",
        trial.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("EQUIVALENT "), "{text}");
    assert!(text.contains(": the same"), "{text}");
}

/// A forbid and an invariant both on a tag key the guard never hands Cedar: over the
/// schema's entities the forbid upholds the invariant, over the guard's the region is empty.
#[test]
fn an_invariant_on_a_tag_key_folding_never_produces_is_vacuous_not_proved() {
    let (_tmp, policies) = shipped_copy();
    let do_not_touch = r#"
@id("never_terminate_do_not_touch")
forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { resource.hasTag("DoNotTouch") };
"#;
    fs::write(policies.join("resource/do_not_touch.cedar"), do_not_touch).unwrap();
    fs::write(policies.join("invariants/do_not_touch.cedar"), do_not_touch).unwrap();
    let out = prove(&policies);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        !text.contains("PROVED never_terminate_do_not_touch"),
        "{text}"
    );
    let vacuous = text
        .lines()
        .find(|l| l.starts_with("VACUOUS never_terminate_do_not_touch:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(vacuous.contains("folding never produces"), "{vacuous}");
}

#[test]
fn an_invariant_on_a_name_pattern_folding_never_matches_is_vacuous_not_proved() {
    let (_tmp, policies) = shipped_copy();
    fs::write(
        policies.join("invariants/audit_trail.cedar"),
        r#"
@id("never_clean_audit_trail")
forbid (principal, action == Guard::Action::"clean_logs", resource is Guard::LogGroup)
when { resource.name like "*Audit-Trail*" };
"#,
    )
    .unwrap();
    let text = said(&prove(&policies));
    assert!(
        text.lines()
            .any(|l| l.starts_with("VACUOUS never_clean_audit_trail:")),
        "{text}"
    );
}

/// Over the entities the guard builds, a forbid on a key it never hands Cedar changes no
/// decision: the two sets are equivalent.
#[test]
fn sets_that_differ_only_on_entities_the_guard_never_builds_are_equivalent() {
    let (_tmp, copy) = shipped_copy();
    fs::write(
        copy.join("resource/do_not_touch.cedar"),
        r#"
@id("never_terminate_do_not_touch")
forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { resource.hasTag("DoNotTouch") || resource.hasTag(" Environment") };
"#,
    )
    .unwrap();
    let out = guard(&["prove", "--equivalent", "policies", copy.to_str().unwrap()]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("EQUIVALENT "), "{text}");
}

/// With the folded key, the same forbid does change decisions.
#[test]
fn a_forbid_on_a_folded_key_tells_the_sets_apart_with_a_request_the_guard_confirms() {
    let (_tmp, copy) = shipped_copy();
    fs::write(
        copy.join("resource/do_not_touch.cedar"),
        r#"
@id("never_terminate_do_not_touch")
forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { resource.hasTag("donottouch") };
"#,
    )
    .unwrap();
    let out = guard(&["prove", "--equivalent", "policies", copy.to_str().unwrap()]);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("donottouch"), "{text}");
}
