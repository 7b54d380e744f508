//! One module per subcommand. Each `run` prints its result and returns the exit code; an
//! error it returns is one that kept it from running at all.

pub mod approve;
pub mod check;
pub mod new_tool;
pub mod prove;
pub mod render;
pub mod replay;
pub mod stop;
pub mod test;
pub mod validate;

use std::sync::Arc;

use guard::{Guard, GuardConfig, GuardError, LoadError, Mode, NoAudit, PolicySources};

use crate::CliError;

/// A guard over `sources` linked to `gateway_arn`, auditing nowhere; an error if the policies
/// do not load.
pub fn guard(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    mode: Mode,
) -> Result<Guard, CliError> {
    let guard = Guard::new(&sources?, &config(gateway_arn, mode), Arc::new(NoAudit));
    if let Err(e) = guard.policy_sets() {
        return Err(e.clone().into());
    }
    Ok(guard)
}

/// The configuration of a CLI guard: `mode`, linked to `gateway_arn`.
pub fn config(gateway_arn: &str, mode: Mode) -> GuardConfig {
    GuardConfig {
        mode,
        gateway_arn: Some(gateway_arn.to_owned()),
        ..GuardConfig::default()
    }
}

/// Refuses a `--gateway-arn` that is not a gateway ARN before anything runs, naming the flag:
/// the guard's own message names `GATEWAY_ARN`, the setting a function reads, and every check
/// would fail with it.
pub fn gateway_arn_flag(gateway_arn: &str) -> Result<(), CliError> {
    let probe = Guard::new(
        &PolicySources::embedded(),
        &config(gateway_arn, Mode::Enforce),
        Arc::new(NoAudit),
    );
    match probe.health() {
        Err(GuardError::InvalidGatewayArn(arn)) => Err(CliError::GatewayArn(arn)),
        _ => Ok(()),
    }
}
