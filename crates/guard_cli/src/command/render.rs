//! `guard render`: the gateway set as static policies naming the gateway, for upload to an
//! AgentCore Policy Engine.

use std::process::ExitCode;

use guard::{LoadError, Mode, PolicySources, render_static};

use crate::CliError;

use super::guard;

/// Prints the linked gateway set, one statement per policy.
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
) -> Result<ExitCode, CliError> {
    let guard = guard(sources, gateway_arn, Mode::Enforce)?;
    let linked = guard.gateway_set().map_err(Clone::clone)?;
    print!("{}", render_static(linked)?);
    Ok(ExitCode::SUCCESS)
}
