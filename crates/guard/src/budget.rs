//! What a budget check decided, as the guard records it. Budgets are counted outside the guard
//! (the `budget` crate: a file, a table, a stated history); the guard audits and counts the
//! decision like its own two checks, in the mode's terms.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One budget as one call counted against it: the budget, the scope it was counted in, and the
/// slot the call took (none when decided from a stated history, or when no slot was free).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetCount {
    /// The budget's id (`terminate-per-environment`).
    pub budget: String,
    /// What it counts together: `environment`, `resource` or `all`.
    pub per: String,
    /// The scope counted in: the environment (`staging`), the resource id, or `all`.
    pub scope: String,
    /// The slot taken in the budget table, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u32>,
}

/// A budget with no room left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullBudget {
    /// The budget and the scope that was full.
    #[serde(flatten)]
    pub count: BudgetCount,
    /// When its earliest slot frees up, in whole seconds from the check, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frees_in_seconds: Option<u64>,
    /// The sentence a person reads (which budget, the rule, when a slot frees up).
    pub reason: String,
}

impl FullBudget {
    /// How long until a slot frees up, when known.
    pub fn frees_in(&self) -> Option<Duration> {
        self.frees_in_seconds.map(Duration::from_secs)
    }
}

/// What a budget check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetOutcome {
    /// Every budget the call counts against had room; these are the slots it took.
    Within(Vec<BudgetCount>),
    /// A budget had no room. `counted` holds the slots taken in the others (in `LOG_ONLY` the
    /// call goes on, and is counted where there was room).
    OverBudget {
        /// The budgets that had room, and the slots taken there.
        counted: Vec<BudgetCount>,
        /// The budget that had none.
        full: FullBudget,
    },
    /// The budgets could not be checked (a broken budget file, an unreachable table): the
    /// call is refused as an error, in every mode.
    Unavailable(String),
}

/// The budget part of an audit record: what was counted where, and what was full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRecord {
    /// The budgets counted against, with the slot taken in each.
    pub counted: Vec<BudgetCount>,
    /// The budget that was full, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<FullBudget>,
}
