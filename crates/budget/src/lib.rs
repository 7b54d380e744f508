//! Budgets over time for the guarded tools (issue 12).
//!
//! Each call can look fine alone — staging, tagged, unprotected — and a runaway agent can
//! still empty an environment one allowed call at a time. A budget limits how many operations
//! of a mutating tool happen per window, counted per real environment, per resource, or in
//! all. Budgets live beside the policies (`policies/budgets.json`), are validated at load, and
//! any error refuses every mutating call (fail closed).
//!
//! This crate knows the file and what a call counts against; it has no AWS SDK. The counting
//! itself (conditional writes to DynamoDB) is the Lambda glue's (`agentcore_target::budget`);
//! [`check_history`] answers the same question from a stated history, for `guard test`.
//!
//! ```
//! use budget::{Budgets, Past, check_history};
//! use guard::ResourceFacts;
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
//! let full = check_history(&counted, &history).unwrap_err();
//! assert_eq!(full.to_string(),
//!     "budget `terminate-per-environment` is used up for environment `staging` \
//!      (at most 3 `terminate_instance` per environment per 1h); the next slot frees up in 10m");
//! ```

mod count;
mod file;
mod history;

pub use count::{Counted, ENVIRONMENT_TAG, Exhausted, UNTAGGED, environments};
pub use file::{BUDGET_FILE, Budget, BudgetError, Budgets, MAX_LIMIT, MAX_WINDOW, Per};
pub use history::{Past, check_history, decide_history};
