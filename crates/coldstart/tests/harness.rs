//! The harness against stand-in functions: bash scripts that poll the local Runtime API the way
//! a runtime does (bash's `/dev/tcp`), log a problem first, never poll, or leave a process
//! behind that holds their output.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{fs, os::unix::fs::PermissionsExt, path::PathBuf, process::Command};

use tempfile::TempDir;

/// Polls `GET …/invocation/next` once, then waits to be killed.
const POLLS: &str = r#"#!/bin/bash
[ -z "$HOME" ] || exit 3  # nothing is inherited from the harness
[ "$AWS_REGION" = us-east-1 ] || exit 4
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n' >&3
exec sleep 30
"#;

fn script(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn coldstart(args: &[String]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coldstart"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_function_that_polls_is_measured_every_round_and_reported_as_json() {
    let dir = TempDir::new().unwrap();
    let polls = script(&dir, "polls", POLLS);
    let json = dir.path().join("report.json");
    let (ok, table, stderr) = coldstart(&[
        "--runs=3".to_owned(),
        "--warmup=0".to_owned(),
        format!("--json={}", json.display()),
        format!("sdk_hello_world={}", polls.display()),
        format!("other={}", polls.display()),
    ]);
    assert!(ok, "{stderr}");
    assert!(table.contains("sdk_hello_world"), "{table}");
    let report: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    let binaries = report["binaries"].as_array().unwrap();
    assert_eq!(binaries.len(), 2);
    assert_eq!(binaries[1]["name"], "other");
    assert_eq!(binaries[1]["init_ms"].as_array().unwrap().len(), 3);
    assert!(binaries[1]["peak_rss_mib"].as_f64().unwrap() > 0.0);
    assert!(binaries[0]["ratio_to_reference"].as_f64().unwrap() == 1.0);
}

#[test]
fn a_function_that_logs_a_configuration_error_fails_the_benchmark() {
    let dir = TempDir::new().unwrap();
    let logs_error = POLLS.replacen(
        "exec 3<>",
        "echo '{\"level\":\"ERROR\",\"fields\":{\"message\":\"the function is misconfigured\"}}'\nexec 3<>",
        1,
    );
    let misconfigured = script(&dir, "misconfigured", &logs_error);
    let (ok, _, stderr) = coldstart(&[
        "--runs=1".to_owned(),
        format!("tool={}", misconfigured.display()),
    ]);
    assert!(!ok);
    assert!(stderr.contains("`tool` (warm-up round 1)"), "{stderr}");
    assert!(stderr.contains("the function is misconfigured"), "{stderr}");
}

#[test]
fn a_function_that_never_polls_is_a_timeout_error() {
    let dir = TempDir::new().unwrap();
    let silent = script(&dir, "silent", "#!/bin/bash\nexec sleep 30\n");
    let (ok, _, stderr) = coldstart(&[
        "--timeout-secs=1".to_owned(),
        "--warmup=0".to_owned(),
        format!("silent={}", silent.display()),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("did not poll the Runtime API within 1s"),
        "{stderr}"
    );
}

#[test]
fn a_process_left_holding_the_output_is_an_error_not_a_hang() {
    let dir = TempDir::new().unwrap();
    // The poller runs in a background child that survives its parent's death (for 3 s).
    let brief_poller = script(&dir, "polls", &POLLS.replace("sleep 30", "sleep 3"));
    let leaves_child = format!("#!/bin/bash\n(exec {}) &\nwait\n", brief_poller.display());
    let wrapper = script(&dir, "wrapper", &leaves_child);
    let (ok, _, stderr) = coldstart(&["--warmup=0".to_owned(), format!("w={}", wrapper.display())]);
    assert!(!ok);
    assert!(stderr.contains("stayed open after it"), "{stderr}");
}
