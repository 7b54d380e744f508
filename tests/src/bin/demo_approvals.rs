//! The demo's act for people over the tools, on its own: `guard stop` halts a staging
//! termination sequence, approvals are used once and bound to the resource as read
//! (`e2e::oversight_act`). Exits non-zero if a step did not do what it should.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match e2e::oversight_act::run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("\nthe act's expectations failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("\nthe act could not run: {e}");
            ExitCode::from(2)
        }
    }
}
