//! The Lambda handler: a tool with its guard, its gateway target name and its budgets.

use std::{sync::Arc, time::Instant};

use budget::{BudgetLedger, LedgerError, Reservation};
use guard::{Guard, Principal, RequestIds, ResourceFacts, StopOutcome, ToolCall, ToolName};
use lambda_host::{Diagnostic, Incoming, LambdaEvent, Malformed};
use oversight::{StopSwitch, SwitchState};
use serde_json::Value;

use super::{
    Access, Found, Recheck, Tool,
    approval::{Desk, Held},
    checks::{Checks, Ended, Step},
};
use crate::{
    callers::{Callers, split_assertion},
    config::ConfigError,
    error::ToolError,
    identity::{Invocation, identify},
    input,
    result::{CallToolResult, Report, Status},
    session::Sessions,
};

/// A tool with its guard and its gateway target name: the Lambda handler.
pub struct ToolHost<T> {
    /// The tool, or why its settings are unusable: then every call is refused, audited.
    tool: Result<T, ConfigError>,
    pub(super) guard: Arc<Guard>,
    target: String,
    /// Budgets over time, counted across invocations and sessions.
    budgets: BudgetLedger,
    /// How the caller of a call is known: the assertion the interceptor attached.
    pub(super) callers: Callers,
    /// The role sessions mutations are made in, as the caller (`CALLER_ROLE_ARN`).
    pub(super) sessions: Option<Sessions>,
    /// The operators' stop switch (`guard stop`), read before every mutation.
    stop: StopSwitch,
    /// Where calls that need a person wait for one; without it, such calls are denied.
    pub(super) desk: Option<Desk>,
}

impl<T: Tool> ToolHost<T> {
    /// A host for `tool` registered as gateway target `target`. Its budgets and its stop
    /// switch are not configured — every mutating call is refused — until
    /// [`ToolHost::with_budgets`] and [`ToolHost::with_stop`].
    pub fn new(tool: Result<T, ConfigError>, guard: Arc<Guard>, target: impl Into<String>) -> Self {
        Self {
            tool,
            guard,
            target: target.into(),
            budgets: BudgetLedger::broken(LedgerError::NoTable),
            callers: Callers::unknown(),
            sessions: None,
            stop: StopSwitch::unconfigured(),
            desk: None,
        }
    }

    /// The host asking people for the calls the policies allow only with their approval.
    #[must_use]
    pub fn with_desk(mut self, desk: Option<Desk>) -> Self {
        self.desk = desk;
        self
    }

    /// The host with the operators' stop switch `stop`.
    #[must_use]
    pub fn with_stop(mut self, stop: StopSwitch) -> Self {
        self.stop = stop;
        self
    }

    /// The host with `callers` (see [`Callers`]).
    #[must_use]
    pub fn with_callers(mut self, callers: Callers) -> Self {
        self.callers = callers;
        self
    }

    /// The host making its mutations in role sessions as the caller.
    #[must_use]
    pub fn with_sessions(mut self, sessions: Option<Sessions>) -> Self {
        self.sessions = sessions;
        self
    }

    /// The host with `budgets`.
    #[must_use]
    pub fn with_budgets(mut self, budgets: BudgetLedger) -> Self {
        self.budgets = budgets;
        self
    }

    /// Answers whatever reached the function: an event is handled; an invocation that could
    /// not be read (a payload serde cannot read, a malformed client context) is refused and
    /// audited, never left to fail without a record.
    pub async fn answer(&self, incoming: Incoming) -> Result<CallToolResult, Diagnostic> {
        match incoming {
            Incoming::Event(event) => self.handle(event).await,
            Incoming::Malformed(malformed) => Ok(self.finish(self.refuse_malformed(&malformed))),
        }
    }

    /// Handles one invocation. Tool failures and denials are results with `isError: true`;
    /// the `Err` side is for faults of the function itself, and there are none here.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<CallToolResult, Diagnostic> {
        let report = match self.steps(&event).await {
            Ok(report) => report,
            Err(Ended(report)) => *report,
        };
        Ok(self.finish(report))
    }

    /// The path of one call (DESIGN.md §3); each step that stops the call ends it with its
    /// report, audited.
    async fn steps(&self, event: &LambdaEvent<Value>) -> Step<Report> {
        let invocation = self.identify(event)?;
        let (arguments, assertion) = split_assertion(&event.payload);
        let verified = self
            .caller(&invocation, &arguments, assertion.as_ref())
            .await?;
        let principal = verified.as_ref().map(|v| v.principal.clone());
        let mut checks = Checks::new(
            &self.guard,
            call(&invocation, &arguments, principal.as_ref()),
        );
        let tool = self.configured(&mut checks)?;
        let input = parse::<T>(&arguments).map_err(|e| Ended::from(checks.refuse(&e)))?;
        checks.decided(self.guard.check_call(&checks.call()))?;
        self.first_use(&mut checks, &invocation, verified.as_ref())
            .await?;
        let found = tool
            .lookup(&input)
            .await
            .map_err(|e| Ended::from(checks.refuse_resource(&e)))?;
        let held = self
            .resource_check(&mut checks, found.facts.as_ref(), T::dry_run(&input))
            .await?;
        let session = self.session(&mut checks, tool, T::dry_run(&input)).await?;
        let mut reservation = self
            .reserve(&mut checks, T::dry_run(&input), found.facts.as_ref())
            .await?;
        self.stop_check(
            &mut checks,
            T::dry_run(&input),
            found.facts.as_ref(),
            &mut reservation,
        )
        .await?;
        let approved = self
            .approved_session(&mut checks, tool, held.as_ref(), &mut reservation)
            .await?;
        if let Some(facts) = &found.facts {
            self.use_approval(&mut checks, held, facts, &mut reservation)
                .await?;
        }
        // An approved call is made in the approved role's session, and in no other.
        let session = approved.or(session);
        let acting = session.as_ref().map_or(tool, |(acting, _)| acting);
        let mut report = self
            .operate(&mut checks, acting, &input, found, reservation)
            .await;
        report.acting_as = session.map(|(_, source_identity)| source_identity);
        Ok(report)
    }

    /// Step 1, identify: which tool the gateway asked for, before parsing: another tool's
    /// arguments sent here are a misrouted call, and are reported as one rather than as
    /// unknown fields.
    fn identify(&self, event: &LambdaEvent<Value>) -> Step<Invocation> {
        let gateway_id = self
            .guard
            .gateway_arn()
            .and_then(|arn| arn.rsplit_once("gateway/"))
            .map(|(_, id)| id);
        identify(&event.context, T::NAME, &self.target, gateway_id).map_err(|misrouted| {
            let fallback = self.own_invocation(&event.context.request_id);
            let mut checks = Checks::new(&self.guard, call(&fallback, &event.payload, None));
            checks.refuse_as_denied(misrouted.to_string()).into()
        })
    }

    /// The tool, unless its settings are unusable: then nothing is called.
    fn configured(&self, checks: &mut Checks<'_>) -> Step<&T> {
        self.tool.as_ref().map_err(|e| {
            checks
                .refuse(&ToolError::configuration(format!(
                    "the function is misconfigured, nothing was called: {e}"
                )))
                .into()
        })
    }

    /// Step 5, the resource check: reality, not the agent's claim (and a person's approval,
    /// when the policies ask for one). Only a tool declared read-only may have nothing to
    /// check.
    async fn resource_check(
        &self,
        checks: &mut Checks<'_>,
        facts: Option<&ResourceFacts>,
        dry_run: bool,
    ) -> Step<Option<Held>> {
        match (facts, T::ACCESS) {
            (Some(facts), _) => self.resource_decision(checks, facts, dry_run).await,
            (None, Access::ReadOnly) => Ok(None),
            (None, Access::Mutating) => checks
                .decided(self.guard.refuse_resource(
                    &checks.call(),
                    format!(
                        "`{}` changes AWS resources but its lookup found no resource to check",
                        T::NAME
                    ),
                ))
                .map(|()| None),
        }
    }

    /// Step 6, the budget: room for one more such operation over time, counted across
    /// invocations and sessions. After both checks allow, so a denied call takes no slot;
    /// before the operation, so a slot is held before anything changes. A dry run counts
    /// nothing.
    async fn reserve(
        &self,
        checks: &mut Checks<'_>,
        dry_run: bool,
        facts: Option<&ResourceFacts>,
    ) -> Step<Reservation> {
        let (Some(facts), false) = (facts, dry_run) else {
            return Ok(Reservation::default());
        };
        let started = Instant::now();
        let call = checks.call();
        let Some((outcome, mut reservation)) = self
            .budgets
            .reserve(
                call.ids.lambda.as_deref(),
                T::NAME,
                facts,
                self.guard.mode(),
            )
            .await
        else {
            return Ok(Reservation::default());
        };
        let decision = self
            .guard
            .record_budget(&call, facts, outcome, started.elapsed());
        if !decision.proceeds() {
            reservation.give_back().await;
        }
        checks.decided(decision)?;
        Ok(reservation)
    }

    /// The stop switch, last before the operation, so a stop reaches the mutation itself
    /// (within [`oversight::STOP_CACHE`]). A read-only tool or a dry run changes nothing and
    /// is never stopped. A stopped call gives its budget slots back: nothing happened.
    async fn stop_check(
        &self,
        checks: &mut Checks<'_>,
        dry_run: bool,
        facts: Option<&ResourceFacts>,
        reservation: &mut Reservation,
    ) -> Step<()> {
        if T::ACCESS == Access::ReadOnly || dry_run {
            return Ok(());
        }
        let started = Instant::now();
        let outcome = match self.stop.state().await {
            Ok(SwitchState::Running) => return Ok(()),
            Ok(SwitchState::Stopped(stopped)) => StopOutcome::Stopped(stopped.sentence()),
            Err(e) => StopOutcome::Unreadable(e.to_string()),
        };
        let decision = self
            .guard
            .record_stop(&checks.call(), facts, outcome, started.elapsed());
        reservation.give_back().await;
        checks.decided(decision)
    }

    /// Step 7, operate and report: slots go back when nothing changed.
    async fn operate(
        &self,
        checks: &mut Checks<'_>,
        tool: &T,
        input: &T::Input,
        found: Found<T::Resource>,
        mut reservation: Reservation,
    ) -> Report {
        let recheck = Recheck {
            tool,
            input,
            guard: &self.guard,
            call: checks.call(),
        };
        let operated = tool.operate(input, found.resource, &recheck).await;
        let changed = match &operated {
            Ok(output) => T::changed(output),
            Err(e) => !e.changed_nothing,
        };
        let uncounted = !changed && reservation.holds_slots();
        if uncounted {
            reservation.give_back().await;
        }
        let note = if uncounted {
            "; nothing changed, so no budget was used"
        } else {
            ""
        };
        match operated {
            Ok(output) => {
                let mut message = format!("{}{note}", T::summary(&output));
                let would_deny = checks.would_deny();
                if !would_deny.is_empty() {
                    message = format!(
                        "LOG_ONLY: the guard would have denied this call ({}); it went ahead. {message}",
                        would_deny.join("; ")
                    );
                }
                let result = serde_json::to_value(&output).unwrap_or(Value::Null);
                Report::ok(message, result, checks.report())
            }
            Err(mut e) => {
                e.message.push_str(note);
                match e.stopped_by.take() {
                    Some(decision) => checks.stopped(*decision, e.message),
                    None => Report::error(&e, checks.report()),
                }
            }
        }
    }

    /// The result carrying `report`, logged.
    fn finish(&self, report: Report) -> CallToolResult {
        let result = CallToolResult::new(&report);
        match report.status {
            Status::Ok => tracing::info!(tool = T::NAME, "{}", report.message),
            _ => tracing::warn!(tool = T::NAME, "{}", report.message),
        }
        result
    }

    /// This function's own tool, for a call that names no other: a direct invoke, or one that
    /// could not be read.
    fn own_invocation(&self, request_id: &str) -> Invocation {
        Invocation {
            tool: ToolName::join(&self.target, T::NAME),
            ids: RequestIds::from_lambda(request_id),
            from_gateway: false,
        }
    }

    fn refuse_malformed(&self, malformed: &Malformed) -> Report {
        let invocation = self.own_invocation(&malformed.context.request_id);
        let mut checks = Checks::new(&self.guard, call(&invocation, &Value::Null, None));
        checks.refuse_as_denied(format!(
            "the invocation could not be read ({}): {}",
            malformed.error.error_type(),
            malformed.error
        ))
    }
}

/// Step 2, parse, strictly: nothing is asked or called for arguments that are not the tool's.
/// A refusal here is audited like any other: an agent probing with malformed calls shows in
/// the records and the metrics.
fn parse<T: Tool>(payload: &Value) -> Result<T::Input, ToolError> {
    let input = input::parse::<T::Input>(payload)?;
    T::validate(&input)?;
    Ok(input)
}

pub(super) fn call<'a>(
    invocation: &'a Invocation,
    arguments: &'a Value,
    principal: Option<&'a Principal>,
) -> ToolCall<'a> {
    ToolCall {
        tool: &invocation.tool,
        input: arguments,
        principal,
        ids: &invocation.ids,
    }
}
