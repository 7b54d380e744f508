//! What a tool answers: an MCP `CallToolResult` whose text is a JSON report a person can read
//! and an agent can parse (DESIGN.md §5).

use guard::{Decision, Mode, Outcome, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorKind, ToolError};

/// The MCP `tools/call` result a Lambda target returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallToolResult {
    /// One text item holding the JSON report.
    pub content: Vec<Content>,
    /// True for tool-level failures and denials.
    #[serde(rename = "isError")]
    pub is_error: bool,
}

/// An MCP content item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
}

impl CallToolResult {
    /// The result carrying `report`.
    pub fn new(report: &Report) -> Self {
        let text = serde_json::to_string(report).unwrap_or_else(|e| {
            format!(r#"{{"status":"error","message":"the report could not be written: {e}"}}"#)
        });
        Self {
            content: vec![Content::Text { text }],
            is_error: report.status != Status::Ok,
        }
    }

    /// The report, read back from the text (tests, clients).
    pub fn report(&self) -> Option<Value> {
        self.content.iter().find_map(|c| match c {
            Content::Text { text } => serde_json::from_str(text).ok(),
        })
    }
}

/// How the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The operation ran (or, with `dry_run`, was reported).
    Ok,
    /// A check denied it; nothing was changed.
    Denied,
    /// It failed; see `error`.
    Error,
    /// The policies allow it only with a person's approval: a request was made (its id is in
    /// `result.approval`); nothing was changed.
    #[serde(rename = "approval_required")]
    ApprovalRequired,
}

/// The JSON report inside a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// How the call ended.
    pub status: Status,
    /// One sentence for a person.
    pub message: String,
    /// The tool's result, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The failure kind, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorKind>,
    /// The guard's decisions on this call.
    pub guard: GuardReport,
    /// The `SourceIdentity` the mutation was made as, when it was made in a role session as
    /// the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acting_as: Option<String>,
}

/// The checks a call went through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardReport {
    /// `ENFORCE` or `LOG_ONLY`.
    pub mode: Mode,
    /// The gateway tool name the call was checked under.
    pub tool: String,
    /// Each check, in order.
    pub checks: Vec<CheckReport>,
}

/// One check, as reported to the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// `call` or `resource`.
    pub check: guard::Check,
    /// `ALLOW` or `DENY`.
    pub decision: Verdict,
    /// `allow`, `deny`, `would_deny` or `error`.
    pub outcome: Outcome,
    /// The deciding policies.
    pub policies: Vec<String>,
    /// The decision in words.
    pub reason: String,
}

impl From<&Decision> for CheckReport {
    fn from(d: &Decision) -> Self {
        Self {
            check: d.check,
            decision: d.verdict(),
            outcome: d.outcome(),
            policies: d.policies.clone(),
            reason: d.explain(),
        }
    }
}

impl GuardReport {
    /// A report of `decisions`, taken in `mode` for `tool`.
    pub fn new(mode: Mode, tool: &str, decisions: &[Decision]) -> Self {
        Self {
            mode,
            tool: tool.to_owned(),
            checks: decisions.iter().map(CheckReport::from).collect(),
        }
    }
}

impl Report {
    /// The operation ran.
    pub fn ok(message: String, result: Value, guard: GuardReport) -> Self {
        Self {
            status: Status::Ok,
            message,
            result: Some(result),
            error: None,
            guard,
            acting_as: None,
        }
    }

    /// A check denied the call.
    pub fn denied(decision: &Decision, guard: GuardReport) -> Self {
        let what = if decision.error().is_some() {
            "refused"
        } else {
            "denied"
        };
        Self {
            status: Status::Denied,
            message: format!("{what}, nothing was changed: {}", decision.explain()),
            result: None,
            error: None,
            guard,
            acting_as: None,
        }
    }

    /// A re-check stopped the operation: `message` says what was done before, and the last
    /// check is the one that stopped it.
    pub fn stopped(message: String, guard: GuardReport) -> Self {
        Self {
            status: Status::Denied,
            message,
            result: None,
            error: Some(ErrorKind::Denied),
            guard,
            acting_as: None,
        }
    }

    /// The call waits for a person: `approval` says which request, until when, and what to do
    /// next.
    pub fn approval_required(message: String, approval: Value, guard: GuardReport) -> Self {
        Self {
            status: Status::ApprovalRequired,
            message,
            result: Some(serde_json::json!({ "approval": approval })),
            error: None,
            guard,
            acting_as: None,
        }
    }

    /// The call failed.
    pub fn error(error: &ToolError, guard: GuardReport) -> Self {
        Self {
            status: Status::Error,
            message: error.message.clone(),
            result: None,
            error: Some(error.kind),
            guard,
            acting_as: None,
        }
    }
}
