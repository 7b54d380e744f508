//! `guard check`: explain one decision — the checks, their determining policies, any error,
//! and what shadow policies would decide.

use std::{process::ExitCode, sync::Arc};

use guard::{Guard, LoadError, PolicySources};

use crate::{
    CliError,
    cases::{self, Case, Expected, ShadowCapture},
};

use super::config;

/// The exit status of a check that reached no decision: apart from a deny (1) and from a
/// command that could not run (2), so a script can tell a policy's answer from a broken
/// question.
pub const ERROR_STATUS: u8 = 3;

/// Decides `case` as a tool would and explains it: exit 0 on allow (or a LOG_ONLY
/// would-deny: the call goes on), 1 on a deny, [`ERROR_STATUS`] when no decision was reached.
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    case: &Case,
) -> Result<ExitCode, CliError> {
    let shadows = ShadowCapture::default();
    let guard = Guard::new(
        &sources?,
        &config(gateway_arn, case.mode.unwrap_or_default()),
        Arc::new(shadows.clone()),
    );
    if let Err(e) = guard.policy_sets() {
        return Err(e.clone().into());
    }
    let (got, decisions) = cases::decide(&guard, case);
    let shadow = shadows.take();
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
        for (check, s) in shadow.iter().filter(|(check, _)| *check == d.check) {
            println!("  {}", cases::shadow_text(*check, s));
        }
    }
    if case.resource.is_none() {
        println!(
            "(no --resource: the resource check a tool runs on the real resource was not run)"
        );
    }
    if got == Expected::ApprovalRequired {
        println!(
            "APPROVAL_REQUIRED: the tool would ask a person in the approver role who is not the caller"
        );
    }
    Ok(match got {
        Expected::Allow | Expected::WouldDeny => ExitCode::SUCCESS,
        Expected::Deny | Expected::ApprovalRequired => ExitCode::FAILURE,
        Expected::Error => ExitCode::from(ERROR_STATUS),
    })
}
