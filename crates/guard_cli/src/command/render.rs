//! `guard render`: the gateway set as static policies naming the gateway, for upload to an
//! AgentCore Policy Engine — as Cedar text, or as JSON giving each statement the
//! `EnforcementMode` to create it with (a shadow policy's `@mode("LOG_ONLY")` is an annotation
//! AgentCore does not read: uploaded without `LOG_ONLY`, it would enforce at the gateway).

use std::process::ExitCode;

use guard::{LoadError, Mode, PolicySources, render_statements, render_static};

use crate::CliError;

use super::guard;

/// What `guard render` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The statements, one after another (what `agentcore/targets.yaml` holds).
    #[default]
    Text,
    /// A JSON array, one object per policy: `id`, `enforcementMode` (`ACTIVE` or `LOG_ONLY`)
    /// and `statement`, in the shape `CreatePolicy` takes them.
    Json,
}

/// Prints the linked gateway set, one statement per policy.
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    format: Format,
) -> Result<ExitCode, CliError> {
    let guard = guard(sources, gateway_arn, Mode::Enforce)?;
    let linked = guard.gateway_set().map_err(Clone::clone)?;
    match format {
        Format::Text => print!("{}", render_static(linked)?),
        Format::Json => {
            // INVARIANT: the fields are strings and a unit-variant enum, which always
            // serialize.
            let rendered = serde_json::to_value(render_statements(linked)?).unwrap_or_default();
            println!("{rendered:#}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
