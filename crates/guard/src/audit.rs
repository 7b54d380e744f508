//! Audit records and metrics: one record per check, allowed or not (DESIGN.md §7).
//!
//! The default sink writes each record as one JSON line on stdout that is also a CloudWatch
//! Embedded Metric Format document: CloudWatch Logs keeps the record, and CloudWatch extracts
//! the `Allow` / `Deny` / `WouldDeny` / `Error` counts by `Tool` and `Check` from the same
//! line. One line per check means a record and its metric can never disagree.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use serde::Serialize;
use serde_json::Value;

use crate::{
    decision::{Check, Decision, Mode, Outcome, Verdict},
    request::RequestIds,
};

/// The CloudWatch namespace of the guard's metrics unless `GUARD_METRICS_NAMESPACE` says
/// otherwise.
pub const DEFAULT_METRICS_NAMESPACE: &str = "AgentGuard";

/// One check, as it is audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// When the check ran (RFC 3339, UTC).
    pub time: String,
    /// Lambda, AgentCore and MCP request ids.
    pub request_ids: RequestIds,
    /// The gateway the call check is linked to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The tool name as given (`<target>___<tool>`).
    pub tool: String,
    /// The Cedar action.
    pub action: String,
    /// The Cedar principal, or `unknown <type>` when the caller is not known.
    pub principal: String,
    /// The Cedar resource: the gateway for the call check, the real resource for the other.
    pub resource: String,
    /// The tool's arguments as given.
    pub arguments: Value,
    /// `call` or `resource`.
    pub check: Check,
    /// `ALLOW` or `DENY` (errors deny).
    pub decision: Verdict,
    /// `allow`, `deny`, `would_deny` or `error`.
    pub outcome: Outcome,
    /// Whether the decision was carried out (false only for a LOG_ONLY would-deny).
    pub enforced: bool,
    /// `ENFORCE` or `LOG_ONLY`.
    pub mode: Mode,
    /// The determining policies.
    pub policies: Vec<String>,
    /// What went wrong, when no decision could be reached.
    pub errors: Vec<String>,
    /// Time spent deciding, microseconds.
    pub latency_us: u64,
    /// The `Tool` metric dimension (not part of the record: it is the line's dimension).
    #[serde(skip)]
    pub metric_tool: String,
}

/// The metric dimension of a tool the schema does not declare: a caller's made-up names must
/// not create (paid) metrics.
pub const UNKNOWN_TOOL: &str = "unknown";

impl AuditRecord {
    /// The tool name metrics count under: the tool part of a declared tool, else
    /// [`UNKNOWN_TOOL`].
    pub fn metric_tool(&self) -> &str {
        &self.metric_tool
    }

    pub(crate) fn new(
        decision: &Decision,
        subject: Subject<'_>,
        ids: &RequestIds,
        latency: std::time::Duration,
    ) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_ids: ids.clone(),
            gateway: subject.gateway.map(ToOwned::to_owned),
            tool: subject.tool.to_owned(),
            metric_tool: subject.metric_tool.to_owned(),
            action: subject.action,
            principal: subject.principal,
            resource: subject.resource,
            arguments: subject.arguments.clone(),
            check: decision.check,
            decision: decision.verdict(),
            outcome: decision.outcome(),
            enforced: decision.enforced(),
            mode: decision.mode,
            policies: decision.policies.clone(),
            errors: decision
                .error()
                .map(ToString::to_string)
                .into_iter()
                .collect(),
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

/// What a record is about, gathered by the guard while it decides.
pub(crate) struct Subject<'a> {
    pub gateway: Option<&'a str>,
    pub tool: &'a str,
    pub metric_tool: &'a str,
    pub action: String,
    pub principal: String,
    pub resource: String,
    pub arguments: &'a Value,
}

/// Where audit records go.
pub trait AuditSink: Send + Sync {
    /// Records one check.
    fn record(&self, record: &AuditRecord);
}

/// Writes each record to stdout as one JSON line that is also an EMF metrics document.
#[derive(Debug, Clone)]
pub struct EmfStdout {
    namespace: String,
}

impl EmfStdout {
    /// Metrics go to CloudWatch namespace `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
        }
    }

    /// The JSON line for one record.
    pub fn line(&self, record: &AuditRecord) -> Value {
        let count = |outcome: Outcome| u8::from(record.outcome == outcome);
        let timestamp_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    // By tool for the dashboard; by check alone for the deny-spike alarm
                    // (alarms cannot search across tools).
                    "Dimensions": [["Tool", "Check"], ["Check"]],
                    "Metrics": [
                        {"Name": "Allow", "Unit": "Count"},
                        {"Name": "Deny", "Unit": "Count"},
                        {"Name": "WouldDeny", "Unit": "Count"},
                        {"Name": "Error", "Unit": "Count"},
                    ],
                }],
            },
            "Tool": record.metric_tool(),
            "Check": record.check.as_str(),
            // Deny counts every blocked call: policy denies and errors alike.
            "Allow": count(Outcome::Allow),
            "Deny": u8::from(!record.outcome.proceeds()),
            "WouldDeny": count(Outcome::WouldDeny),
            "Error": count(Outcome::Error),
            "guard_audit": record,
        })
    }
}

impl Default for EmfStdout {
    fn default() -> Self {
        Self::new(DEFAULT_METRICS_NAMESPACE)
    }
}

impl AuditSink for EmfStdout {
    fn record(&self, record: &AuditRecord) {
        let mut out = std::io::stdout().lock();
        // A record that cannot be written must not change the decision; stdout is the
        // Lambda log stream, and a failure there is reported by Lambda itself.
        let _ = writeln!(out, "{}", self.line(record));
    }
}

/// Keeps records in memory (tests, the CLI).
#[derive(Debug, Clone, Default)]
pub struct MemoryAudit {
    records: Arc<Mutex<Vec<AuditRecord>>>,
}

impl MemoryAudit {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl AuditSink for MemoryAudit {
    fn record(&self, record: &AuditRecord) {
        match self.records.lock() {
            Ok(mut r) => r.push(record.clone()),
            Err(poisoned) => poisoned.into_inner().push(record.clone()),
        }
    }
}

/// Discards records (benchmarks).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _record: &AuditRecord) {}
}
