//! What the guard folds, as a user meets it: `guard check` decides on tag keys and names
//! folded and every other value as AWS reports it, `guard validate` warns about a literal
//! folding makes dead, and `guard render --format json` says how to upload each statement.

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

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A copy of the shipped policies (with their invariants).
fn shipped_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_dir(&Path::new(ROOT).join("policies"), &policies);
    (dir, policies)
}

/// A copy of the shipped policies with `extra` added as `resource/extra.cedar`.
fn with_resource_policy(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, policies) = shipped_copy();
    fs::write(policies.join("resource/extra.cedar"), extra).unwrap();
    (dir, policies)
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

fn restart(policies: &Path, service: &str) -> Output {
    guard(&[
        "--policies",
        policies.to_str().unwrap(),
        "check",
        "--tool",
        "restart-service___restart_service",
        "--input",
        r#"{"environment":"staging","service":"api"}"#,
        "--resource",
        service,
    ])
}

/// ECS reports a service's status in capitals; a policy written with AWS's spelling fires.
#[test]
fn a_forbid_on_an_attribute_as_aws_reports_it_fires() {
    let (_tmp, policies) = with_resource_policy(
        r#"@id("never_restart_draining")
forbid (principal, action == Guard::Action::"restart_service", resource is Guard::EcsService)
when { resource.status == "DRAINING" };
"#,
    );
    let draining = r#"{"type":"Guard::EcsService","id":"arn:svc","tags":{"Environment":"staging"},
        "attributes":{"name":"api","cluster":"staging","status":"DRAINING"}}"#;
    let out = restart(&policies, draining);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("never_restart_draining"), "{text}");

    let active = draining.replace("DRAINING", "ACTIVE");
    let out = restart(&policies, &active);
    assert!(out.status.success(), "{}", said(&out));
}

/// Names are still folded: a pattern in lowercase catches any casing of the name.
#[test]
fn a_name_pattern_matches_whatever_the_casing_of_the_real_name() {
    let (_tmp, policies) = with_resource_policy(
        r#"@id("never_restart_canary")
forbid (principal, action == Guard::Action::"restart_service", resource is Guard::EcsService)
when { resource.name like "*canary*" || resource.cluster like "*frozen*" };
"#,
    );
    for (name, cluster) in [("API-Canary", "staging"), ("api", "FROZEN-1")] {
        let service = format!(
            r#"{{"type":"Guard::EcsService","id":"arn:svc","tags":{{"Environment":"staging"}},
                "attributes":{{"name":"{name}","cluster":"{cluster}","status":"ACTIVE"}}}}"#
        );
        let out = restart(&policies, &service);
        let text = said(&out);
        assert_eq!(out.status.code(), Some(1), "{name} {cluster}: {text}");
        assert!(text.contains("never_restart_canary"), "{text}");
    }
}

#[test]
fn validate_warns_about_literals_folding_never_produces_and_still_succeeds() {
    let (_tmp, policies) = with_resource_policy(
        r#"// A team's forbids, written with AWS's spelling of the key and the name.
@id("never_terminate_do_not_touch")
forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { resource.hasTag("DoNotTouch") };

@id("never_clean_trail")
forbid (principal, action == Guard::Action::"clean_logs", resource is Guard::LogGroup)
when { resource.name like "*CloudTrail*" };
"#,
    );
    fs::write(
        policies.join("invariants/do_not_touch.cedar"),
        r#"@id("never_terminate_do_not_touch")
forbid (principal, action == Guard::Action::"terminate_instance", resource is Guard::Ec2Instance)
when { resource.hasTag("DoNotTouch") };
"#,
    )
    .unwrap();
    let out = guard(&["--policies", policies.to_str().unwrap(), "validate"]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("valid: "), "{text}");
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains(": warning: ")).collect();
    assert_eq!(warnings.len(), 3, "{text}");
    assert!(
        warnings[0].starts_with("resource/extra.cedar:4: "),
        "{text}"
    );
    assert!(warnings[0].contains("`donottouch`"), "{text}");
    assert!(
        warnings[1].starts_with("resource/extra.cedar:8: "),
        "{text}"
    );
    assert!(warnings[1].contains(r#"write `"*cloudtrail*"`"#), "{text}");
    assert!(
        warnings[2].contains("invariants/do_not_touch.cedar:3: "),
        "{text}"
    );
}

#[test]
fn validate_gives_the_shipped_policies_no_warning() {
    let out = guard(&["validate"]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

/// AgentCore reads a policy's mode from `CreatePolicy`, not from the statement: the JSON
/// output gives each statement the `EnforcementMode` to upload it with.
#[test]
fn render_json_gives_a_shadow_policy_log_only_and_every_other_active() {
    let (_tmp, policies) = shipped_copy();
    let file = policies.join("gateway/clean_logs.cedar");
    let text = fs::read_to_string(&file).unwrap();
    let marker = "@id(\"allow_clean_logs_always\")";
    assert!(text.contains(marker));
    fs::write(
        &file,
        text.replace(marker, &format!("{marker}\n@mode(\"LOG_ONLY\")")),
    )
    .unwrap();
    let dir = policies.to_str().unwrap();

    let out = guard(&["--policies", dir, "render", "--format", "json"]);
    assert!(out.status.success(), "{}", said(&out));
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rendered = rendered.as_array().unwrap();
    assert_eq!(rendered.len(), 6);
    let text = String::from_utf8(guard(&["--policies", dir, "render"]).stdout).unwrap();
    for policy in rendered {
        let statement = policy["statement"].as_str().unwrap();
        assert!(
            text.contains(statement),
            "the text render holds {statement}"
        );
        let expected = if policy["id"] == "allow_clean_logs_always" {
            "LOG_ONLY"
        } else {
            "ACTIVE"
        };
        assert_eq!(policy["enforcementMode"], expected, "{policy}");
    }
}
