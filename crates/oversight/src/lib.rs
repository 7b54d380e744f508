//! People over the guarded tools, in the budget table beside the budgets: the operators' stop
//! switch ([`StopSwitch`]), read by every mutating tool before it changes anything and set by
//! `guard stop` / `guard resume`; and approvals ([`Approvals`]): a call waiting for a person's
//! OK, bound to the exact call and the real resource, decided by `guard approve` / `guard
//! reject`, used once.
//!
//! One definition of each name the functions, the CLI and the tests share: the switch's key
//! ([`STOP_KEY`]), its attributes, how long a read is trusted ([`STOP_CACHE`]).

mod approval;
mod notify;
mod stop;

/// `GUARD_CONTROL_LOG_GROUP`: the CloudWatch Logs group the `guard` CLI writes the audit
/// record of each order to (stop, resume, approve, reject); the template's alarms read it.
pub const CONTROL_LOG_VAR: &str = "GUARD_CONTROL_LOG_GROUP";

pub use approval::{
    APPROVAL_ARGUMENT, APPROVAL_LIFETIME, APPROVER_ROLE_VAR, ApprovalError, ApprovalRequest,
    Approvals, Call, DEFAULT_APPROVER_ROLE, Status, Verdict, arn_person, bound_arguments,
    caller_person, grant, may_approve, probe, same_person, usable,
};
pub use notify::{APPROVAL_TOPIC_VAR, Notifier};
pub use stop::{STOP_CACHE, STOP_KEY, StopSwitch, Stopped, SwitchError, SwitchState};
