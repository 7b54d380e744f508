//! What the `guard prove` tests share: the binary as a user runs it, copies of the shipped
//! policies to loosen, and counterexamples checked with `guard test`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

pub fn guard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guard"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap()
}

/// Everything the command said, for assertion messages.
pub fn said(out: &Output) -> String {
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
pub fn shipped_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_dir(&Path::new(ROOT).join("policies"), &policies);
    (dir, policies)
}

pub fn prove(policies: &Path) -> Output {
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

pub fn assert_fails_with_confirmed_counterexample(policies: &Path, invariant: &str) {
    let out = prove(policies);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let case = counterexample(&text, invariant);
    assert_guard_test_allows(policies, &case);
}
