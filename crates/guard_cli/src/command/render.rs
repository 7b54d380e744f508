//! `guard render`: the gateway set as static policies naming the gateway, for upload to an
//! AgentCore Policy Engine — as Cedar text, or as JSON giving each statement the
//! `EnforcementMode` to create it with (a shadow policy's `@mode("LOG_ONLY")` is an annotation
//! AgentCore does not read: uploaded without `LOG_ONLY`, it would enforce at the gateway).
//! `--policy ID` renders only the policies named, one per `CreatePolicy` call.

use std::process::ExitCode;

use guard::{LoadError, Mode, PolicySources, RenderedPolicy, render_statements};

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

/// Prints the linked gateway set, one statement per policy; with `only`, just those policies
/// (an id the set does not hold is an error naming the ones it does).
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    format: Format,
    only: &[String],
) -> Result<ExitCode, CliError> {
    let guard = guard(sources, gateway_arn, Mode::Enforce)?;
    let linked = guard.gateway_set().map_err(Clone::clone)?;
    let all = render_statements(linked)?;
    if let Some(unknown) = only.iter().find(|id| !all.iter().any(|p| &p.id == *id)) {
        let ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
        return Err(CliError::UnknownPolicy {
            id: unknown.clone(),
            known: ids.join("`, `"),
        });
    }
    let shown: Vec<&RenderedPolicy> = all
        .iter()
        .filter(|p| only.is_empty() || only.contains(&p.id))
        .collect();
    match format {
        Format::Text => {
            for policy in shown {
                print!("{}\n\n", policy.statement);
            }
        }
        Format::Json => {
            // INVARIANT: the fields are strings and a unit-variant enum, which always
            // serialize.
            let rendered = serde_json::to_value(shown).unwrap_or_default();
            println!("{rendered:#}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
