//! Budgets over time for the guarded tools: the one crate that knows what a budget is and when
//! one is full.
//!
//! Each call can look fine alone — staging, tagged, unprotected — and a runaway agent can
//! still empty an environment one allowed call at a time. A budget limits how many operations
//! of a tool happen per window, counted per real environment, per resource, or in all.
//! Budgets live beside the policies (`policies/budgets.json`), are validated at load, and any
//! error refuses every counted call (fail closed).
//!
//! - [`file`]: the budget file and where it comes from ([`BudgetSource`]);
//! - [`count`]: what a call counts against ([`Budgets::counted`]), the environment read
//!   through the guard's own key folding;
//! - [`decide`]: the one decision ([`Decide`]), answered by the table (the functions), a
//!   stated history (`guard test`) or the recorded operations (`guard replay --budgets`);
//! - [`history`]: a stated history of operations;
//! - `ledger` (feature `dynamodb`): the budget table in DynamoDB, for the functions.
//!
//! ```
//! use budget::{Budgets, Past, decide_history};
//! use guard::{BudgetOutcome, Mode, ResourceFacts};
//!
//! let budgets = Budgets::embedded().unwrap();
//! let instance = ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234")
//!     .tags([("Environment".to_owned(), "staging".to_owned())]);
//! let counted = budgets.counted("terminate_instance", &instance);
//! let history: Vec<Past> = serde_json::from_str(r#"[
//!     {"tool": "terminate_instance", "environment": "staging", "ago": "50m"},
//!     {"tool": "terminate_instance", "environment": "staging", "ago": "20m"},
//!     {"tool": "terminate_instance", "environment": "staging", "ago": "5m"}
//! ]"#).unwrap();
//! let BudgetOutcome::OverBudget { full, .. } = decide_history(&counted, &history, Mode::Enforce)
//! else { panic!("within budget") };
//! assert_eq!(full.reason,
//!     "budget `terminate-per-environment` is used up for environment `staging` \
//!      (at most 3 `terminate_instance` per environment per 1h); the next slot frees up in 10m");
//! ```

/// `BUDGET_TABLE`: the DynamoDB table the budgets are counted in, and where the stop switch and
/// approvals are kept (the functions' setting and the `guard` CLI's default).
pub const TABLE_VAR: &str = "BUDGET_TABLE";

pub mod count;
pub mod decide;
pub mod file;
pub mod history;
#[cfg(feature = "dynamodb")]
pub mod ledger;

pub use count::{Counted, ENVIRONMENT_TAG, Exhausted, UNTAGGED, environments};
pub use decide::{Answer, Decide};
pub use file::{
    BUDGET_FILE, Budget, BudgetError, BudgetSource, Budgets, MAX_LIMIT, MAX_WINDOW, Per,
};
pub use history::{HistoryError, Past, answer, check_history, decide_history};
#[cfg(feature = "dynamodb")]
pub use ledger::{BudgetLedger, LedgerError, Reservation, SingleUse};
