//! Replay: the ENFORCE run's own audit records against a candidate policy change, with the
//! built `guard replay`, its flips printed.

use std::process::Command;

use e2e::{GATEWAY_ARN, function::binary};

/// The candidate policies the demo replays its ENFORCE run against.
const CANDIDATE: &str = "tests/demo/candidate-policies";

/// Leaves `log_lines`' audit records in a file for the user, then replays them against
/// [`CANDIDATE`] with the built `guard replay`, printing what it prints; returns whether it
/// found the flips the candidate makes (and CI would stop it).
pub fn play(log_lines: &[String]) -> Result<bool, String> {
    e2e::records::save(log_lines)?;
    let records = log_lines
        .iter()
        .filter(|l| l.contains("guard_audit"))
        .count();
    println!(
        "\n== Replay: the ENFORCE run's {records} audit records against a candidate change ({CANDIDATE}) =="
    );
    println!("$ guard replay --policies {CANDIDATE} --fail-on newly-allowed < the functions' logs");
    let mut replay = Command::new(binary("guard")?);
    replay
        .args([
            "replay",
            "--policies",
            CANDIDATE,
            "--gateway-arn",
            GATEWAY_ARN,
        ])
        .args(["--fail-on", "newly-allowed"]);
    let out = e2e::process::output_with_stdin(&mut replay, log_lines.join("\n").as_bytes())?;
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        println!("  {line}");
    }
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let newly_allowed = out.status.code() == Some(1);
    println!(
        "The candidate tightens restarts and loosens log cleaning; replay shows the loosening \
         would have let this agent clean production's logs{}.",
        if newly_allowed {
            ", and `--fail-on newly-allowed` stops it in CI (exit 1)"
        } else {
            ""
        }
    );
    // Budget records depend on the history of calls, not on the policies: counted on their
    // own line. Every other record must be decided again.
    let all_replayed =
        !text.contains("NOT REPLAYED") && text.contains("budget checks: decided by history");
    Ok(newly_allowed && text.contains("NEWLY DENIED") && all_replayed)
}
