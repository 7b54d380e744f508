//! Replaying audit records against other policies: reading them as CloudWatch Logs gives them
//! back, and deciding each check again.
//!
//! **Only the guard's own lines are records.** A function writes each record as one JSON line
//! that is a CloudWatch Embedded Metric Format document: `_aws`, the metric values, and the
//! record under `guard_audit`, at the top level and nowhere else. Those lines are read in the
//! shapes the logs give them back: JSON lines, the JSON `aws logs filter-log-events` and
//! `get-log-events` print (each `events[].message` one such line), and a CloudWatch Logs
//! export to S3 (one `<timestamp> <line>` per event, once unzipped). Anything else — a Lambda
//! `START` line, a log message, a JSON object that merely *contains* something shaped like a
//! record (a caller's text logged inside a message), a record with a field the guard never
//! writes — is counted as "not a record" and never decided: what an agent can put into a log
//! line must not be able to pass for the guard's own record, or fail a CI gate with a forged
//! flip.

mod budgets;
mod input;

use std::{collections::BTreeMap, sync::Arc};

use guard::{
    Asked, AuthorizerType, CallerType, Check, Decision, Guard, GuardConfig, LoadError, Mode,
    NoAudit, PolicySources, RequestIds, ToolCall, Verdict,
};

pub use budgets::{BudgetFlip, BudgetReplay};
pub use input::{Found, Input, RECORD_FIELD, Recorded};

/// How a replayed check compares with the recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Allowed then, denied now.
    NewlyDenied,
    /// Denied (or would-denied) then, allowed now.
    NewlyAllowed,
    /// The same verdict.
    Unchanged,
}

/// What a candidate does to the need for a person's approval (the tools ask one for a call
/// the policies deny as it stands and would allow on an approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApprovalChange {
    /// A call that ran on a person's approval would have been allowed without one.
    NoLongerNeeded,
    /// A call allowed without one would now wait for a person.
    NowRequired,
}

/// What replaying one record gave.
#[derive(Debug, Clone)]
pub enum Replayed {
    /// Decided again.
    Decided {
        /// The new decision.
        decision: Box<Decision>,
        /// How it compares.
        change: Change,
        /// What the candidate does to the need for a person's approval, when it changes it.
        approval: Option<ApprovalChange>,
    },
    /// The record is about another gateway (or none): not this deployment's traffic.
    OtherGateway(String),
    /// The record does not hold what deciding it again needs.
    NotRedecidable(String),
    /// A budget check: decided by the history of operations, not by the policies.
    Budget,
}

/// Decides recorded checks again against one set of policies, linked to one gateway.
pub struct Replayer {
    gateway_arn: String,
    /// One guard per caller type a record may name (unknown callers are evaluated by type).
    guards: Vec<(CallerType, Guard)>,
}

impl Replayer {
    /// Loads `sources` for `gateway_arn`; fails if they do not load.
    pub fn new(sources: &PolicySources, gateway_arn: &str) -> Result<Self, LoadError> {
        let mut guards = Vec::new();
        for authorizer_type in [AuthorizerType::CustomJwt, AuthorizerType::AwsIam] {
            let caller_type = authorizer_type.caller_type();
            let config = GuardConfig {
                // Verdicts are compared, not what the mode did with them.
                mode: Mode::Enforce,
                gateway_arn: Some(gateway_arn.to_owned()),
                authorizer_type: Ok(authorizer_type),
                ..GuardConfig::default()
            };
            let guard = Guard::new(sources, &config, Arc::new(NoAudit));
            if let Err(e) = guard.policy_sets() {
                return Err(e.clone());
            }
            guards.push((caller_type, guard));
        }
        Ok(Self {
            gateway_arn: gateway_arn.to_owned(),
            guards,
        })
    }

    /// Whether the policies' schema declares `tool` (its tool part, `terminate_instance`).
    pub fn declares_tool(&self, tool: &str) -> bool {
        self.guards
            .first()
            .and_then(|(_, guard)| guard.policy_sets().ok())
            .is_some_and(|sets| sets.declares_tool(tool))
    }

    /// Decides `record` again, as the guard decided it then.
    pub fn replay(&self, record: &Recorded) -> Replayed {
        if record.gateway.as_deref() != Some(self.gateway_arn.as_str()) {
            return Replayed::OtherGateway(
                record
                    .gateway
                    .clone()
                    .unwrap_or_else(|| "no gateway".to_owned()),
            );
        }
        let not = |why: String| Replayed::NotRedecidable(why);
        let Some(asked) = record.asked else {
            return not("written before records were replayable (no `asked`)".to_owned());
        };
        if !record.truncated.is_empty() {
            return not(format!(
                "cut to stay bounded: {}",
                record.truncated.join(", ")
            ));
        }
        let caller_type = match (&record.caller, record.principal.strip_prefix("unknown ")) {
            (Some(_), _) => CallerType::OAuthUser,
            (None, Some(entity_type)) => {
                match [CallerType::OAuthUser, CallerType::IamEntity]
                    .into_iter()
                    .find(|t| t.entity_type() == entity_type)
                {
                    Some(t) => t,
                    None => return not(format!("unknown caller type `{entity_type}`")),
                }
            }
            (None, None) => {
                return not(format!("the caller `{}` is not recorded", record.principal));
            }
        };
        let Some(guard) = self
            .guards
            .iter()
            .find(|(t, _)| *t == caller_type)
            .map(|(_, g)| g)
        else {
            return not("no guard for the caller type".to_owned());
        };
        let ids = RequestIds::default();
        let call = ToolCall {
            tool: &record.tool,
            input: &record.arguments,
            principal: record.caller.as_ref(),
            ids: &ids,
        };
        let decision = match (asked, &record.resource_facts) {
            (Asked::Call, _) => guard.check_call(&call),
            (Asked::Tool, _) => guard.check_tool(&record.tool, record.caller.as_ref(), &ids),
            (Asked::Resource, Some(facts)) => {
                guard.check_resource_approved(&call, facts, record.approval.as_ref())
            }
            (Asked::Resource, None) => {
                return not("a resource check without the resource as read".to_owned());
            }
            (Asked::Budget, _) => return Replayed::Budget,
            (Asked::Stop, _) => {
                return not("decided by the stop switch, not by the policies".to_owned());
            }
            (Asked::Refused, _) => {
                return not(format!(
                    "refused before any policy was asked: {}",
                    record.errors.join("; ")
                ));
            }
        };
        let change = match (record.decision, decision.verdict()) {
            (Verdict::Allow, Verdict::Deny) => Change::NewlyDenied,
            (Verdict::Deny, Verdict::Allow) => Change::NewlyAllowed,
            _ => Change::Unchanged,
        };
        let approval = match (asked, &record.resource_facts) {
            (Asked::Resource, Some(facts)) => approval_change(guard, &call, facts, record),
            _ => None,
        };
        Replayed::Decided {
            decision: Box::new(decision),
            change,
            approval,
        }
    }
}

/// What the replayed policies do to the need for a person's approval: a call that ran on one
/// and would be allowed without; a call allowed without one that would now wait for one.
fn approval_change(
    guard: &Guard,
    call: &ToolCall<'_>,
    facts: &guard::ResourceFacts,
    record: &Recorded,
) -> Option<ApprovalChange> {
    let probe = oversight::probe(
        oversight::DEFAULT_APPROVER_ROLE,
        &oversight::caller_person(call.principal),
    );
    let allowed_without = || guard.would_allow(call, facts, None);
    let approvable = || guard.would_allow(call, facts, Some(&probe));
    match &record.approval {
        Some(_) if record.decision == Verdict::Allow && allowed_without() => {
            Some(ApprovalChange::NoLongerNeeded)
        }
        Some(_) => None,
        None if record.decision == Verdict::Allow && !allowed_without() && approvable() => {
            Some(ApprovalChange::NowRequired)
        }
        None => None,
    }
}

/// The counts of one tool and check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Decided again.
    pub replayed: usize,
    /// Allowed then, denied now.
    pub newly_denied: usize,
    /// Denied then, allowed now.
    pub newly_allowed: usize,
    /// The same verdict.
    pub unchanged: usize,
}

impl Counts {
    /// Counts one replayed check.
    pub fn add(&mut self, change: Change) {
        self.replayed += 1;
        match change {
            Change::NewlyDenied => self.newly_denied += 1,
            Change::NewlyAllowed => self.newly_allowed += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }

    /// Adds another tool's counts.
    pub fn merge(&mut self, other: Counts) {
        self.replayed += other.replayed;
        self.newly_denied += other.newly_denied;
        self.newly_allowed += other.newly_allowed;
        self.unchanged += other.unchanged;
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} replayed, {} newly denied, {} newly allowed, {} unchanged",
            self.replayed, self.newly_denied, self.newly_allowed, self.unchanged
        )
    }
}

/// Everything a replay counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// By tool and check.
    pub by_check: BTreeMap<(String, Check), Counts>,
    /// Records about other gateways, by gateway.
    pub other_gateways: BTreeMap<String, usize>,
    /// Records that could not be decided again.
    pub not_redecidable: usize,
    /// Budget checks: decided by the history of operations, which policies do not change.
    pub budget_checks: usize,
    /// Lines and events that held no record.
    pub other_lines: usize,
    /// Calls whose need for a person's approval the replayed policies change.
    pub approvals: BTreeMap<ApprovalChange, usize>,
}

impl Summary {
    /// All tools and checks together.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for counts in self.by_check.values() {
            total.merge(*counts);
        }
        total
    }

    /// Records read but not decided again.
    pub fn not_replayed(&self) -> usize {
        self.other_gateways.values().sum::<usize>() + self.not_redecidable
    }
}
