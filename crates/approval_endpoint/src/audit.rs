//! Where the endpoint's audit lines go (the function's log: standard output), and the record
//! of each request it answered.

use std::{
    io::Write as _,
    sync::{Mutex, PoisonError},
    time::SystemTime,
};

use serde::Serialize;

/// Where audit lines are written, one JSON object per line. A write that fails is an error the
/// caller acts on: a decision whose record was not written is not made.
pub trait Journal: Send + Sync {
    /// Writes `line` (one line, no newline inside) and flushes it.
    fn write(&self, line: &str) -> std::io::Result<()>;
}

/// The function's log: Lambda sends each standard-output line to the function's log group
/// (JSON lines are kept as they are under `LogFormat: JSON`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Journal for Stdout {
    fn write(&self, line: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }
}

/// Lines kept in memory, for tests and examples.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    lines: Mutex<Vec<String>>,
}

impl MemoryJournal {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Journal for MemoryJournal {
    fn write(&self, line: &str) -> std::io::Result<()> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
        Ok(())
    }
}

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A summary was shown.
    Shown,
    /// A decision was recorded.
    Decided,
    /// The request was refused.
    Refused,
}

/// The record of one request to the endpoint: `{"approval_endpoint": {…}}`, one JSON line.
/// Every string in it is JSON-escaped, so text a caller sent cannot start a line of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointRecord {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Who asked, as AWS verified them; absent when nobody was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The HTTP method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The approval request asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// `approve` or `reject`, for a POST that got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<&'static str>,
    /// What became of it.
    pub outcome: Outcome,
    /// The HTTP status answered.
    pub status: u16,
    /// Why it was refused ([`crate::Refusal::kind`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// The message answered.
    pub message: String,
}

impl EndpointRecord {
    /// A record of `outcome` now, with nothing else known yet.
    pub fn new(outcome: Outcome, status: u16, message: impl Into<String>) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            by: None,
            method: None,
            request: None,
            decision: None,
            outcome,
            status,
            error: None,
            message: message.into(),
        }
    }

    /// The JSON line.
    pub fn line(&self) -> String {
        serde_json::json!({ "approval_endpoint": self }).to_string()
    }
}
