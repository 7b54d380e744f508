//! `guard prove` proves what the guard enforces, over the entities it builds: shadow policies
//! (`@mode("LOG_ONLY")`) are not taken for enforced ones, and a tag key or a name the guard
//! folds away is not taken for one it presents. Needs the cvc5 solver, as `prove.rs` does.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{fs, path::Path};

#[path = "support/prove.rs"]
mod support;

use support::{assert_fails_with_confirmed_counterexample, guard, prove, said, shipped_copy};

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
    // The request is one a tool decides differently: the call check lets it through.
    assert!(text.contains("OLD guard: DENY"), "{text}");
    assert!(text.contains("NEW guard: ALLOW"), "{text}");
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

/// A shadow permit that would let production be restarted: enforced, nothing changes (PROVED,
/// EQUIVALENT); what it would do once it enforces is said apart.
#[test]
fn a_loosening_shadow_permit_is_reported_apart_from_the_enforced_verdicts() {
    let (_tmp, policies) = shipped_copy();
    fs::write(
        policies.join("resource/trial.cedar"),
        r#"
@id("trial_restart_anywhere")
@mode("LOG_ONLY")
permit (principal, action == Guard::Action::"restart_service", resource is Guard::EcsService);
"#,
    )
    .unwrap();
    let out = prove(&policies);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("PROVED restart_only_real_staging_dev:"),
        "{text}"
    );
    assert!(
        text.contains(
            "SHADOW restart_only_real_staging_dev: with the shadow policies \
             `trial_restart_anywhere` enforcing: FAILED"
        ),
        "{text}"
    );

    let out = guard(&[
        "prove",
        "--equivalent",
        "policies",
        policies.to_str().unwrap(),
    ]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("EQUIVALENT "), "{text}");
    assert!(
        text.contains("SHADOW with the shadow policies enforcing: DIFFERENT, in Guard::Action::\"restart_service\""),
        "{text}"
    );
}
