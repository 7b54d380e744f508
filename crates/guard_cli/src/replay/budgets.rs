//! `guard replay --budgets FILE`: the recorded operations decided again by candidate budgets,
//! in time order — the one budget decision ([`budget::Decide`]), answered from the operations
//! the candidate budgets would have let happen before each ("what would 2 terminations per
//! hour have blocked last week?").
//!
//! An operation is a budget record whose call went on; whether it then changed anything is
//! not recorded, so each counts (as the table counts it until a slot is given back): a
//! replay can only be stricter than what happened.

use std::time::SystemTime;

use budget::{Budgets, Past, UNTAGGED, decide_history, environments};
use guard::{BudgetOutcome, Mode, ToolName, Verdict};

use super::{Change, Recorded};

/// What a candidate budget decides about one recorded budget check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetFlip {
    /// How it compares with the recorded decision.
    pub change: Change,
    /// The candidate's decision in words.
    pub now: String,
}

/// Operations replayed so far, and the candidate budgets.
#[derive(Debug)]
pub struct BudgetReplay {
    budgets: Budgets,
    done: Vec<Operation>,
}

/// An operation the candidate budgets let happen.
#[derive(Debug)]
struct Operation {
    at: SystemTime,
    tool: String,
    environment: String,
    resource: String,
}

impl BudgetReplay {
    /// A replay under `budgets`, with no operation yet.
    pub fn new(budgets: Budgets) -> Self {
        Self {
            budgets,
            done: Vec::new(),
        }
    }

    /// Decides `record` (a budget check; records come in time order) again: within the
    /// candidate budgets or over one, given the operations they let happen before it. `Err`
    /// when the record lacks what counting needs.
    pub fn decide(&mut self, record: &Recorded) -> Result<BudgetFlip, String> {
        let facts = record.resource_facts.as_ref().ok_or(
            "a budget record without the resource as read (written before budgets were replayable)",
        )?;
        let at = humantime::parse_rfc3339_weak(&record.time).map_err(|e| {
            format!(
                "its time `{}` does not read: {e}",
                record.time.escape_debug()
            )
        })?;
        let tool = ToolName::tool_part(&record.tool);
        let counted = self.budgets.counted(tool, facts);
        let history = self.history(at);
        let (verdict, now) = match decide_history(&counted, &history, Mode::Enforce) {
            BudgetOutcome::Within(slots) => {
                let ids: Vec<String> = slots.iter().map(|s| format!("`{}`", s.budget)).collect();
                let now = if ids.is_empty() {
                    "no candidate budget counts it".to_owned()
                } else {
                    format!("within {}", ids.join(", "))
                };
                (Verdict::Allow, now)
            }
            BudgetOutcome::OverBudget { full, .. } => (Verdict::Deny, full.reason),
            BudgetOutcome::Unavailable(why) => (Verdict::Deny, why),
        };
        if verdict == Verdict::Allow {
            self.done.push(Operation {
                at,
                tool: tool.to_owned(),
                environment: environments(facts)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| UNTAGGED.to_owned()),
                resource: facts.id.clone(),
            });
        }
        let change = match (record.decision, verdict) {
            (Verdict::Allow, Verdict::Deny) => Change::NewlyDenied,
            (Verdict::Deny, Verdict::Allow) => Change::NewlyAllowed,
            _ => Change::Unchanged,
        };
        Ok(BudgetFlip { change, now })
    }

    /// The operations done before `at`, as a stated history seen from `at`. (A resource has
    /// one environment: one with two `Environment` keys is refused by the resource check
    /// before any budget is asked.)
    fn history(&self, at: SystemTime) -> Vec<Past> {
        self.done
            .iter()
            .filter_map(|op| {
                Some(Past {
                    tool: op.tool.clone(),
                    environment: Some(op.environment.clone()),
                    resource: Some(op.resource.clone()),
                    ago: at.duration_since(op.at).ok()?,
                })
            })
            .collect()
    }
}
