//! The questions a guard answers, each audited: the call check, the resource check, whether a
//! tool could be called at all; and the records of refusals and budget checks decided
//! elsewhere.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Guard;
use crate::{
    action::{ActionType, ToolName},
    audit::{Asked, Subject},
    budget::{BudgetOutcome, BudgetRecord},
    caller::Principal,
    control::{Approval, StopOutcome},
    decision::{Check, Decision, Reason},
    entity::resource_uid,
    error::GuardError,
    evaluate::{Evaluated, Evaluation},
    request::{RequestIds, ResourceFacts, ToolCall},
};

impl Guard {
    /// The call check: may this tool be called with these arguments? Same request as AgentCore
    /// Policy builds at the gateway. Writes one audit record.
    pub fn check_call(&self, call: &ToolCall<'_>) -> Decision {
        let started = Instant::now();
        let mut subject = self.call_subject(call);
        let outcome = self.decide_call(call, &mut subject);
        self.finish(Check::Call, None, outcome, subject, call, started.elapsed())
    }

    /// The resource check: may this tool touch this real resource? Writes one audit record.
    pub fn check_resource(&self, call: &ToolCall<'_>, resource: &ResourceFacts) -> Decision {
        self.check_resource_approved(call, resource, None)
    }

    /// The resource check of a call a person approved: the policies see the approval as
    /// `context.approval` (who approved, in which role, and the caller's person), so who may
    /// approve what is decided by the policies too. Writes one audit record.
    pub fn check_resource_approved(
        &self,
        call: &ToolCall<'_>,
        resource: &ResourceFacts,
        approval: Option<&Approval>,
    ) -> Decision {
        let started = Instant::now();
        let tool = ToolName::parse(call.tool);
        // The action and the resource as Cedar prints them, once the uids are built; as the
        // call names them when no uid could be built (below).
        let mut subject = Subject {
            gateway: self.gateway_arn(),
            tool: call.tool,
            metric_tool: self.metric_tool(call.tool),
            action: String::new(),
            principal: self.principal_label(call.principal),
            resource: String::new(),
            arguments: call.input,
            asked: Asked::Resource,
            caller: call.principal,
            resource_facts: Some(resource),
            shadow: None,
            budget: None,
            approval,
        };
        let outcome = tool.clone().and_then(|tool| {
            let sets = self.sets.as_ref().map_err(|e| e.clone())?;
            let (action, action_text) = sets.action_uid(ActionType::Resource, tool.tool)?;
            subject.action = action_text;
            let resource_uid = resource_uid(sets, resource)?;
            subject.resource = resource_uid.to_string();
            let (outcome, shadow) = self.cedar(sets).evaluate_beside_shadow(
                &sets.resource_slices,
                &sets.resource_shadow,
                Evaluation {
                    tool: tool.tool,
                    principal: call.principal,
                    action,
                    resource: resource_uid,
                    resource_entity: Some(resource),
                    input: call.input,
                    approval,
                },
            );
            subject.shadow = shadow;
            outcome
        });
        if subject.action.is_empty()
            && let Ok(t) = &tool
        {
            subject.action = self.action_label(ActionType::Resource, t.tool);
        }
        if subject.resource.is_empty() {
            subject.resource = resource.uid_string();
        }
        let id = Some(resource.id.clone());
        self.finish(
            Check::Resource,
            id,
            outcome,
            subject,
            call,
            started.elapsed(),
        )
    }

    /// Whether the resource check would allow this call, with `approval` when given: the
    /// question a tool asks of a call its policies deny, to tell "approval required" from
    /// "denied", the question asked before a person's answer is recorded, and replay's. Not
    /// audited: the check that decides the call is ([`Guard::check_resource_approved`]);
    /// errors count as no.
    pub fn would_allow(
        &self,
        call: &ToolCall<'_>,
        resource: &ResourceFacts,
        approval: Option<&Approval>,
    ) -> bool {
        let evaluated = (|| {
            let tool = ToolName::parse(call.tool)?;
            let sets = self.sets.as_ref().map_err(|e| e.clone())?;
            let (action, _) = sets.action_uid(ActionType::Resource, tool.tool)?;
            let resource_uid = resource_uid(sets, resource)?;
            self.cedar(sets).evaluate(
                &sets.resource_slices,
                Evaluation {
                    tool: tool.tool,
                    principal: call.principal,
                    action,
                    resource: resource_uid,
                    resource_entity: Some(resource),
                    input: call.input,
                    approval,
                },
            )
        })();
        matches!(evaluated, Ok((Reason::Permitted, _)))
    }

    /// May `principal` call `tool` at all — is there some set of arguments the gateway
    /// policies could permit? Cedar's partial evaluation with the arguments unknown: a tool is
    /// allowed here unless every possible call is denied. For callers that never see the
    /// arguments (an API Gateway authorizer); the tool's own checks then decide the arguments.
    /// Writes one audit record (a call check with no arguments).
    pub fn check_tool(
        &self,
        tool: &str,
        principal: Option<&Principal>,
        ids: &RequestIds,
    ) -> Decision {
        let started = Instant::now();
        let call = ToolCall {
            tool,
            input: &Value::Null,
            principal,
            ids,
        };
        let mut subject = self.call_subject(&call);
        subject.asked = Asked::Tool;
        let outcome = self.analyse_tool(tool, principal, &mut subject);
        self.finish(
            Check::Call,
            None,
            outcome,
            subject,
            &call,
            started.elapsed(),
        )
    }

    /// Whether some call of `tool` by `principal` could be permitted; errors count as no.
    /// Not audited: for filtering tool lists, not for deciding calls.
    pub fn may_call(&self, tool: &str, principal: Option<&Principal>) -> bool {
        let call = ToolCall {
            tool,
            input: &Value::Null,
            principal,
            ids: &RequestIds::default(),
        };
        let mut subject = self.call_subject(&call);
        matches!(
            self.analyse_tool(tool, principal, &mut subject),
            Ok((Reason::Permitted, _))
        )
    }

    /// Records a call refused before any policy was asked (a misrouted tool, a request that is
    /// not a tool call, arguments that do not parse), so that every refusal has its audit
    /// record.
    pub fn refuse(&self, call: &ToolCall<'_>, reason: impl Into<String>) -> Decision {
        self.refused(Check::Call, call, reason.into())
    }

    /// Records a resource check that could not be asked (a mutating tool whose lookup found
    /// nothing to check): refused, audited as a resource check.
    pub fn refuse_resource(&self, call: &ToolCall<'_>, reason: impl Into<String>) -> Decision {
        self.refused(Check::Resource, call, reason.into())
    }

    /// Records a budget check decided outside the guard (the counts live in a table, or a
    /// stated history, the guard cannot reach): audited and counted like the other checks,
    /// with what was counted where and what was full in the record. The mode applies to an
    /// over-budget deny as to a policy deny; an unavailable budget is an error in every mode.
    pub fn record_budget(
        &self,
        call: &ToolCall<'_>,
        resource: &ResourceFacts,
        outcome: BudgetOutcome,
        elapsed: Duration,
    ) -> Decision {
        let mut subject = self.call_subject(call);
        subject.asked = Asked::Budget;
        subject.action = match ToolName::parse(call.tool) {
            Ok(t) => self.action_label(ActionType::Resource, t.tool),
            Err(_) => String::new(),
        };
        subject.resource = resource.uid_string();
        // The resource as read, so `guard replay --budgets` can count it again: its
        // environment, its id.
        subject.resource_facts = Some(resource);
        let (evaluated, record) = match outcome {
            BudgetOutcome::Within(counted) => {
                let ids = counted.iter().map(|c| c.budget.clone()).collect();
                let record = BudgetRecord {
                    counted,
                    full: None,
                };
                (Ok((Reason::Permitted, ids)), Some(record))
            }
            BudgetOutcome::OverBudget { counted, full } => {
                let evaluated = Ok((
                    Reason::OverBudget(full.reason.clone()),
                    vec![full.count.budget.clone()],
                ));
                let record = BudgetRecord {
                    counted,
                    full: Some(full),
                };
                (evaluated, Some(record))
            }
            BudgetOutcome::Unavailable(why) => (Err(GuardError::BudgetUnavailable(why)), None),
        };
        subject.budget = record;
        let id = Some(resource.id.clone());
        self.finish(Check::Budget, id, evaluated, subject, call, elapsed)
    }

    /// Records a call the stop switch stopped (read outside the guard, like the budgets):
    /// audited and counted as a `stop` check. Stopped is a deny in every mode; a switch that
    /// could not be read is an error.
    pub fn record_stop(
        &self,
        call: &ToolCall<'_>,
        resource: Option<&ResourceFacts>,
        outcome: StopOutcome,
        elapsed: Duration,
    ) -> Decision {
        let mut subject = self.call_subject(call);
        subject.asked = Asked::Stop;
        if let Some(resource) = resource {
            subject.resource = resource.uid_string();
        }
        subject.resource_facts = resource;
        let evaluated = match outcome {
            StopOutcome::Stopped(why) => Ok((Reason::Stopped(why), Vec::new())),
            StopOutcome::Unreadable(why) => Err(GuardError::StopUnreadable(why)),
        };
        let id = resource.map(|r| r.id.clone());
        self.finish(Check::Stop, id, evaluated, subject, call, elapsed)
    }

    fn refused(&self, check: Check, call: &ToolCall<'_>, reason: String) -> Decision {
        let mut subject = self.call_subject(call);
        subject.asked = Asked::Refused;
        let outcome = Err(GuardError::Refused(reason));
        self.finish(check, None, outcome, subject, call, Duration::ZERO)
    }

    fn analyse_tool(
        &self,
        tool: &str,
        principal: Option<&Principal>,
        subject: &mut Subject<'_>,
    ) -> Evaluated {
        let sets = self.sets.as_ref().map_err(|e| e.clone())?;
        let gateway = self.gateway.as_ref().map_err(Clone::clone)?;
        let tool = ToolName::parse(tool)?;
        let (action, action_text) = sets.action_uid(ActionType::Call, tool.full)?;
        subject.action = action_text;
        self.cedar(sets).analyse_tool(
            &gateway.slices,
            Evaluation {
                tool: tool.full,
                principal,
                action,
                resource: gateway.uid.clone(),
                resource_entity: None,
                input: &Value::Null,
                approval: None,
            },
        )
    }

    fn decide_call(&self, call: &ToolCall<'_>, subject: &mut Subject<'_>) -> Evaluated {
        let sets = self.sets.as_ref().map_err(|e| e.clone())?;
        let gateway = self.gateway.as_ref().map_err(Clone::clone)?;
        let tool = ToolName::parse(call.tool)?;
        let (action, action_text) = sets.action_uid(ActionType::Call, tool.full)?;
        subject.action = action_text;
        let (outcome, shadow) = self.cedar(sets).evaluate_beside_shadow(
            &gateway.slices,
            &gateway.shadow,
            Evaluation {
                tool: tool.full,
                principal: call.principal,
                action,
                resource: gateway.uid.clone(),
                resource_entity: None,
                input: call.input,
                approval: None,
            },
        );
        subject.shadow = shadow;
        outcome
    }
}
