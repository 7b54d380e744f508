//! Audit records and metrics: one record per check, allowed or not (DESIGN.md §7).
//!
//! The default sink writes each record as one JSON line on stdout that is also a CloudWatch
//! Embedded Metric Format document: CloudWatch Logs keeps the record, and CloudWatch extracts
//! the `Allow` / `Deny` / `WouldDeny` / `Error` counts by `Tool` and `Check` from the same
//! line. One line per check means a record and its metric can never disagree.
//!
//! A record is **replayable**: it holds what the check was asked — the arguments, the tool,
//! the gateway, the caller where known ([`AuditRecord::caller`], as [`Principal`] serializes:
//! its claims as tags, never the bearer token), and for the resource check the resource as the
//! tool read it ([`AuditRecord::resource_facts`]) — so `guard replay` can decide it again
//! against other policies.
//!
//! **Bounded size.** The tools' parser refuses arguments over 16 KiB; a record keeps arguments
//! up to [`MAX_RECORDED_ARGUMENT_BYTES`] (16 KiB), each tag map up to [`MAX_RECORDED_TAG_BYTES`]
//! (8 KiB of keys and values, in key order) and the attributes up to
//! [`MAX_RECORDED_ATTRIBUTE_BYTES`] (4 KiB). Beyond that the part is cut (arguments and
//! attributes dropped whole, tags from the end) and named in [`AuditRecord::truncated`]; a
//! truncated record is reported as not re-decidable rather than decided on partial facts.
//! So a record stays near 40 KiB at most, far below CloudWatch Logs' 256 KiB per event.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    budget::BudgetRecord,
    caller::Principal,
    decision::{Check, Decision, Mode, Outcome, Verdict},
    request::{RequestIds, ResourceFacts},
    shadow::ShadowDecision,
};

/// The largest arguments a record keeps, as JSON text (the tools accept no more).
pub const MAX_RECORDED_ARGUMENT_BYTES: usize = 16 * 1024;
/// The most key and value bytes a record keeps of one tag map (caller claims, resource tags).
pub const MAX_RECORDED_TAG_BYTES: usize = 8 * 1024;
/// The largest resource attributes a record keeps, as JSON text.
pub const MAX_RECORDED_ATTRIBUTE_BYTES: usize = 4 * 1024;

/// What the guard asked Cedar, so a replay can ask it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Asked {
    /// The call check on these arguments ([`crate::Guard::check_call`]).
    Call,
    /// Whether the tool could be called with any arguments ([`crate::Guard::check_tool`]).
    Tool,
    /// The resource check on the resource as read ([`crate::Guard::check_resource`]).
    Resource,
    /// Nothing: the call was refused before any policy was asked ([`crate::Guard::refuse`]).
    Refused,
    /// A budget over time ([`crate::Guard::record_budget`]): decided by the history of calls,
    /// not by the policies, so a replay does not decide it again.
    Budget,
    /// The stop switch ([`crate::Guard::record_stop`]): an operator's order, not a policy, so
    /// a replay does not decide it again.
    Stop,
}

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
    /// What Cedar was asked.
    pub asked: Asked,
    /// The caller, when known, as [`Principal`] serializes (claims as tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<Principal>,
    /// The resource check's resource as the tool read it: type, id, tags, attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_facts: Option<ResourceFacts>,
    /// The parts cut to keep the record bounded (`arguments`, `caller.tags`,
    /// `resource_facts.tags`, `resource_facts.attributes`): such a record cannot be replayed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// What the shadow policies (`@mode("LOG_ONLY")`) would have decided, when any can apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowDecision>,
    /// A budget check's counts: the budgets and scopes counted, the slots taken, and the
    /// budget that was full with when it frees up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetRecord>,
    /// The person's approval the resource check was asked with (`context.approval`), so the
    /// check replays as it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::Approval>,
    /// The `Tool` metric dimension (not part of the record: it is the line's dimension).
    #[serde(skip)]
    pub metric_tool: String,
}

impl AuditRecord {
    /// The tool name metrics count under: the tool part of a declared tool, else
    /// [`crate::UNKNOWN_TOOL`].
    pub fn metric_tool(&self) -> &str {
        &self.metric_tool
    }

    pub(crate) fn new(
        decision: &Decision,
        subject: Subject<'_>,
        ids: &RequestIds,
        latency: std::time::Duration,
    ) -> Self {
        let mut truncated = Vec::new();
        let arguments = if fits(subject.arguments, MAX_RECORDED_ARGUMENT_BYTES) {
            subject.arguments.clone()
        } else {
            truncated.push("arguments".to_owned());
            Value::Null
        };
        let caller = subject.caller.map(|p| match p {
            Principal::OAuthUser { id, tags } => Principal::OAuthUser {
                id: id.clone(),
                tags: bounded_tags(tags, "caller.tags", &mut truncated),
            },
            Principal::IamEntity { .. } => p.clone(),
        });
        let resource_facts = subject.resource_facts.map(|r| ResourceFacts {
            entity_type: r.entity_type.clone(),
            id: r.id.clone(),
            tags: bounded_tags(&r.tags, "resource_facts.tags", &mut truncated),
            attributes: bounded_attributes(&r.attributes, &mut truncated),
        });
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            request_ids: ids.clone(),
            gateway: subject.gateway.map(ToOwned::to_owned),
            tool: subject.tool.to_owned(),
            metric_tool: subject.metric_tool.to_owned(),
            action: subject.action,
            principal: subject.principal,
            resource: subject.resource,
            arguments,
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
            asked: subject.asked,
            caller,
            resource_facts,
            truncated,
            shadow: subject.shadow,
            budget: subject.budget,
            approval: subject.approval.cloned(),
        }
    }

    /// Whether shadow policies would have flipped this decision.
    pub fn would_flip(&self) -> bool {
        self.shadow.as_ref().is_some_and(|s| s.would_flip)
    }
}

/// Whether `value`, as JSON text, fits in `limit` bytes (a close upper bound of its length).
fn fits(value: &Value, limit: usize) -> bool {
    let mut budget = limit;
    within(value, &mut budget)
}

/// Takes `value`'s JSON length from `budget`; false, early, once the budget is spent.
fn within(value: &Value, budget: &mut usize) -> bool {
    match value {
        Value::Null | Value::Bool(_) => spend(budget, 5),
        Value::Number(_) => spend(budget, 20),
        Value::String(s) => spend(budget, s.len() + 2),
        Value::Array(items) => {
            spend(budget, 2) && items.iter().all(|v| spend(budget, 1) && within(v, budget))
        }
        Value::Object(fields) => spend(budget, 2) && fields_within(fields, budget),
    }
}

fn fields_within(fields: &Map<String, Value>, budget: &mut usize) -> bool {
    fields
        .iter()
        .all(|(k, v)| spend(budget, k.len() + 4) && within(v, budget))
}

fn spend(budget: &mut usize, n: usize) -> bool {
    match budget.checked_sub(n) {
        Some(left) => {
            *budget = left;
            true
        }
        None => false,
    }
}

/// The tags, in key order, up to [`MAX_RECORDED_TAG_BYTES`] of keys and values.
fn bounded_tags(
    tags: &BTreeMap<String, String>,
    part: &str,
    truncated: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut budget = MAX_RECORDED_TAG_BYTES;
    let mut kept = BTreeMap::new();
    for (k, v) in tags {
        match budget.checked_sub(k.len() + v.len()) {
            Some(left) => {
                budget = left;
                kept.insert(k.clone(), v.clone());
            }
            None => {
                truncated.push(part.to_owned());
                break;
            }
        }
    }
    kept
}

/// The attributes, whole, or none when they exceed [`MAX_RECORDED_ATTRIBUTE_BYTES`].
fn bounded_attributes(
    attributes: &Map<String, Value>,
    truncated: &mut Vec<String>,
) -> Map<String, Value> {
    let mut budget = MAX_RECORDED_ATTRIBUTE_BYTES;
    if fields_within(attributes, &mut budget) {
        attributes.clone()
    } else {
        truncated.push("resource_facts.attributes".to_owned());
        Map::new()
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
    pub asked: Asked,
    pub caller: Option<&'a Principal>,
    pub resource_facts: Option<&'a ResourceFacts>,
    pub shadow: Option<ShadowDecision>,
    pub budget: Option<BudgetRecord>,
    pub approval: Option<&'a crate::Approval>,
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
                        {"Name": "WouldFlip", "Unit": "Count"},
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
            // Shadow policies (`@mode("LOG_ONLY")`) that would have flipped the decision.
            "WouldFlip": u8::from(record.would_flip()),
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
