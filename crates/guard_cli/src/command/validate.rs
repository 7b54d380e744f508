//! `guard validate`: parse, link and validate the policies; print each problem with its file
//! and line, then warn about literals folding makes dead (which validate, and never match).

use std::{process::ExitCode, sync::Arc};

use guard::{AGENTCORE_SCHEMA, Guard, LoadError, Mode, NoAudit, PolicySets, PolicySources};

use crate::prove::{folding::warnings::warnings, invariant};

use super::{config, prove::InvariantFiles};

/// Prints every problem, or what was validated and every warning; fails when anything is
/// wrong (a warning is not).
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    invariants: InvariantFiles<'_>,
) -> ExitCode {
    let loaded = sources.and_then(|s| PolicySets::load(&s).map(|sets| (s, sets)));
    match loaded {
        Err(e) => {
            for problem in &e.problems {
                println!("{problem}");
            }
            println!("{} problem(s): the policies are invalid", e.problems.len());
            ExitCode::FAILURE
        }
        Ok((sources, sets)) => {
            let guard = Guard::new(
                &sources,
                &config(gateway_arn, Mode::Enforce),
                Arc::new(NoAudit),
            );
            if let Err(e) = guard.health() {
                println!("{e}");
                return ExitCode::FAILURE;
            }
            println!(
                "valid: {} ({} gateway policies linked to `{gateway_arn}`, validated against {} \
                 alone; {} resource policies, validated against the whole schema)",
                sources.origin,
                sets.gateway_len(),
                AGENTCORE_SCHEMA,
                sets.resource_len()
            );
            for warning in folding_warnings(&sources, invariants) {
                println!("{warning}");
            }
            ExitCode::SUCCESS
        }
    }
}

/// The folding warnings for the resource policies and the invariants (the gateway policies
/// see no real resource, so nothing of theirs is folded). Invariants that do not read are
/// `guard prove`'s to report.
fn folding_warnings(
    sources: &PolicySources,
    invariants: InvariantFiles<'_>,
) -> Vec<crate::prove::folding::warnings::Warning> {
    let invariants = match invariants {
        InvariantFiles::Embedded => invariant::embedded(),
        InvariantFiles::Dir(dir) if dir.is_dir() => invariant::from_dir(dir).unwrap_or_default(),
        InvariantFiles::Dir(_) => Vec::new(),
    };
    let resource = sources
        .files()
        .iter()
        .filter(|f| f.name.starts_with("resource/"))
        .map(|f| (f.name.as_str(), f.text.as_str()));
    let invariants = invariants.iter().map(|(n, t)| (n.as_str(), t.as_str()));
    warnings(resource.chain(invariants))
}
