//! Calls that need a person (issue 21): the resource check of a call the policies deny as it
//! stands but would allow with a person's approval answers *approval required* and records a
//! request; the agent's second call names the request, and runs only on an approval bound to
//! the same tool, arguments, caller and resource as read now, used once.

use std::{io::Write, sync::Arc, time::SystemTime};

use guard::{ControlAction, ControlRecord, Principal, ResourceFacts};
use oversight::{
    APPROVAL_ARGUMENT, ApprovalRequest, Approvals, Call, Notifier, Status, bound_arguments,
    caller_person, grant, probe, usable,
};
use serde_json::{Value, json};

use super::{
    Tool,
    checks::{Checks, Ended, Step},
    host::ToolHost,
};
use crate::Sessions;
use budget::Reservation;

/// Where a tool asks people: the requests (in the budget table), the topic that tells the
/// approvers, and the role they approve in (named to the agent and to them; whether it is
/// enough is the policies' decision).
#[derive(Debug, Clone)]
pub struct Desk {
    approvals: Approvals,
    notifier: Option<Notifier>,
    role: String,
    /// The role approved calls are made in (`GUARD_APPROVED_ROLE_ARN`); without one, in the
    /// tool's own role or the caller's session.
    approved: Option<Arc<Sessions>>,
}

impl Desk {
    /// Requests kept by `approvals`, announced through `notifier`, approved in `role`.
    pub fn new(approvals: Approvals, notifier: Option<Notifier>, role: impl Into<String>) -> Self {
        Self {
            approvals,
            notifier,
            role: role.into(),
            approved: None,
        }
    }

    /// The desk making approved calls in role sessions of `approved`.
    #[must_use]
    pub fn with_approved(mut self, approved: Option<Sessions>) -> Self {
        self.approved = approved.map(Arc::new);
        self
    }
}

/// An approval found for this call, used just before the operation.
pub(super) struct Held {
    id: String,
    arguments: Value,
}

impl<T: Tool> ToolHost<T> {
    /// The role session an approved call is made in (`GUARD_APPROVED_ROLE_ARN`): the tool as
    /// it acts in it, and the session's `SourceIdentity`. Had before the approval is used, so
    /// a session STS refuses leaves the approval for another try; `None` without an approval
    /// or an approved role.
    pub(super) async fn approved_session(
        &self,
        checks: &mut Checks<'_>,
        tool: &T,
        held: Option<&Held>,
        reservation: &mut Reservation,
    ) -> Step<Option<(T, String)>> {
        let (Some(held), Some(desk)) = (held, &self.desk) else {
            return Ok(None);
        };
        let Some(sessions) = &desk.approved else {
            return Ok(None);
        };
        let session = match sessions
            .for_approval(checks.call().principal, T::NAME, &held.id)
            .await
        {
            Ok(session) => session,
            Err(e) => {
                reservation.give_back().await;
                return Err(checks.refuse_as_denied(e.to_string()).into());
            }
        };
        match tool.acting_as(&session.config) {
            Some(acting) => Ok(Some((acting, session.source_identity))),
            None => {
                reservation.give_back().await;
                Err(checks
                    .refuse_as_denied(format!(
                        "`{}` cannot act in a role session, and approved calls are made in one",
                        T::NAME
                    ))
                    .into())
            }
        }
    }
}

impl<T: Tool> ToolHost<T> {
    /// Step 5, the resource check, with approvals: a call naming an approval is checked with
    /// it; a call denied as it stands that the policies would allow on the approval of a
    /// person in the approver role who is not the caller waits for one. A dry run never asks.
    pub(super) async fn resource_decision(
        &self,
        checks: &mut Checks<'_>,
        facts: &ResourceFacts,
        dry_run: bool,
    ) -> Step<Option<Held>> {
        let call = checks.call();
        if let Some(id) = call.input.get(APPROVAL_ARGUMENT).and_then(Value::as_str) {
            return self.approved(checks, facts, id).await.map(Some);
        }
        let decision = self.guard.check_resource(&call, facts);
        let denied_by_policy = !decision.proceeds() && decision.error().is_none();
        match &self.desk {
            Some(desk)
                if denied_by_policy
                    && !dry_run
                    && self.guard.would_allow(
                        &call,
                        facts,
                        Some(&probe(&desk.role, &caller_person(call.principal))),
                    ) =>
            {
                Err(self.ask(checks, desk, decision, facts).await)
            }
            _ => checks.decided(decision).map(|()| None),
        }
    }

    /// Records a request for this call, tells the approvers, and answers the agent.
    async fn ask(
        &self,
        checks: &mut Checks<'_>,
        desk: &Desk,
        decision: guard::Decision,
        facts: &ResourceFacts,
    ) -> Ended {
        let call = checks.call();
        let arguments = bound_arguments(call.input);
        let why = format!(
            "the policies deny this call as it stands ({}), and would allow it with the \
             approval of a person in role `{}` who is not the caller",
            decision.explain(),
            desk.role
        );
        let request = ApprovalRequest::new(
            &Call {
                tool: T::NAME,
                arguments: &arguments,
                caller: call.principal,
                resource: facts,
            },
            &format!("a person in role `{}`", desk.role),
            &why,
            SystemTime::now(),
        );
        if let Err(e) = desk.approvals.record(&request).await {
            return checks
                .refuse_resource_as_denied(format!(
                    "the call needs a person's approval, and the request could not be recorded: {e}"
                ))
                .into();
        }
        audit(ControlAction::Request, call.principal, &request.id, &why);
        let told = match &desk.notifier {
            Some(notifier) => match notifier.announce(&request).await {
                Ok(()) => format!("the approvers were notified on `{}`", notifier.topic()),
                Err(e) => {
                    tracing::error!(request = %request.id, error = %e, "approvers not notified");
                    format!("the approvers could not be notified ({e}): give one the request id")
                }
            },
            None => format!(
                "no notification topic is configured ({}): give an approver the request id",
                oversight::APPROVAL_TOPIC_VAR
            ),
        };
        let next = format!(
            "once a person approves (`guard approve {id}`), call `{tool}` again with the same \
             arguments and \"{APPROVAL_ARGUMENT}\": \"{id}\", before it expires; a rejection or a \
             timeout means the call does not run",
            id = request.id,
            tool = T::NAME,
        );
        let message = format!(
            "approval required, nothing was changed: {why}. Request `{}` is recorded; {told}. Next: {next}.",
            request.id
        );
        let approval = json!({
            "id": request.id,
            "status": "pending",
            "approvers": request.approvers,
            "expires_at": request.expires_at,
            "summary": request.summary(),
            "next": next,
        });
        checks.approval_required(decision, message, approval).into()
    }

    /// The resource check of a call naming approval `id`: the request read, its approval
    /// bound to this call and the resource as read now, and the policies asked with it.
    async fn approved(
        &self,
        checks: &mut Checks<'_>,
        facts: &ResourceFacts,
        id: &str,
    ) -> Step<Held> {
        let call = checks.call();
        let refuse = |checks: &mut Checks<'_>, why: String| {
            Ended::from(checks.refuse_resource_as_denied(why))
        };
        let Some(desk) = &self.desk else {
            return Err(refuse(
                checks,
                format!(
                    "the call names approval `{id}`, and this function takes no approvals (no budget table)"
                ),
            ));
        };
        let arguments = bound_arguments(call.input);
        let bound = Call {
            tool: T::NAME,
            arguments: &arguments,
            caller: call.principal,
            resource: facts,
        };
        let request = desk
            .approvals
            .read(id)
            .await
            .and_then(|request| usable(&request, &bound, SystemTime::now()).map(|()| request))
            .map_err(|e| refuse(checks, e.to_string()))?;
        let Status::Approved { by } = &request.status else {
            return Err(refuse(checks, format!("approval `{id}` is not approved")));
        };
        let approval = grant(by, &request.caller_person);
        checks.decided(
            self.guard
                .check_resource_approved(&call, facts, Some(&approval)),
        )?;
        Ok(Held {
            id: request.id,
            arguments,
        })
    }

    /// Uses the approval, once, last before the operation (after the budget and the stop
    /// switch, so a call they stop does not use it up). DynamoDB applies one of two racing
    /// uses; the other is refused and gives its budget slots back.
    pub(super) async fn use_approval(
        &self,
        checks: &mut Checks<'_>,
        held: Option<Held>,
        facts: &ResourceFacts,
        reservation: &mut Reservation,
    ) -> Step<()> {
        let (Some(held), Some(desk)) = (held, &self.desk) else {
            return Ok(());
        };
        let call = checks.call();
        let bound = Call {
            tool: T::NAME,
            arguments: &held.arguments,
            caller: call.principal,
            resource: facts,
        };
        match desk
            .approvals
            .consume(&held.id, &bound, SystemTime::now())
            .await
        {
            Ok(used) => {
                let by = match &used.status {
                    Status::Used { by } | Status::Approved { by } => by.as_str(),
                    _ => "",
                };
                audit(
                    ControlAction::Use,
                    call.principal,
                    &used.id,
                    &format!("approved by `{by}`"),
                );
                Ok(())
            }
            Err(e) => {
                reservation.give_back().await;
                Err(checks.refuse_resource_as_denied(e.to_string()).into())
            }
        }
    }
}

/// The audit record of a request made or an approval used, in the function's log beside the
/// decisions' records: one JSON line, strings escaped, so the agent's text cannot forge another.
fn audit(action: ControlAction, caller: Option<&Principal>, id: &str, reason: &str) {
    let by = caller.map_or("(unknown caller)", Principal::id);
    let record = ControlRecord::new(action, by).request(id).reason(reason);
    let mut out = std::io::stdout().lock();
    // As for the decisions' records: a record that cannot be written must not change what
    // was decided, and stdout is the function's log.
    let _ = writeln!(out, "{}", record.line());
}
