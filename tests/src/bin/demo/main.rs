//! The 2:37 AM disaster, replayed locally and blocked.
//!
//! Seeds a staging and a production world on the AWS emulator, then replays the article's
//! sequence — restart all services, terminate the "idle" instances, clean "old" logs, read
//! metrics — through the four built functions over the Lambda Runtime API, as AgentCore Gateway
//! would call them. Then replays it on a fresh world in LOG_ONLY with `dry_run`, to show what
//! LOG_ONLY reports without letting anything change. Between the two, the runaway act: the agent
//! "optimises" staging by terminating idle instances one after another, each call allowed by
//! both checks, until the budget over time stops it; and the ENFORCE run's own audit records
//! replayed against a candidate policy change (`tests/demo/candidate-policies/`) with the built
//! `guard replay`, its flips printed. Last, who is calling: the interceptor vouches for the
//! caller, the tool acts as it in AWS, and a replayed and a forged call are refused; then the
//! stop switch halts a staging termination mid-sequence and an approval is used once. Exits
//! non-zero if production was touched, the budget did not hold, the replay did not show the
//! candidate's flips, or a call went through that was not vouched for.
//!
//! Each act is a module under `acts/` and a line in [`run`]: it prints its part and says
//! whether what it shows held.

mod acts;
mod functions;
mod narration;
mod sequence;

use std::process::ExitCode;

/// The acts, in order; the demo holds if every one of them does.
async fn run() -> Result<bool, String> {
    println!("The 2:37 AM sequence: restart all services, terminate the idle instances, clean old");
    println!("logs, read metrics — an agent told to work only in staging, that lost the context.");

    let enforced = acts::enforce::play().await?;
    let budget_held = acts::budget::play(&enforced).await?;
    // The ENFORCE world's emulator and functions stop here: the acts after it read what it
    // left, or start a world of their own.
    drop(enforced.running);
    let safe = acts::enforce::final_state(&enforced.world, &enforced.before, &enforced.after);
    let replayed = acts::replay::play(&enforced.log_lines)?;
    let unchanged = acts::log_only::play().await?;
    let vouched = acts::caller::play().await?;
    let overseen = e2e::oversight_act::run().await?;
    Ok(safe && budget_held && replayed && unchanged && vouched && overseen)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => {
            println!("\nProduction stayed safe. You go back to sleep.");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!(
                "\nthe demo's expectations failed: production was touched, staging work was not done, \
                 the budget did not hold, the replay did not show the candidate's flips, the \
                 tool acted for a caller nobody vouched for, or the stop switch or an approval did \
                 not hold"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("\nthe demo could not run: {e}");
            ExitCode::from(2)
        }
    }
}
