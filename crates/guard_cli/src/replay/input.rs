//! Reading audit records back out of what CloudWatch Logs gives: only the guard's own lines
//! are records (see the module above).

use serde::Deserialize;
use serde_json::{Map, Value};

use guard::{
    Asked, BudgetRecord, Check, Mode, Outcome, Principal, ResourceFacts, ShadowDecision, Verdict,
};

/// The field of a log line that holds the audit record.
pub const RECORD_FIELD: &str = "guard_audit";

/// The top-level fields of the guard's log line besides the record: the EMF metadata and the
/// metric values (`guard::EmfStdout`). A line with any other field is not the guard's.
const LINE_FIELDS: &[&str] = &[
    "_aws",
    "Tool",
    "Check",
    "Allow",
    "Deny",
    "WouldDeny",
    "Error",
    "WouldFlip",
];

/// One audit record, in the shape the guard writes it (no other field is accepted). Fields
/// added since records were first written are read as absent when missing, so older records
/// still read (and are reported as not re-decidable).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// When the check ran.
    pub time: String,
    /// The request ids, as written.
    #[serde(default)]
    pub request_ids: Value,
    /// The gateway the call check was linked to.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The gateway tool name.
    pub tool: String,
    /// The Cedar action.
    #[serde(default)]
    pub action: String,
    /// The Cedar principal, or `unknown <type>`.
    #[serde(default)]
    pub principal: String,
    /// The Cedar resource.
    #[serde(default)]
    pub resource: String,
    /// The arguments as checked.
    #[serde(default)]
    pub arguments: Value,
    /// Which check.
    pub check: Check,
    /// `ALLOW` or `DENY` (a LOG_ONLY would-deny is a `DENY`).
    pub decision: Verdict,
    /// What happened to the call.
    pub outcome: Outcome,
    /// Whether the decision was carried out.
    #[serde(default)]
    pub enforced: Option<bool>,
    /// The guard's mode.
    pub mode: Mode,
    /// The determining policies.
    #[serde(default)]
    pub policies: Vec<String>,
    /// What went wrong, when no decision was reached.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Time spent deciding.
    #[serde(default)]
    pub latency_us: Option<u64>,
    /// What Cedar was asked; absent in records written before they were replayable.
    #[serde(default)]
    pub asked: Option<Asked>,
    /// The caller, when known.
    #[serde(default)]
    pub caller: Option<Principal>,
    /// The resource check's resource as the tool read it.
    #[serde(default)]
    pub resource_facts: Option<ResourceFacts>,
    /// Parts cut to keep the record bounded.
    #[serde(default)]
    pub truncated: Vec<String>,
    /// What shadow policies would have decided.
    #[serde(default)]
    pub shadow: Option<ShadowDecision>,
    /// A budget check's counts.
    #[serde(default)]
    pub budget: Option<BudgetRecord>,
    /// The person's approval the resource check was asked with.
    #[serde(default)]
    pub approval: Option<guard::Approval>,
}

/// One record found in the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Where: `file:line`, or `file:line events[i]` inside a `filter-log-events` document.
    pub at: String,
    /// The record.
    pub record: Recorded,
}

/// What one input held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// The records, in input order.
    pub found: Vec<Found>,
    /// Lines and log events that are not the guard's records.
    pub other: usize,
}

impl Input {
    /// Reads the records in `text`, named `source` in positions.
    pub fn read(&mut self, source: &str, text: &str) {
        // One JSON document or a stream of them (JSON lines, `filter-log-events` output);
        // anything else is read line by line (an S3 export, text logs mixed in).
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        let mut values = Vec::new();
        let mut offset = 0;
        let whole = loop {
            match stream.next() {
                None => break true,
                Some(Ok(value)) => {
                    values.push((line_at(text, offset), value));
                    offset = stream.byte_offset();
                }
                Some(Err(_)) => break false,
            }
        };
        if whole {
            for (line, value) in values {
                self.document(&format!("{source}:{line}"), value);
            }
            return;
        }
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            self.line(&format!("{source}:{}", index + 1), line);
        }
    }

    /// A JSON document: a `filter-log-events` / `get-log-events` answer, or one log line.
    fn document(&mut self, at: &str, value: Value) {
        match value {
            Value::Object(mut fields) if is_log_events(&fields) => {
                let events = match fields.remove("events") {
                    Some(Value::Array(events)) => events,
                    _ => Vec::new(),
                };
                for (i, event) in events.into_iter().enumerate() {
                    match event.get("message").and_then(Value::as_str) {
                        Some(message) => self.line(&format!("{at} events[{i}]"), message),
                        None => self.other += 1,
                    }
                }
            }
            value => self.record_line(at, value),
        }
    }

    /// One log line as text: the guard's JSON line, possibly after an export's timestamp.
    fn line(&mut self, at: &str, line: &str) {
        let line = line.trim();
        let json = if line.starts_with('{') {
            Some(line)
        } else {
            // An S3 export: `<timestamp> <line>`; the timestamp has no space in it.
            line.split_once(' ')
                .map(|(_, rest)| rest.trim_start())
                .filter(|rest| rest.starts_with('{'))
        };
        match json.map(serde_json::from_str::<Value>) {
            Some(Ok(value)) => self.record_line(at, value),
            _ => self.other += 1,
        }
    }

    /// A parsed log line: a record only in the guard's own shape.
    fn record_line(&mut self, at: &str, value: Value) {
        match guard_record(value) {
            Some(record) => self.found.push(Found {
                at: at.to_owned(),
                record,
            }),
            None => self.other += 1,
        }
    }
}

/// The `events` of a `filter-log-events` or `get-log-events` answer.
fn is_log_events(fields: &Map<String, Value>) -> bool {
    fields.get("events").is_some_and(Value::is_array) && !fields.contains_key(RECORD_FIELD)
}

/// The record of the guard's own log line: an object holding `_aws` (an object), the record
/// under [`RECORD_FIELD`], and only the metric fields beside them; the record in the guard's
/// shape. `None` for anything else.
fn guard_record(value: Value) -> Option<Recorded> {
    let Value::Object(mut fields) = value else {
        return None;
    };
    let record = fields.remove(RECORD_FIELD)?;
    let emf = fields.get("_aws").is_some_and(Value::is_object);
    if !emf || fields.keys().any(|k| !LINE_FIELDS.contains(&k.as_str())) {
        return None;
    }
    serde_json::from_value(record).ok()
}

/// The 1-based line of the first non-blank character at or after `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    let rest = text.get(offset..).unwrap_or("");
    let skipped = rest.len() - rest.trim_start().len();
    let before = text.get(..offset + skipped).unwrap_or(text);
    before.matches('\n').count() + 1
}

#[cfg(test)]
mod tests;
