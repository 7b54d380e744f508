//! `tests/live.sh` needs an AWS account, which no test here has; its assertions do not. They
//! live in `tests/live/checks.py`, and `tests/live/test_checks.py` feeds each one recorded
//! answers: a gateway that answers without reaching a tool, a refusal no one recorded, a delete
//! that deleted nothing, an alarm with no alert delivered, a quota too small, a region without
//! AgentCore — each must fail — and the answers that prove the point, which must pass.

use std::process::Command;

use e2e::emulator::workspace;

#[test]
fn the_live_checks_fail_on_recorded_failing_answers_and_pass_on_proving_ones() {
    let python = workspace().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run tests/run.sh",
        python.display()
    );
    let out = Command::new(python)
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(workspace().join("tests/live"))
        // No bytecode next to the sources.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}");
    let ran: usize = report
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap();
    assert!(ran >= 35, "only {ran} tests ran:\n{report}");
    // Every kind of gateway that never reached a tool is among the failing answers.
    for case in [
        "test_fails_on_a_gateway_that_answers_with_an_error_of_its_own",
        "test_fails_on_a_gateway_that_answers_with_json_that_is_no_report",
        "test_fails_on_a_gateway_that_never_reached_clean_logs",
    ] {
        assert!(report.contains(&format!("{case} ")), "{case}");
    }
}

#[test]
fn the_live_deploy_and_sam_scripts_are_valid_bash() {
    for script in ["tests/live.sh", "agentcore/deploy.sh", "tests/sam.sh"] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(workspace().join(script))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
