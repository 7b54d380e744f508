//! Policy test cases: the article's format, extended, and the runner behind `guard test`.
//!
//! A case file is a JSON array of
//! `{"name", "tool": "<target>___<tool>", "params": {…}, "expected": "ALLOW"|"DENY"}` with
//! optional `"principal"` (`{"type": "OAuthUser"|"IamEntity", "id", "tags"?}`), `"resource"`
//! (`{"type": <entity type>, "id", "tags"?, "attributes"?}`) and `"mode"` (`"LOG_ONLY"`; then
//! `"expected"` may also be `"WOULD_DENY"`). Without `resource` a case is a call check; with it,
//! both checks run, in the order a tool runs them, and both must allow.

use std::{fmt, sync::Arc};

use serde::Deserialize;
use serde_json::Value;

use guard::{
    Decision, Guard, GuardConfig, LoadError, Mode, NoAudit, PolicySources, Principal, RequestIds,
    ResourceFacts, ToolCall,
};

/// What a case expects to happen to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Expected {
    /// The call goes through.
    Allow,
    /// The call is stopped.
    Deny,
    /// LOG_ONLY: the policies deny, the call goes through, a would-deny is recorded.
    WouldDeny,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "ALLOW",
            Self::Deny => "DENY",
            Self::WouldDeny => "WOULD_DENY",
        })
    }
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case is about.
    pub name: String,
    /// The gateway tool name.
    pub tool: String,
    /// The tool's arguments.
    pub params: Value,
    /// What should happen.
    pub expected: Expected,
    /// The caller; unknown when absent (as in a tool Lambda).
    #[serde(default)]
    pub principal: Option<Principal>,
    /// The real resource; when present the resource check runs too.
    #[serde(default)]
    pub resource: Option<ResourceFacts>,
    /// The guard mode; ENFORCE when absent.
    #[serde(default)]
    pub mode: Option<Mode>,
}

/// What is wrong with a case file or one of its cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseFileError {
    /// The file is not a JSON array.
    #[error("not a JSON array of cases: {0}")]
    NotAnArray(String),
    /// One case does not have the case shape.
    #[error("invalid case {label}: {message}")]
    InvalidCase {
        /// The case's name in backticks, or its position.
        label: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads a case file: a JSON array whose elements are read one by one, so one malformed case
/// fails alone.
pub fn parse_cases(text: &str) -> Result<Vec<Result<Case, CaseFileError>>, CaseFileError> {
    let items: Vec<Value> =
        serde_json::from_str(text).map_err(|e| CaseFileError::NotAnArray(e.to_string()))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let label = item
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("case #{}", i + 1), |n| format!("`{n}`"));
            serde_json::from_value(item).map_err(|e| CaseFileError::InvalidCase {
                label,
                message: e.to_string(),
            })
        })
        .collect())
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// What it expected (`None` when the case itself was malformed).
    pub expected: Option<Expected>,
    /// What happened.
    pub got: Option<Expected>,
    /// The decisions, explained, with their determining policies.
    pub detail: String,
}

impl CaseResult {
    /// Expected and got agree.
    pub fn passed(&self) -> bool {
        self.expected.is_some() && self.expected == self.got
    }
}

impl fmt::Display for CaseResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |o: Option<Expected>| o.map_or_else(|| "-".to_owned(), |o| o.to_string());
        write!(
            f,
            "{} {}: expected {}, got {} ({})",
            if self.passed() { "PASS" } else { "FAIL" },
            self.name,
            show(self.expected),
            show(self.got),
            self.detail
        )
    }
}

/// Runs cases against one set of policies and one gateway.
pub struct CaseRunner {
    enforce: Guard,
    log_only: Guard,
}

impl CaseRunner {
    /// Loads the policies once per mode; fails if they do not load.
    pub fn new(sources: &PolicySources, gateway_arn: &str) -> Result<Self, LoadError> {
        let guard = |mode| {
            let config = GuardConfig {
                mode,
                gateway_arn: Some(gateway_arn.to_owned()),
                ..GuardConfig::default()
            };
            Guard::new(Ok(sources.clone()), &config, Arc::new(NoAudit))
        };
        let enforce = guard(Mode::Enforce);
        if let Err(e) = enforce.policy_sets() {
            return Err(e.clone());
        }
        Ok(Self {
            enforce,
            log_only: guard(Mode::LogOnly),
        })
    }

    /// Runs one case the way a tool would: call check, then (with a resource) resource check.
    pub fn run(&self, case: &Case) -> CaseResult {
        let guard = match case.mode.unwrap_or_default() {
            Mode::Enforce => &self.enforce,
            Mode::LogOnly => &self.log_only,
        };
        let (got, decisions) = decide(guard, case);
        CaseResult {
            name: case.name.clone(),
            expected: Some(case.expected),
            got: Some(got),
            detail: decisions
                .iter()
                .map(Decision::explain)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// Runs every case of a file's text; a malformed case or file is a failed result.
    pub fn run_file(&self, file: &str, text: &str) -> Vec<CaseResult> {
        match parse_cases(text) {
            Err(e) => vec![malformed(file, &e)],
            Ok(cases) => cases
                .into_iter()
                .map(|case| match case {
                    Ok(case) => self.run(&case),
                    Err(e) => malformed(file, &e),
                })
                .collect(),
        }
    }
}

/// Runs the checks of `case` in a tool's order; returns what happened to the call and the
/// decisions taken.
pub fn decide(guard: &Guard, case: &Case) -> (Expected, Vec<Decision>) {
    let ids = RequestIds::default();
    let call = ToolCall {
        tool: &case.tool,
        input: &case.params,
        principal: case.principal.as_ref(),
        ids: &ids,
    };
    let mut decisions = vec![guard.check_call(&call)];
    if let (Some(resource), true) = (&case.resource, decisions.iter().all(Decision::proceeds)) {
        decisions.push(guard.check_resource(&call, resource));
    }
    let got = if !decisions.iter().all(Decision::proceeds) {
        Expected::Deny
    } else if decisions.iter().any(Decision::would_deny) {
        Expected::WouldDeny
    } else {
        Expected::Allow
    };
    (got, decisions)
}

fn malformed(file: &str, error: &CaseFileError) -> CaseResult {
    CaseResult {
        name: file.to_owned(),
        expected: None,
        got: None,
        detail: error.to_string(),
    }
}

/// The summary line `guard test` ends with.
pub fn summary(results: &[CaseResult]) -> String {
    let passed = results.iter().filter(|r| r.passed()).count();
    format!("{passed} passed, {} failed", results.len() - passed)
}
