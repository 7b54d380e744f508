//! Replaying audit records against other policies: reading them as CloudWatch Logs gives them
//! back, and deciding each check again.
//!
//! Records come in the shapes the logs take them out: the functions' own JSON lines (an EMF
//! document with the record under `guard_audit`), the JSON `aws logs filter-log-events` and
//! `get-log-events` print (`events[].message`), and a CloudWatch Logs export to S3 (one
//! `<timestamp> <message>` line per event, once unzipped). A line that is not a record (a
//! Lambda `START` line, a log message) is counted, not read; a line that holds a record that
//! cannot be read is reported as such, never dropped.

use std::{collections::BTreeMap, sync::Arc};

use serde::Deserialize;
use serde_json::Value;

use guard::{
    Asked, AuthorizerType, CallerType, Check, Decision, Guard, GuardConfig, LoadError, Mode,
    NoAudit, Outcome, PolicySources, Principal, RequestIds, ResourceFacts, ToolCall, Verdict,
};

/// The field of a log line that holds the audit record.
pub const RECORD_FIELD: &str = "guard_audit";

/// One audit record, as much of it as a replay needs. Fields a record does not have are
/// read as absent, so records written before they were replayable still read (and are
/// reported as not re-decidable).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Recorded {
    /// When the check ran.
    #[serde(default)]
    pub time: String,
    /// The request ids, as written.
    #[serde(default)]
    pub request_ids: Value,
    /// The gateway the call check was linked to.
    #[serde(default)]
    pub gateway: Option<String>,
    /// The gateway tool name.
    pub tool: String,
    /// The Cedar principal, or `unknown <type>`.
    #[serde(default)]
    pub principal: String,
    /// The arguments as checked.
    #[serde(default)]
    pub arguments: Value,
    /// Which check.
    pub check: Check,
    /// `ALLOW` or `DENY` (a LOG_ONLY would-deny is a `DENY`).
    pub decision: Verdict,
    /// What happened to the call.
    pub outcome: Outcome,
    /// The guard's mode.
    pub mode: Mode,
    /// The determining policies.
    #[serde(default)]
    pub policies: Vec<String>,
    /// What went wrong, when no decision was reached.
    #[serde(default)]
    pub errors: Vec<String>,
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
}

/// One record found in the input, or why it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Where: `file:line`, or `file:line events[i]` inside a `filter-log-events` document.
    pub at: String,
    /// The record, or why it does not read.
    pub record: Result<Recorded, String>,
}

/// What one input held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// The records, in input order.
    pub found: Vec<Found>,
    /// Lines and log events that hold no audit record.
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
                self.extract(&format!("{source}:{line}"), value);
            }
            return;
        }
        for (index, line) in text.lines().enumerate() {
            let at = format!("{source}:{}", index + 1);
            if line.trim().is_empty() {
                continue;
            }
            match json_in(line) {
                Some(Ok(value)) => self.extract(&at, value),
                Some(Err(error)) if line.contains(RECORD_FIELD) => self.found.push(Found {
                    at,
                    record: Err(format!("not valid JSON: {error}")),
                }),
                _ => self.other += 1,
            }
        }
    }

    fn extract(&mut self, at: &str, value: Value) {
        match value {
            Value::Object(mut fields) => {
                if let Some(record) = fields.remove(RECORD_FIELD) {
                    let record = serde_json::from_value(record)
                        .map_err(|e| format!("not an audit record: {e}"));
                    self.found.push(Found {
                        at: at.to_owned(),
                        record,
                    });
                } else if let Some(Value::Array(events)) = fields.remove("events") {
                    for (i, event) in events.into_iter().enumerate() {
                        self.extract(&format!("{at} events[{i}]"), event);
                    }
                } else if let Some(message) = fields
                    .remove("message")
                    .or_else(|| fields.remove("@message"))
                {
                    self.message(at, message);
                } else {
                    self.other += 1;
                }
            }
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    self.extract(&format!("{at} [{i}]"), item);
                }
            }
            _ => self.other += 1,
        }
    }

    /// A log event's message: the record line as text, or already parsed.
    fn message(&mut self, at: &str, message: Value) {
        match message {
            Value::String(text) => match json_in(&text) {
                Some(Ok(value)) => self.extract(at, value),
                Some(Err(error)) if text.contains(RECORD_FIELD) => self.found.push(Found {
                    at: at.to_owned(),
                    record: Err(format!("the message is not valid JSON: {error}")),
                }),
                _ => self.other += 1,
            },
            other => self.extract(at, other),
        }
    }
}

/// The JSON object in a line, after any prefix (an export's timestamp); `None` without one.
fn json_in(line: &str) -> Option<Result<Value, serde_json::Error>> {
    let start = line.find('{')?;
    Some(serde_json::from_str(line.get(start..)?.trim_end()))
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
            let guard = Guard::new(Ok(sources.clone()), &config, Arc::new(NoAudit));
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
            (Asked::Budget, _) => {
                return not(
                    "a budget check: decided by the history of calls, not by the policies"
                        .to_owned(),
                );
            }
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
    /// Records that could not be decided again (including unreadable ones).
    pub not_redecidable: usize,
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

    #[test]
    fn a_record_line_that_is_not_json_is_reported_and_other_lines_are_counted() {
        let mut input = Input::default();
        input.read(
            "log",
            "START RequestId: 1\n2026-01-01T00:00:00Z {\"guard_audit\": {\"tool\": \n",
        );
        assert_eq!(input.other, 1);
        assert_eq!(input.found.len(), 1);
        assert_eq!(input.found[0].at, "log:2");
        assert!(
            input.found[0]
                .record
                .as_ref()
                .unwrap_err()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn a_json_stream_names_the_line_each_value_starts_on() {
        let mut input = Input::default();
        input.read("f", "{\"a\": 1}\n\n{\"guard_audit\": {}}\n");
        assert_eq!(input.other, 1);
        assert_eq!(input.found[0].at, "f:3");
        assert!(input.found[0].record.is_err());
    }
}
