//! The request path every tool follows (DESIGN.md §3): identify and parse, call check,
//! real-resource lookup, resource check, budget, operate, report. A tool supplies the
//! domain steps; the order, the checks and the reporting live here once.

use std::{future::Future, sync::Arc};

use guard::{Decision, Guard, ResourceFacts, ToolCall};
use lambda_host::{Diagnostic, Incoming, LambdaEvent, Malformed};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{
    budget::{BudgetLedger, BudgetSetupError, Reservation},
    config::{ConfigError, Settings},
    error::ToolError,
    identity::{Invocation, identify},
    input,
    result::{CallToolResult, GuardReport, Report},
};

/// Whether a tool changes anything. Declared by each tool, never inferred: only a read-only
/// tool may go without a resource check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only; the call check alone may guard it.
    ReadOnly,
    /// Changes AWS resources; every call must pass the resource check on the real resource.
    Mutating,
}

/// What a tool found when it looked up the real resource.
#[derive(Debug, Clone)]
pub struct Found<R> {
    /// The resource as the resource check sees it. `None` only for a [`Access::ReadOnly`]
    /// tool that touches no resource; a mutating tool that finds no facts is refused.
    pub facts: Option<ResourceFacts>,
    /// Whatever the operation needs from the lookup.
    pub resource: R,
}

/// The domain of one tool. Implementations hold their AWS clients and settings.
pub trait Tool: Send + Sync + 'static {
    /// The tool's name within its gateway target (`terminate_instance`).
    const NAME: &'static str;
    /// The gateway target name unless `GATEWAY_TARGET_NAME` says otherwise.
    const DEFAULT_TARGET: &'static str;
    /// Whether the tool changes anything.
    const ACCESS: Access;

    /// The tool's settings, read from the environment once at start.
    type Settings: Settings;

    /// The arguments; the serde derive must `deny_unknown_fields`.
    type Input: DeserializeOwned + Send + Sync;
    /// What the lookup hands to the operation.
    type Resource: Send;
    /// What the operation returns.
    type Output: Serialize + Send;

    /// Checks what types cannot (formats, ranges). No AWS call.
    fn validate(input: &Self::Input) -> Result<(), ToolError>;

    /// Reads the real resource (tags, state, protection flags). No mutation.
    fn lookup(
        &self,
        input: &Self::Input,
    ) -> impl Future<Output = Result<Found<Self::Resource>, ToolError>> + Send;

    /// Performs the operation, or with `dry_run` reports what it would do and changes nothing.
    /// An operation made of many changes asks `recheck` between them, so that a resource that
    /// became protected meanwhile stops it.
    fn operate(
        &self,
        input: &Self::Input,
        resource: Self::Resource,
        recheck: &Recheck<'_, Self>,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send
    where
        Self: Sized;

    /// One sentence about a result, for a person.
    fn summary(output: &Self::Output) -> String;

    /// Whether the call is a dry run: it changes nothing, so it counts against no budget.
    /// Without an override every call counts, which can only make a budget stricter.
    fn dry_run(_input: &Self::Input) -> bool {
        false
    }

    /// Whether a successful operation changed anything. One that did not (the instance was
    /// already terminated, no stream was old enough) gives its budget slots back: budgets
    /// count operations that changed something, so no-ops cannot use one up. Without an
    /// override every operation counts, which can only make a budget stricter. (A failed
    /// operation gives its slots back only when [`ToolError::changed_nothing`] says so.)
    fn changed(_output: &Self::Output) -> bool {
        true
    }
}

/// The resource check, asked again while an operation runs: the real resource is read afresh
/// and checked as it was before the operation began. A resource that was staging when the
/// check passed may be marked for compliance a second later; a long operation must notice.
pub struct Recheck<'a, T: Tool> {
    tool: &'a T,
    input: &'a T::Input,
    guard: &'a Guard,
    call: ToolCall<'a>,
}

/// Why an operation must stop: a re-check did not allow it to go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// What the re-check said, for a person.
    pub reason: String,
}

impl<T: Tool> Recheck<'_, T> {
    /// Reads the resource again and asks the resource check; audited like every check. A
    /// lookup that fails, or finds nothing to check, stops the operation too (fail closed).
    pub async fn confirm(&self) -> Result<(), Stop> {
        let found = match self.tool.lookup(self.input).await {
            Ok(found) => found,
            Err(e) => {
                let reason = format!("the re-check could not read the resource: {}", e.message);
                self.guard.refuse_resource(&self.call, reason.clone());
                return Err(Stop { reason });
            }
        };
        let decision = match &found.facts {
            Some(facts) => self.guard.check_resource(&self.call, facts),
            None => self.guard.refuse_resource(
                &self.call,
                "the re-check found no resource to check".to_owned(),
            ),
        };
        if decision.proceeds() {
            Ok(())
        } else {
            Err(Stop {
                reason: decision.explain(),
            })
        }
    }
}

/// A tool with its guard and its gateway target name: the Lambda handler.
pub struct ToolHost<T> {
    /// The tool, or why its settings are unusable: then every call is refused, audited.
    tool: Result<T, ConfigError>,
    guard: Arc<Guard>,
    target: String,
    /// Budgets over time, counted across invocations and sessions.
    budgets: BudgetLedger,
}

impl<T: Tool> ToolHost<T> {
    /// A host for `tool` registered as gateway target `target`. Its budgets are not
    /// configured — every mutating call is refused — until [`ToolHost::with_budgets`].
    pub fn new(tool: Result<T, ConfigError>, guard: Arc<Guard>, target: impl Into<String>) -> Self {
        Self {
            tool,
            guard,
            target: target.into(),
            budgets: BudgetLedger::broken(BudgetSetupError::NoTable),
        }
    }

    /// The host with `budgets` (see [`BudgetLedger::from_env`]).
    #[must_use]
    pub fn with_budgets(mut self, budgets: BudgetLedger) -> Self {
        self.budgets = budgets;
        self
    }

    /// A host whose target name comes from `GATEWAY_TARGET_NAME` (default
    /// [`Tool::DEFAULT_TARGET`]).
    pub fn from_env(tool: Result<T, ConfigError>, guard: Arc<Guard>) -> Self {
        let target = std::env::var(crate::config::TARGET_NAME_VAR)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| T::DEFAULT_TARGET.to_owned());
        Self::new(tool, guard, target)
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
        let report = self.run(&event).await;
        Ok(self.finish(report))
    }

    /// The result carrying `report`, logged.
    fn finish(&self, report: Report) -> CallToolResult {
        let result = CallToolResult::new(&report);
        match report.status {
            crate::result::Status::Ok => tracing::info!(tool = T::NAME, "{}", report.message),
            _ => tracing::warn!(tool = T::NAME, "{}", report.message),
        }
        result
    }

    /// This function's own tool, for a call that names no other: a direct invoke, or one that
    /// could not be read.
    fn own_invocation(&self, request_id: &str) -> Invocation {
        Invocation {
            tool: format!("{}{}{}", self.target, guard::TOOL_SEPARATOR, T::NAME),
            ids: guard::RequestIds {
                lambda: Some(request_id.to_owned()).filter(|id| !id.is_empty()),
                ..guard::RequestIds::default()
            },
            from_gateway: false,
        }
    }

    fn refuse_malformed(&self, malformed: &Malformed) -> Report {
        let invocation = self.own_invocation(&malformed.context.request_id);
        let call = self.call(&invocation, &Value::Null);
        let decision = self.guard.refuse(
            &call,
            format!(
                "the invocation could not be read ({}): {}",
                malformed.error.error_type(),
                malformed.error
            ),
        );
        let guard = GuardReport::new(
            self.guard.mode(),
            &invocation.tool,
            std::slice::from_ref(&decision),
        );
        Report::denied(&decision, guard)
    }

    async fn run(&self, event: &LambdaEvent<Value>) -> Report {
        let payload = &event.payload;
        let mode = self.guard.mode();

        // Identify the call before parsing: another tool's arguments sent here are a misrouted
        // call, and should be reported as one rather than as unknown fields.
        let gateway_id = self
            .guard
            .gateway_arn()
            .and_then(|arn| arn.rsplit_once("gateway/"))
            .map(|(_, id)| id);
        let invocation = match identify(&event.context, T::NAME, &self.target, gateway_id) {
            Ok(invocation) => invocation,
            Err(misrouted) => {
                let fallback = self.own_invocation(&event.context.request_id);
                let call = self.call(&fallback, payload);
                let decision = self.guard.refuse(&call, misrouted.to_string());
                return Report::denied(
                    &decision,
                    GuardReport::new(mode, &fallback.tool, std::slice::from_ref(&decision)),
                );
            }
        };
        let call = self.call(&invocation, payload);
        let mut decisions: Vec<Decision> = Vec::with_capacity(3);
        let report = |decisions: &[Decision]| GuardReport::new(mode, &invocation.tool, decisions);

        let tool = match &self.tool {
            Ok(tool) => tool,
            Err(e) => {
                let error = ToolError::configuration(format!(
                    "the function is misconfigured, nothing was called: {e}"
                ));
                decisions.push(self.guard.refuse(&call, error.message.clone()));
                return Report::error(&error, report(&decisions));
            }
        };

        // Parse strictly: nothing is asked or called for arguments that are not the tool's.
        // A refusal here is audited like any other: an agent probing with malformed calls
        // shows in the records and the metrics.
        let input =
            match input::parse::<T::Input>(payload).and_then(|i| T::validate(&i).map(|()| i)) {
                Ok(input) => input,
                Err(e) => {
                    decisions.push(self.guard.refuse(&call, e.message.clone()));
                    return Report::error(&e, report(&decisions));
                }
            };

        // The call check: the gateway's question, asked again here.
        let decision = self.guard.check_call(&call);
        let proceeds = decision.proceeds();
        decisions.push(decision);
        if !proceeds {
            return denied(&decisions, report(&decisions));
        }

        // The real resource.
        // A resource that cannot be read is not checked, and the call goes no further: audited
        // as a refused resource check, so probing for names shows in the records and metrics.
        let found = match tool.lookup(&input).await {
            Ok(found) => found,
            Err(e) => {
                decisions.push(self.guard.refuse_resource(&call, e.message.clone()));
                return Report::error(&e, report(&decisions));
            }
        };

        // The resource check: reality, not the agent's claim. Only a tool declared read-only
        // may have nothing to check.
        let decision = match (&found.facts, T::ACCESS) {
            (Some(facts), _) => Some(self.guard.check_resource(&call, facts)),
            (None, Access::ReadOnly) => None,
            (None, Access::Mutating) => Some(self.guard.refuse_resource(
                &call,
                format!(
                    "`{}` changes AWS resources but its lookup found no resource to check",
                    T::NAME
                ),
            )),
        };
        if let Some(decision) = decision {
            let proceeds = decision.proceeds();
            decisions.push(decision);
            if !proceeds {
                return denied(&decisions, report(&decisions));
            }
        }

        // The budget (issue 12): room for one more such operation over time, counted across
        // invocations and sessions. After both checks allow, so a denied call takes no slot;
        // before the operation, so a slot is held before anything changes. A dry run changes
        // nothing and counts nothing.
        let mut reservation = Reservation::default();
        if let (Some(facts), false) = (&found.facts, T::dry_run(&input))
            && let Some((decision, taken)) = self
                .budgets
                .reserve(&self.guard, &call, T::NAME, facts)
                .await
        {
            reservation = taken;
            let proceeds = decision.proceeds();
            decisions.push(decision);
            if !proceeds {
                return denied(&decisions, report(&decisions));
            }
        }

        // Operate.
        let recheck = Recheck {
            tool,
            input: &input,
            guard: &self.guard,
            call,
        };
        let operated = tool.operate(&input, found.resource, &recheck).await;
        let changed = match &operated {
            Ok(output) => T::changed(output),
            Err(e) => !e.changed_nothing,
        };
        let uncounted = !changed && reservation.holds_slots();
        if uncounted {
            reservation.give_back().await;
        }
        match operated {
            Ok(output) => {
                let mut message = T::summary(&output);
                if uncounted {
                    message.push_str("; nothing changed, so no budget was used");
                }
                let would_deny: Vec<String> = decisions
                    .iter()
                    .filter(|d| d.would_deny())
                    .map(Decision::explain)
                    .collect();
                if !would_deny.is_empty() {
                    message = format!(
                        "LOG_ONLY: the guard would have denied this call ({}); it went ahead. {message}",
                        would_deny.join("; ")
                    );
                }
                let result = serde_json::to_value(&output).unwrap_or(Value::Null);
                Report::ok(message, result, report(&decisions))
            }
            Err(mut e) => {
                if uncounted {
                    e.message
                        .push_str("; nothing changed, so no budget was used");
                }
                Report::error(&e, report(&decisions))
            }
        }
    }

    fn call<'a>(&self, invocation: &'a Invocation, payload: &'a Value) -> ToolCall<'a> {
        ToolCall {
            tool: &invocation.tool,
            input: payload,
            principal: None,
            ids: &invocation.ids,
        }
    }
}

fn denied(decisions: &[Decision], guard: GuardReport) -> Report {
    match decisions.last() {
        Some(last) => Report::denied(last, guard),
        None => Report::error(
            &ToolError::configuration("denied without a decision"),
            guard,
        ),
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use guard::{Check, Mode, Outcome};
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::testing::{direct, invoke};

    /// A tool whose lookup finds nothing to check; `ACCESS` says whether it mutates.
    struct Blind<const MUTATING: bool>;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "read by the parser only")]
    struct Args {
        environment: String,
        service: String,
    }

    impl<const MUTATING: bool> Tool for Blind<MUTATING> {
        // The gateway policies and schema know `restart_service`; this stands in for it.
        const NAME: &'static str = "restart_service";
        const DEFAULT_TARGET: &'static str = "restart-service";
        const ACCESS: Access = if MUTATING {
            Access::Mutating
        } else {
            Access::ReadOnly
        };
        type Settings = ();
        type Input = Args;
        type Resource = ();
        type Output = Value;

        fn validate(_: &Args) -> Result<(), ToolError> {
            Ok(())
        }

        async fn lookup(&self, _: &Args) -> Result<Found<()>, ToolError> {
            Ok(Found {
                facts: None,
                resource: (),
            })
        }

        async fn operate(
            &self,
            _: &Args,
            (): (),
            _: &Recheck<'_, Self>,
        ) -> Result<Value, ToolError> {
            Ok(json!("operated"))
        }

        fn summary(_: &Value) -> String {
            "operated".to_owned()
        }
    }

    #[tokio::test]
    async fn a_mutating_tool_whose_lookup_finds_nothing_is_refused_and_audited() {
        let out = invoke(
            Blind::<true>,
            Mode::Enforce,
            direct(json!({"environment": "staging", "service": "api"})),
        )
        .await;
        assert!(out.is_error, "{}", out.report);
        assert_eq!(out.report["status"], "denied", "{}", out.report);
        assert_eq!(out.audit.len(), 2);
        assert_eq!(out.audit[1].check, Check::Resource);
        assert_eq!(out.audit[1].outcome, Outcome::Error);
    }

    #[tokio::test]
    async fn only_a_tool_declared_read_only_may_skip_the_resource_check() {
        let out = invoke(
            Blind::<false>,
            Mode::Enforce,
            direct(json!({"environment": "staging", "service": "api"})),
        )
        .await;
        assert_eq!(out.audit.len(), 1, "{}", out.report);
        assert_eq!(out.audit[0].check, Check::Call);
    }
}
