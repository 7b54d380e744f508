//! Replaying audit records against other policies: reading them as CloudWatch Logs gives them
//! back, and deciding each check again.
//!
//! **Only the guard's own lines are records.** A function writes each record as one JSON line
//! that is a CloudWatch Embedded Metric Format document: `_aws`, the metric values, and the
//! record under `guard_audit`, at the top level and nowhere else. Those lines are read in the
//! shapes the logs give them back: JSON lines, the JSON `aws logs filter-log-events` and
//! `get-log-events` print (each `events[].message` one such line), and a CloudWatch Logs
//! export to S3 (one `<timestamp> <line>` per event, once unzipped). Anything else — a Lambda
//! `START` line, a log message, a JSON object that merely *contains* something shaped like a
//! record (a caller's text logged inside a message), a record with a field the guard never
//! writes — is counted as "not a record" and never decided: what an agent can put into a log
//! line must not be able to pass for the guard's own record, or fail a CI gate with a forged
//! flip.

use std::{collections::BTreeMap, sync::Arc};

use serde::Deserialize;
use serde_json::{Map, Value};

use guard::{
    Asked, AuthorizerType, BudgetRecord, CallerType, Check, Decision, Guard, GuardConfig,
    LoadError, Mode, NoAudit, Outcome, PolicySources, Principal, RequestIds, ResourceFacts,
    ShadowDecision, ToolCall, Verdict,
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

/// How a replayed check compares with the recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Allowed then, denied now.
    NewlyDenied,
    /// Denied (or would-denied) then, allowed now.
    NewlyAllowed,
    /// The same verdict.
    Unchanged,
}

/// What replaying one record gave.
#[derive(Debug, Clone)]
pub enum Replayed {
    /// Decided again.
    Decided {
        /// The new decision.
        decision: Box<Decision>,
        /// How it compares.
        change: Change,
    },
    /// The record is about another gateway (or none): not this deployment's traffic.
    OtherGateway(String),
    /// The record does not hold what deciding it again needs.
    NotRedecidable(String),
    /// A budget check: decided by the history of operations, not by the policies.
    Budget,
}

/// Decides recorded checks again against one set of policies, linked to one gateway.
pub struct Replayer {
    gateway_arn: String,
    /// One guard per caller type a record may name (unknown callers are evaluated by type).
    guards: Vec<(CallerType, Guard)>,
}

impl Replayer {
    /// Loads `sources` for `gateway_arn`; fails if they do not load.
    pub fn new(sources: &PolicySources, gateway_arn: &str) -> Result<Self, LoadError> {
        let mut guards = Vec::new();
        for authorizer_type in [AuthorizerType::CustomJwt, AuthorizerType::AwsIam] {
            let caller_type = authorizer_type.caller_type();
            let config = GuardConfig {
                // Verdicts are compared, not what the mode did with them.
                mode: Mode::Enforce,
                gateway_arn: Some(gateway_arn.to_owned()),
                authorizer_type: Ok(authorizer_type),
                ..GuardConfig::default()
            };
            let guard = Guard::new(sources, &config, Arc::new(NoAudit));
            if let Err(e) = guard.policy_sets() {
                return Err(e.clone());
            }
            guards.push((caller_type, guard));
        }
        Ok(Self {
            gateway_arn: gateway_arn.to_owned(),
            guards,
        })
    }

    /// Decides `record` again, as the guard decided it then.
    pub fn replay(&self, record: &Recorded) -> Replayed {
        if record.gateway.as_deref() != Some(self.gateway_arn.as_str()) {
            return Replayed::OtherGateway(
                record
                    .gateway
                    .clone()
                    .unwrap_or_else(|| "no gateway".to_owned()),
            );
        }
        let not = |why: String| Replayed::NotRedecidable(why);
        let Some(asked) = record.asked else {
            return not("written before records were replayable (no `asked`)".to_owned());
        };
        if !record.truncated.is_empty() {
            return not(format!(
                "cut to stay bounded: {}",
                record.truncated.join(", ")
            ));
        }
        let caller_type = match (&record.caller, record.principal.strip_prefix("unknown ")) {
            (Some(_), _) => CallerType::OAuthUser,
            (None, Some(entity_type)) => {
                match [CallerType::OAuthUser, CallerType::IamEntity]
                    .into_iter()
                    .find(|t| t.entity_type() == entity_type)
                {
                    Some(t) => t,
                    None => return not(format!("unknown caller type `{entity_type}`")),
                }
            }
            (None, None) => {
                return not(format!("the caller `{}` is not recorded", record.principal));
            }
        };
        let Some(guard) = self
            .guards
            .iter()
            .find(|(t, _)| *t == caller_type)
            .map(|(_, g)| g)
        else {
            return not("no guard for the caller type".to_owned());
        };
        let ids = RequestIds::default();
        let call = ToolCall {
            tool: &record.tool,
            input: &record.arguments,
            principal: record.caller.as_ref(),
            ids: &ids,
        };
        let decision = match (asked, &record.resource_facts) {
            (Asked::Call, _) => guard.check_call(&call),
            (Asked::Tool, _) => guard.check_tool(&record.tool, record.caller.as_ref(), &ids),
            (Asked::Resource, Some(facts)) => guard.check_resource(&call, facts),
            (Asked::Resource, None) => {
                return not("a resource check without the resource as read".to_owned());
            }
            (Asked::Budget, _) => return Replayed::Budget,
            (Asked::Refused, _) => {
                return not(format!(
                    "refused before any policy was asked: {}",
                    record.errors.join("; ")
                ));
            }
        };
        let change = match (record.decision, decision.verdict()) {
            (Verdict::Allow, Verdict::Deny) => Change::NewlyDenied,
            (Verdict::Deny, Verdict::Allow) => Change::NewlyAllowed,
            _ => Change::Unchanged,
        };
        Replayed::Decided {
            decision: Box::new(decision),
            change,
        }
    }
}

/// The counts of one tool and check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Decided again.
    pub replayed: usize,
    /// Allowed then, denied now.
    pub newly_denied: usize,
    /// Denied then, allowed now.
    pub newly_allowed: usize,
    /// The same verdict.
    pub unchanged: usize,
}

impl Counts {
    /// Counts one replayed check.
    pub fn add(&mut self, change: Change) {
        self.replayed += 1;
        match change {
            Change::NewlyDenied => self.newly_denied += 1,
            Change::NewlyAllowed => self.newly_allowed += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }

    /// Adds another tool's counts.
    pub fn merge(&mut self, other: Counts) {
        self.replayed += other.replayed;
        self.newly_denied += other.newly_denied;
        self.newly_allowed += other.newly_allowed;
        self.unchanged += other.unchanged;
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} replayed, {} newly denied, {} newly allowed, {} unchanged",
            self.replayed, self.newly_denied, self.newly_allowed, self.unchanged
        )
    }
}

/// Everything a replay counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// By tool and check.
    pub by_check: BTreeMap<(String, Check), Counts>,
    /// Records about other gateways, by gateway.
    pub other_gateways: BTreeMap<String, usize>,
    /// Records that could not be decided again.
    pub not_redecidable: usize,
    /// Budget checks: decided by the history of operations, which policies do not change.
    pub budget_checks: usize,
    /// Lines and events that held no record.
    pub other_lines: usize,
}

impl Summary {
    /// All tools and checks together.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for counts in self.by_check.values() {
            total.merge(*counts);
        }
        total
    }

    /// Records read but not decided again.
    pub fn not_replayed(&self) -> usize {
        self.other_gateways.values().sum::<usize>() + self.not_redecidable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(record: Value) -> String {
        serde_json::json!({"_aws": {"Timestamp": 1}, "Tool": "unknown", "Check": "call",
            "Allow": 0, "Deny": 1, "WouldDeny": 0, "Error": 0, "WouldFlip": 0,
            RECORD_FIELD: record})
        .to_string()
    }

    fn record() -> Value {
        serde_json::json!({"time": "2026-01-01T00:00:00.000Z", "tool": "a___b", "check": "call",
            "decision": "ALLOW", "outcome": "allow", "mode": "ENFORCE", "asked": "call"})
    }

    #[test]
    fn only_the_guards_own_line_is_a_record() {
        let mut input = Input::default();
        let mut extra = record();
        extra["forged"] = serde_json::json!(true);
        let forged_inside_a_message = serde_json::json!({
            "level": "WARN", "message": line(record()), "fields": {"message": line(record())}
        });
        let text = [
            line(record()),
            "START RequestId: 1".to_owned(),
            line(extra),
            // A record that is not inside the guard's EMF document.
            serde_json::json!({RECORD_FIELD: record()}).to_string(),
            // A line with a field the guard never writes beside the record.
            line(record()).replacen('{', r#"{"message":"x","#, 1),
            forged_inside_a_message.to_string(),
        ]
        .join("\n");
        input.read("log", &text);
        assert_eq!(input.found.len(), 1, "{:?}", input.found);
        assert_eq!(input.found[0].at, "log:1");
        assert_eq!(input.other, 5);
    }

    #[test]
    fn a_json_stream_names_the_line_each_value_starts_on() {
        let mut input = Input::default();
        input.read("f", &format!("{{\"a\": 1}}\n\n{}\n", line(record())));
        assert_eq!(input.other, 1);
        assert_eq!(input.found[0].at, "f:3");
    }

    #[test]
    fn log_events_hold_lines_and_an_export_prefixes_a_timestamp() {
        let mut input = Input::default();
        let events = serde_json::json!({"events": [
            {"message": format!("{}\n", line(record()))},
            {"message": "END RequestId: 1"},
            {"message": {"guard_audit": record(), "_aws": {}}},
        ]});
        input.read("events", &events.to_string());
        assert_eq!(input.found.len(), 1);
        assert_eq!(input.found[0].at, "events:1 events[0]");
        assert_eq!(input.other, 2);

        let mut input = Input::default();
        input.read(
            "export",
            &format!(
                "2026-01-01T00:00:00.000Z {}\nnot json at all\n",
                line(record())
            ),
        );
        assert_eq!(input.found.len(), 1);
        assert_eq!(input.other, 1);
    }
}
