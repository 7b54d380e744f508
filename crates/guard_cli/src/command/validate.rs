//! `guard validate`: parse, link and validate the policies; print each problem with its file
//! and line.

use std::{process::ExitCode, sync::Arc};

use guard::{AGENTCORE_SCHEMA, Guard, LoadError, Mode, NoAudit, PolicySets, PolicySources};

use super::config;

/// Prints every problem, or what was validated; fails when anything is wrong.
pub fn run(sources: Result<PolicySources, LoadError>, gateway_arn: &str) -> ExitCode {
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
                Ok(sources.clone()),
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
            ExitCode::SUCCESS
        }
    }
}
