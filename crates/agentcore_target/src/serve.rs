//! A tool as a Lambda function: its settings read once, its guard, its budgets, then the
//! runtime loop.

use std::sync::Arc;

use aws_config::SdkConfig;
use budget::{BudgetLedger, BudgetSource};
use guard::{Guard, GuardConfig};
use oversight::{Approvals, Notifier, StopSwitch};

use crate::{
    Access, CallerMode, Callers, Desk, Sessions, Tool, ToolHost, aws,
    config::{Env, HostSettings, Settings},
};

/// Runs a tool as a Lambda function: tracing; the process's settings, read once and handed on
/// (the guard's, the host's, the tool's own); the AWS SDK configuration; the tool `make`
/// builds from the SDK configuration and its settings; the guard; the budgets; then the
/// runtime loop. A tool's `main` is one call.
pub async fn serve<T: Tool>(
    make: impl FnOnce(&SdkConfig, T::Settings) -> T,
) -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let lookup = |name: &str| std::env::var(name).ok();
    let env = Env::new(&lookup);
    let (guard_config, warnings) = GuardConfig::from_lookup(lookup);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let host_settings = HostSettings::from_env(&env, T::DEFAULT_TARGET);
    let sdk = aws::sdk_config().await;
    let tool = T::Settings::from_env(&env).map(|settings| make(&sdk, settings));
    if let Err(e) = &tool {
        tracing::error!(error = %e, "the function is misconfigured: every call is refused");
    }
    let guard = Arc::new(Guard::from_config(&guard_config));
    let budgets = ledger::<T>(&host_settings, &guard_config, &guard, &sdk);
    let (callers, sessions) = callers(&host_settings, &sdk);
    // The caller key before the first call: verifying then makes no AWS call.
    callers.prefetch().await;
    // Read-only tools never read the switch (the template gives them no table).
    let stop = StopSwitch::from_table(host_settings.budget_table.clone(), || {
        aws_sdk_dynamodb::Client::new(&sdk)
    });
    if T::ACCESS == Access::Mutating && host_settings.budget_table.is_none() {
        tracing::error!(error = %oversight::SwitchError::NoTable, "every mutating call is refused");
    }
    let desk = desk::<T>(&host_settings, &sdk);
    let host = ToolHost::new(tool, guard, host_settings.target)
        .with_budgets(budgets)
        .with_stop(stop)
        .with_desk(desk)
        .with_callers(callers)
        .with_sessions(sessions);
    let host = Arc::new(host);
    lambda_host::run(move |incoming| {
        let host = Arc::clone(&host);
        async move { host.answer(incoming).await }
    })
    .await
}

/// Where a mutating tool asks people for the calls its policies allow only with a person's
/// approval: requests in the budget table, announced on the approval topic. Without a table
/// no such call can wait for anyone: it is denied.
fn desk<T: Tool>(settings: &HostSettings, sdk: &SdkConfig) -> Option<Desk> {
    let table = settings
        .budget_table
        .clone()
        .filter(|_| T::ACCESS == Access::Mutating)?;
    let approvals = Approvals::new(aws_sdk_dynamodb::Client::new(sdk), table);
    let notifier = settings
        .approval_topic
        .clone()
        .map(|topic| Notifier::new(aws_sdk_sns::Client::new(sdk), topic));
    let approved = settings
        .approved_role
        .clone()
        .map(|role| Sessions::new(role, sdk));
    Some(Desk::new(approvals, notifier, settings.approver_role.clone()).with_approved(approved))
}

/// How the tool learns its callers (`CALLER`, `CALLER_SIGNING_KEY`; used assertions remembered in the
/// budget table), and the role sessions its mutations are made in (`CALLER_ROLE_ARN`).
fn callers(settings: &HostSettings, sdk: &SdkConfig) -> (Callers, Option<Sessions>) {
    match &settings.caller {
        Err(e) => tracing::error!(error = %e, "every call is refused"),
        Ok(CallerMode::Unknown) if settings.caller_key.is_none() => tracing::warn!(
            "CALLER is `unknown` and no CALLER_SIGNING_KEY is set: calls are decided with an unknown \
             caller, and a call that carries a caller assertion is refused"
        ),
        Ok(_) => {}
    }
    let callers = Callers::new(
        settings.caller.clone(),
        settings.caller_key.clone(),
        settings.budget_table.clone(),
        sdk,
    );
    let sessions = settings
        .caller_role
        .clone()
        .map(|role| Sessions::new(role, sdk));
    (callers, sessions)
}

/// The budgets of tool `T`, counted in DynamoDB. Unset or broken settings refuse every counted
/// call rather than run without budgets. A read-only tool is counted only when a budget names
/// it (otherwise it needs no table, and the template gives it none), or when the budgets
/// cannot be read, so that a broken budget file refuses rather than silently counts nothing.
fn ledger<T: Tool>(
    settings: &HostSettings,
    config: &GuardConfig,
    guard: &Guard,
    sdk: &SdkConfig,
) -> BudgetLedger {
    let budgets = BudgetSource::beside(config.policy_dir.as_deref()).load();
    let counted = T::ACCESS == Access::Mutating
        || budgets
            .as_ref()
            .map_or(true, |b| b.for_tool(T::NAME).next().is_some());
    if !counted {
        return BudgetLedger::off();
    }
    let ledger = BudgetLedger::from_settings(
        settings.budgets.as_deref(),
        settings.budget_table.clone(),
        budgets,
        // Broken policies refuse every call anyway; only loaded ones can vouch for tools.
        |tool| {
            guard
                .policy_sets()
                .map_or(true, |sets| sets.declares_tool(tool))
        },
        || aws_sdk_dynamodb::Client::new(sdk),
    );
    if ledger.is_off() {
        tracing::warn!("BUDGETS=OFF: budgets over time are not enforced");
    }
    if let Some(e) = ledger.problem() {
        tracing::error!(error = %e, "budgets unusable");
    }
    ledger
}
