//! The documentation a newcomer pastes from: every shell block says what it needs, every case
//! it shows passes, every path it names exists, the counts it gives are true, and its two shell
//! setups do what it says. (The `offline` blocks themselves run in `readme_commands.rs`.)

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::process::Command;

use e2e::{
    docs::{self, Block, SHELL_MARKERS},
    emulator::workspace,
    function::binary,
};
use serde_json::Value;

fn every_block() -> Vec<Block> {
    docs::markdown_files(&workspace())
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(workspace().join(file)).unwrap();
            docs::blocks(file, &text)
        })
        .collect()
}

#[test]
fn every_shell_block_says_whether_it_runs_offline_or_what_it_needs() {
    let unmarked: Vec<String> = every_block()
        .iter()
        .filter(|b| matches!(b.language(), "sh" | "bash" | "shell" | "console"))
        .filter(|b| {
            let words: Vec<&str> = b.info.split_whitespace().collect();
            !(b.language() == "sh"
                && words.len() == 2
                && words.get(1).is_some_and(|m| SHELL_MARKERS.contains(m)))
        })
        .map(|b| format!("{}: ```{}", b.at(), b.info))
        .collect();
    assert!(
        unmarked.is_empty(),
        "mark each as ```sh <{}>:\n{}",
        SHELL_MARKERS.join("|"),
        unmarked.join("\n")
    );
    let offline = every_block().iter().filter(|b| b.runs_offline()).count();
    assert!(offline >= 6, "only {offline} offline blocks");
}

#[test]
fn every_case_the_docs_show_passes_guard_test() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for block in every_block().iter().filter(|b| b.language() == "json") {
        let Ok(case) = serde_json::from_str::<Value>(&block.text) else {
            continue;
        };
        if case.get("tool").is_none() || case.get("expected").is_none() {
            continue;
        }
        let file = dir.path().join(format!("case-{checked}.json"));
        std::fs::write(&file, Value::Array(vec![case]).to_string()).unwrap();
        let out = Command::new(binary("guard").unwrap())
            .arg("test")
            .arg(&file)
            .current_dir(workspace())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {said}", block.at());
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} cases found in the docs");
}

/// `crates/…`, `policies/…` and the like in backticks: what a reader will look for.
fn named_paths(text: &str) -> Vec<String> {
    const ROOTS: [&str; 7] = [
        "crates/",
        "policies/",
        "tests/",
        "events/",
        "examples/",
        "agentcore/",
        ".ci/",
    ];
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| ROOTS.iter().any(|r| t.starts_with(r)))
        .filter(|t| !t.contains(['<', '*', '…', '{', ' ', '$']))
        .map(|t| t.trim_end_matches(['.', ',', ':']).to_owned())
        .collect()
}

#[test]
fn every_path_the_docs_name_exists_and_no_missing_document_is_cited() {
    let mut missing = Vec::new();
    for file in docs::markdown_files(&workspace()) {
        let text = std::fs::read_to_string(workspace().join(&file)).unwrap();
        for path in named_paths(&text) {
            if !workspace().join(&path).exists() {
                missing.push(format!("{file}: `{path}`"));
            }
        }
        if text.contains("DESIGN.md") {
            missing.push(format!(
                "{file}: cites DESIGN.md, which is not in the repository"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_readme_counts_the_shipped_cases_right() {
    let dir = workspace().join("policies/tests");
    let cases: usize = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let cases: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            cases.len()
        })
        .sum();
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("({cases} cases today)")),
        "the README's case count is not {cases}"
    );
}

/// What a shell that sourced `script` holds, from a shell with deploy credentials and without
/// the project's tools on PATH.
fn sourced(script: &str) -> String {
    let path: Vec<String> = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|dir| !dir.contains(".venv"))
        .map(ToOwned::to_owned)
        .collect();
    let out = Command::new("bash")
        .args(["-ec", &format!("source {script} >/dev/null; echo \"${{AWS_PROFILE-unset}}|${{AWS_ACCESS_KEY_ID-unset}}|${{AWS_REGION-unset}}|$(command -v cvc5)\"")])
        .current_dir(workspace())
        .env("PATH", path.join(":"))
        .env("AWS_PROFILE", "deploy")
        .env("AWS_ACCESS_KEY_ID", "AKIADEPLOYER")
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_tools_leave_aws_settings_alone_and_only_the_sandbox_replaces_them() {
    let root = workspace().canonicalize().unwrap();
    let cvc5 = root.join(".venv/bin/cvc5").display().to_string();
    assert_eq!(
        sourced("tests/tools.sh"),
        format!("deploy|AKIADEPLOYER|eu-west-1|{cvc5}")
    );
    assert_eq!(
        sourced("tests/env.sh"),
        format!("unset|testing|us-east-1|{cvc5}")
    );
}
