//! What people do to the tools from outside any call: stop them, resume them, approve or
//! reject a call waiting for a person. The tools read these orders (the stop switch, the
//! approval table) outside the guard, which has no AWS dependency; the guard audits what they
//! decided about a call ([`crate::Guard::record_stop`]), and [`ControlRecord`] is the audit
//! record of the order itself, written by whoever gave it (the `guard` CLI).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the stop switch said about a call it stops. A running switch stops nothing and is not
/// recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// The operators stopped the tools: who, when and why, in a sentence.
    Stopped(String),
    /// The switch could not be read: refused as an error, in every mode.
    Unreadable(String),
}

/// A person's approval of one call, as the resource check's policies see it
/// (`context.approval`): who approved and in which role, and whose call it was, so a policy can
/// say who may approve and that nobody approves their own call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved, as STS reported them (an IAM ARN).
    pub approver: String,
    /// The person behind it: a user's or role session's name, lowercased.
    pub approver_person: String,
    /// The role they approved in (the role of an assumed-role ARN; empty for an IAM user).
    pub approver_role: String,
    /// The person behind the caller (an OAuth `sub`, or an IAM caller's name), lowercased;
    /// empty when the caller is unknown.
    pub caller_person: String,
}

/// An order given to the tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlAction {
    /// `guard stop`: every mutating call refused.
    Stop,
    /// `guard resume`: the stop lifted.
    Resume,
    /// `guard approve`: a call waiting for a person may run, once.
    Approve,
    /// `guard reject`: it may not.
    Reject,
    /// A tool asked for a person's approval of a call (by: the caller).
    Request,
    /// A tool used an approval for its call, once (by: the caller).
    Use,
}

impl ControlAction {
    /// `stop`, `resume`, `approve`, `reject`, `request` or `use`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Resume => "resume",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Request => "request",
            Self::Use => "use",
        }
    }
}

/// The audit record of one order: one JSON line `{"guard_control": {…}}`, which the template's
/// metric filters count and alarm on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRecord {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// What was ordered.
    pub action: ControlAction,
    /// Who, as AWS authenticated them (an IAM ARN from STS), never as typed.
    pub by: String,
    /// Why, as the person wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The approval request decided, for approve and reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

impl ControlRecord {
    /// `action` by `by`, now.
    pub fn new(action: ControlAction, by: impl Into<String>) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            action,
            by: by.into(),
            reason: None,
            request: None,
        }
    }

    /// The record with the reason given.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The record naming approval request `id`.
    #[must_use]
    pub fn request(mut self, id: impl Into<String>) -> Self {
        self.request = Some(id.into());
        self
    }

    /// The JSON line: `{"guard_control": {…}}`. Strings are JSON-escaped, so a reason with a
    /// newline cannot forge a second record.
    pub fn line(&self) -> String {
        serde_json::json!({ "guard_control": self }).to_string()
    }

    /// A record read back from its line.
    pub fn from_line(line: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(line).ok()?;
        serde_json::from_value(value.get("guard_control")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_with_a_newline_stays_one_line_and_reads_back() {
        let record = ControlRecord::new(ControlAction::Stop, "arn:aws:iam::1:user/ops")
            .reason("incident\n{\"guard_control\":{}}");
        let line = record.line();
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(ControlRecord::from_line(&line), Some(record));
    }
}
