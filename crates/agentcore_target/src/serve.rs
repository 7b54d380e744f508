//! A tool as a Lambda function: its settings read once, its guard (built beside the rest of
//! the start-up), its budgets, then the runtime loop.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use budget::{BudgetLedger, BudgetSource};
use guard::{EmfStdout, Guard, GuardConfig, LoadError, Problem};
use oversight::{Approvals, Notifier, StopSwitch};
use tokio::{sync::OnceCell, task::JoinHandle};

use crate::{
    Access, CallerMode, Callers, ConfigError, Desk, Sessions, Tool, ToolHost, aws,
    config::{Env, HostSettings, Settings},
};

/// Runs a tool as a Lambda function: tracing; the process's settings, read once and handed on
/// (the guard's, the host's, the tool's own); the AWS SDK configuration; the tool `make`
/// builds from the SDK configuration and its settings; the guard; the budgets; then the
/// runtime loop. A tool's `main` is one call.
///
/// The guard is the longest step of the start-up and needs nothing from the network: it is
/// built on a thread of its own from the first moment, while the rest starts up and while the
/// runtime's first poll for an event is out; the first invocation waits for it, with the
/// budgets (which ask it which tools are declared). No call is ever answered without the guard.
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
    let guard = {
        let config = guard_config.clone();
        tokio::task::spawn_blocking(move || Guard::from_config(&config))
    };
    let host_settings = HostSettings::from_env(&env, T::DEFAULT_TARGET);
    let sdk = aws::sdk_config().await;
    let tool = T::Settings::from_env(&env).map(|settings| make(&sdk, settings));
    if let Err(e) = &tool {
        tracing::error!(error = %e, "the function is misconfigured: every call is refused");
    }
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
    let starting = Mutex::new(Some(Starting {
        tool,
        guard,
        guard_config,
        host_settings,
        sdk,
        callers,
        sessions,
        stop,
        desk,
    }));
    let host = OnceCell::new();
    let (starting, host) = (Arc::new(starting), Arc::new(host));
    lambda_host::run(move |incoming| {
        let (starting, host) = (Arc::clone(&starting), Arc::clone(&host));
        async move {
            let host = host
                .get_or_init(|| async {
                    let starting = starting.lock().ok().and_then(|mut s| s.take());
                    match starting {
                        Some(starting) => Arc::new(starting.finish().await),
                        // Only if a first invocation stopped while it finished the start-up:
                        // the parts are gone. Exiting makes Lambda start a new instance.
                        None => {
                            tracing::error!(
                                "the function's start-up was interrupted; exiting so that a \
                                 new instance starts"
                            );
                            std::process::exit(1)
                        }
                    }
                })
                .await;
            host.answer(incoming).await
        }
    })
    .await
}

/// Everything a tool host needs, the guard still being built.
struct Starting<T: Tool> {
    tool: Result<T, ConfigError>,
    guard: JoinHandle<Guard>,
    guard_config: GuardConfig,
    host_settings: HostSettings,
    sdk: SdkConfig,
    callers: Callers,
    sessions: Option<Sessions>,
    stop: StopSwitch,
    desk: Option<Desk>,
}

impl<T: Tool> Starting<T> {
    /// The host, once its guard is built. A guard whose build failed refuses every call.
    async fn finish(self) -> ToolHost<T> {
        let guard = match self.guard.await {
            Ok(guard) => guard,
            Err(e) => {
                let error = LoadError {
                    problems: vec![Problem {
                        file: "(guard)".to_owned(),
                        line: None,
                        message: format!("the guard could not be built: {e}"),
                    }],
                };
                tracing::error!(error = %error, "guard is refusing every call");
                let audit = Arc::new(EmfStdout::new(self.guard_config.metrics_namespace.clone()));
                Guard::refusing(error, &self.guard_config, audit)
            }
        };
        let guard = Arc::new(guard);
        let budgets = ledger::<T>(&self.host_settings, &self.guard_config, &guard, &self.sdk);
        ToolHost::new(self.tool, guard, self.host_settings.target)
            .with_budgets(budgets)
            .with_stop(self.stop)
            .with_desk(self.desk)
            .with_callers(self.callers)
            .with_sessions(self.sessions)
    }
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
