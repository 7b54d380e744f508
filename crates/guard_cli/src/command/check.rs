//! `guard check`: explain one decision — the checks, their determining policies, any error.

use std::process::ExitCode;

use guard::{LoadError, PolicySources};

use crate::{
    CliError,
    cases::{self, Case, Expected},
};

use super::guard;

/// Decides `case` as a tool would and explains it; fails on a deny.
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    case: &Case,
) -> Result<ExitCode, CliError> {
    let guard = guard(sources, gateway_arn, case.mode.unwrap_or_default())?;
    let (got, decisions) = cases::decide(&guard, case);
    println!("decision: {got}");
    for d in &decisions {
        println!("{} check: {}", d.check, d.verdict());
        println!("  reason: {}", d.explain());
        if !d.policies.is_empty() {
            println!("  determining policies: {}", d.policies.join(", "));
        }
        if d.would_deny() {
            println!("  LOG_ONLY: would deny; the call goes on");
        }
    }
    if case.resource.is_none() {
        println!(
            "(no --resource: the resource check a tool runs on the real resource was not run)"
        );
    }
    Ok(if matches!(got, Expected::Deny | Expected::Error) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
