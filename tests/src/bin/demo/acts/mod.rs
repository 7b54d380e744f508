//! The demo's acts, one module each, played in the order [`crate::run`] lists them: each
//! prints its part and says whether what it shows held.
//!
//! - [`enforce`]: the article's sequence for real, in ENFORCE, and the final state it leaves;
//! - [`budget`]: on the same world, the runaway agent the budget over time stops;
//! - [`replay`]: the ENFORCE run's audit records against a candidate policy change;
//! - [`log_only`]: the sequence again on a fresh world, in LOG_ONLY with `dry_run`;
//! - [`caller`]: who is calling — the vouched caller acting in AWS, a replay and a forgery
//!   refused.

pub mod budget;
pub mod caller;
pub mod enforce;
pub mod log_only;
pub mod replay;
