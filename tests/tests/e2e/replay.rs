//! Replayable audit records and shadow policies, through the built functions' own log lines
//! and the built `guard` binary.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use e2e::{
    GATEWAY_ARN,
    function::binary,
    process::output_with_stdin,
    stage::{Stage, report},
};
use serde_json::{Value, json};

const TOOL: &str = "terminate-instance___terminate_instance";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The shipped policies copied to `dir`, for a candidate to change.
fn candidate(dir: &Path) -> PathBuf {
    for sub in ["gateway", "resource", "schema"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(workspace().join("policies").join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).unwrap();
        }
    }
    dir.to_owned()
}

fn edit(root: &Path, file: &str, change: impl FnOnce(String) -> String) {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, change(text)).unwrap();
}

/// `guard replay` run as a user runs it; its exit code and output.
fn replay(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let out = output_with_stdin(
        Command::new(binary("guard").unwrap())
            .arg("replay")
            .args(["--gateway-arn", GATEWAY_ARN])
            .args(args),
        stdin.as_bytes(),
    )
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The article's terminations through the built function: one allowed, four denied (one at the
/// call check, three at the resource check). Returns the function's log lines.
async fn terminations(s: &Stage) -> Vec<String> {
    let (staging, production) = (&s.world.staging, &s.world.production);
    let (staging_instance, production_instance) = (
        staging.instances.first().unwrap(),
        production.instances.first().unwrap(),
    );
    for (environment, instance) in [
        ("staging", staging_instance),
        ("production", production_instance),
        ("staging", production_instance),
        ("staging", &staging.protected_instance),
        ("staging", &s.world.untagged_instance),
    ] {
        let payload = json!({"environment": environment, "instance_id": instance});
        report(s.invoke_as_gateway(&payload, TOOL).unwrap()).unwrap();
    }
    assert_eq!(s.function.audit_records_at_least(9).len(), 9);
    s.function.log_lines()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_functions_records_replay_with_no_flips_on_the_same_policies_and_the_expected_flips_on_a_changed_set()
 {
    let s = Stage::start("terminate_instance", "ENFORCE", &[])
        .await
        .unwrap();
    let lines = terminations(&s).await.join("\n");
    let dir = tempfile::tempdir().unwrap();

    let (code, text) = replay(
        &["--fail-on", "newly-allowed,newly-denied,not-replayed"],
        &lines,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("  total: 9 replayed, 0 newly denied, 0 newly allowed, 9 unchanged"),
        "{text}"
    );

    // Termination protection dropped, and the gateway lets terminations through only in dev.
    let changed = candidate(&dir.path().join("changed"));
    edit(&changed, "resource/protection.cedar", |text| {
        let start = text
            .find("@id(\"never_terminate_protected_instance\")")
            .unwrap();
        let end = start + text[start..].find("};").unwrap() + 2;
        format!("{}{}", &text[..start], &text[end..])
    });
    edit(&changed, "gateway/terminate_instance.cedar", |text| {
        text.replace(
            r#"(context.input.environment == "staging" || context.input.environment == "dev")"#,
            r#"context.input.environment == "dev""#,
        )
    });
    let policies = changed.to_str().unwrap();
    let (code, text) = replay(
        &["--policies", policies, "--fail-on", "newly-allowed"],
        &lines,
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "  {TOOL} call: 5 replayed, 4 newly denied, 0 newly allowed, 1 unchanged"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  {TOOL} resource: 4 replayed, 0 newly denied, 1 newly allowed, 3 unchanged"
        )),
        "{text}"
    );
    let protected = &s.world.staging.protected_instance;
    // The flip's lines: what, the call, the caller, the resource, then and now.
    let flip = text
        .lines()
        .skip_while(|l| !l.starts_with("NEWLY ALLOWED"))
        .take(6)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        flip.contains(&format!("Guard::Ec2Instance::\"{protected}\"")),
        "{flip}"
    );
    assert!(flip.contains("\"termination_protected\":true"), "{flip}");
    assert!(
        flip.contains("then:      DENY (deny, ENFORCE): by `never_terminate_protected_instance`"),
        "{flip}"
    );
    assert!(
        flip.contains("permitted by `terminate_only_real_staging_dev`"),
        "{flip}"
    );

    // The same records as `aws logs filter-log-events` prints them.
    let events: Vec<Value> = lines
        .lines()
        .enumerate()
        .map(|(i, line)| {
            json!({"logStreamName": "2026/11/01/[$LATEST]0", "timestamp": i,
                                "message": format!("{line}\n"), "eventId": i.to_string()})
        })
        .collect();
    let document = serde_json::to_string_pretty(&json!({"events": events})).unwrap();
    let (code, text) = replay(&["--policies", policies], &document);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("  total: 9 replayed, 4 newly denied, 1 newly allowed, 4 unchanged"),
        "{text}"
    );
}
