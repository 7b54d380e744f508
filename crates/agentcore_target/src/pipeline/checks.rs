//! The bookkeeping of one call along the path: its checks, in order, each audited, and the
//! report the call ends with when one of them stops it.

use guard::{Decision, Guard, ToolCall};

use crate::{
    error::ToolError,
    result::{GuardReport, Report},
};

/// The report a call ended with, at the step that stopped it.
pub(super) struct Ended(pub(super) Box<Report>);

impl From<Report> for Ended {
    fn from(report: Report) -> Self {
        Self(Box::new(report))
    }
}

/// A step of the path: what it hands on, or the report the call ends with.
pub(super) type Step<T> = Result<T, Ended>;

/// The checks one call has been through so far.
pub(super) struct Checks<'a> {
    guard: &'a Guard,
    call: ToolCall<'a>,
    decisions: Vec<Decision>,
}

impl<'a> Checks<'a> {
    pub(super) fn new(guard: &'a Guard, call: ToolCall<'a>) -> Self {
        Self {
            guard,
            call,
            decisions: Vec::with_capacity(3),
        }
    }

    /// The call, as the guard is asked about it.
    pub(super) fn call(&self) -> ToolCall<'a> {
        self.call
    }

    /// The checks so far, as the caller is told them.
    pub(super) fn report(&self) -> GuardReport {
        GuardReport::new(self.guard.mode(), self.call.tool, &self.decisions)
    }

    /// Records `decision`; when it does not let the call go on, the report the call ends with.
    pub(super) fn decided(&mut self, decision: Decision) -> Step<()> {
        let proceeds = decision.proceeds();
        self.decisions.push(decision);
        if proceeds {
            Ok(())
        } else {
            Err(self.denied().into())
        }
    }

    /// A call refused before any policy was asked (misconfigured, misrouted, arguments that
    /// are not the tool's): audited as a refused call check, reported as `error`.
    pub(super) fn refuse(&mut self, error: &ToolError) -> Report {
        let decision = self.guard.refuse(&self.call, error.message.clone());
        self.decisions.push(decision);
        Report::error(error, self.report())
    }

    /// The same refusal, reported as `denied` (a call that is not this function's to serve).
    pub(super) fn refuse_as_denied(&mut self, reason: String) -> Report {
        let decision = self.guard.refuse(&self.call, reason);
        self.decisions.push(decision);
        self.denied()
    }

    /// A resource check that could not be asked (the resource could not be read, or a
    /// mutating tool found nothing to check): audited as a refused resource check.
    pub(super) fn refuse_resource(&mut self, error: &ToolError) -> Report {
        let decision = self
            .guard
            .refuse_resource(&self.call, error.message.clone());
        self.decisions.push(decision);
        Report::error(error, self.report())
    }

    /// A resource check refused before the policies decided (an approval that cannot be
    /// used, a request that could not be recorded): audited as a refused resource check,
    /// reported as `denied`.
    pub(super) fn refuse_resource_as_denied(&mut self, reason: String) -> Report {
        let decision = self.guard.refuse_resource(&self.call, reason);
        self.decisions.push(decision);
        self.denied()
    }

    /// An operation a re-check stopped: its decision is the deciding check; the message says
    /// what was done before.
    pub(super) fn stopped(&mut self, decision: Decision, message: String) -> Report {
        self.decisions.push(decision);
        Report::stopped(message, self.report())
    }

    /// Records `decision`, a deny the policies would lift with a person's approval, and ends
    /// the call waiting for one.
    pub(super) fn approval_required(
        &mut self,
        decision: Decision,
        message: String,
        approval: serde_json::Value,
    ) -> Report {
        self.decisions.push(decision);
        Report::approval_required(message, approval, self.report())
    }

    /// The would-denies of a LOG_ONLY call that went ahead, explained.
    pub(super) fn would_deny(&self) -> Vec<String> {
        self.decisions
            .iter()
            .filter(|d| d.would_deny())
            .map(Decision::explain)
            .collect()
    }

    fn denied(&self) -> Report {
        match self.decisions.last() {
            Some(last) => Report::denied(last, self.report()),
            None => Report::error(
                &ToolError::configuration("denied without a decision"),
                self.report(),
            ),
        }
    }
}
