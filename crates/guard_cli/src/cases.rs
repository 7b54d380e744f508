//! Policy test cases: the article's format, extended, and the runner behind `guard test`.
//!
//! A case file is a JSON array of
//! `{"name", "tool": "<target>___<tool>", "params": {…}, "expected": "ALLOW"|"DENY"|"ERROR"}`
//! with optional `"principal"` (`{"type": "OAuthUser"|"IamEntity", "id", "tags"?}`),
//! `"resource"` (`{"type": <entity type>, "id", "tags"?, "attributes"?}`), `"mode"`
//! (`"LOG_ONLY"`; then `"expected"` may also be `"WOULD_DENY"`), `"denied_by"` (`"call"`,
//! `"resource"` or `"budget"`: the check that must decide) and `"policy"` (an id that must be
//! among that check's deciding policies). `"approval"` states a person's approval of the call;
//! a case without one may expect `"APPROVAL_REQUIRED"` (the resource check denies, and would
//! allow on the approval of a person in `"approver_role"`, default `agent-guard-oncall`, who is
//! not the caller). `DENY` means a decision denied; a call stopped by
//! an error (no decision could be reached) is `ERROR`, and fails a case expecting `DENY`. Without `resource` a case is a call check; with it,
//! both checks run, in the order a tool runs them, and both must allow. With `resource` and
//! `"history"` (`[{"tool", "environment"?, "resource"?, "ago": "20m"}…]`, the operations done
//! recently), the budget check runs third, against that history instead of the budget table.

use std::{fmt, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use budget::{BudgetError, BudgetSource, Budgets, Past, check_history, decide_history};
use guard::{
    BudgetOutcome, Check, Decision, Guard, GuardConfig, LoadError, Mode, PolicySources, Principal,
    RequestIds, ResourceFacts, ShadowDecision, ToolCall, ToolName,
};

mod report;
mod shadow;

pub use report::{json_report, shadow_text, summary};
pub use shadow::ShadowCapture;

/// What a case expects to happen to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Expected {
    /// The call goes through.
    Allow,
    /// The call is stopped by a decision: a policy, or a budget.
    Deny,
    /// LOG_ONLY: the policies deny, the call goes through, a would-deny is recorded.
    WouldDeny,
    /// The call is stopped because no decision could be reached (malformed input, a missing
    /// attribute, an unknown tool): an error, never a policy decision. A case expecting `DENY`
    /// fails on one, so a typo in a case cannot pass as a deny.
    Error,
    /// The resource check denies the call as it stands and would allow it on the approval of
    /// a person in the approver role who is not the caller: the tool answers *approval
    /// required* and asks one. Only for a case that states no approval.
    ApprovalRequired,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "ALLOW",
            Self::Deny => "DENY",
            Self::WouldDeny => "WOULD_DENY",
            Self::Error => "ERROR",
            Self::ApprovalRequired => "APPROVAL_REQUIRED",
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
    /// The operations done recently; when present (with `resource`), the budget check runs.
    #[serde(default)]
    pub history: Option<Vec<Past>>,
    /// A person's approval of the call, as the resource check sees it (`context.approval`):
    /// `{"approver", "approver_person", "approver_role", "caller_person"}`.
    #[serde(default)]
    pub approval: Option<guard::Approval>,
    /// The role people approve in, for `APPROVAL_REQUIRED` (the tools' `GUARD_APPROVER_ROLE`);
    /// `agent-guard-oncall` when absent.
    #[serde(default)]
    pub approver_role: Option<String>,
    /// The check that must decide the outcome (`call`, `resource` or `budget`): the one that
    /// stopped the call, or would have (`WOULD_DENY`), or failed (`ERROR`), or, for `ALLOW`,
    /// the last one asked. Without it a case could pass for another reason than the one it
    /// names.
    #[serde(default)]
    pub denied_by: Option<Check>,
    /// A policy (or budget) id that must be among the deciding ones of that check.
    #[serde(default)]
    pub policy: Option<String>,
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
    /// The case file it came from (`None` for a case run on its own).
    pub file: Option<String>,
    /// The case's name.
    pub name: String,
    /// What it expected (`None` when the case itself was malformed).
    pub expected: Option<Expected>,
    /// What happened.
    pub got: Option<Expected>,
    /// The check that decided it (see [`Case::denied_by`]).
    pub check: Option<Check>,
    /// That check's deciding policies (or budgets).
    pub policies: Vec<String>,
    /// The decisions, explained, with their determining policies.
    pub detail: String,
    /// Why the case fails although `expected` and `got` agree: another check, or other
    /// policies, decided than the case names.
    pub mismatch: Option<String>,
    /// What the shadow policies (`@mode("LOG_ONLY")`) would have decided, per check where any
    /// applied. They change no outcome; a case passes or fails on the enforced decision.
    pub shadow: Vec<(Check, ShadowDecision)>,
}

impl CaseResult {
    /// Expected and got agree, for the reason the case names.
    pub fn passed(&self) -> bool {
        self.expected.is_some() && self.expected == self.got && self.mismatch.is_none()
    }
}

/// Runs cases against one set of policies and one gateway.
pub struct CaseRunner {
    enforce: Guard,
    log_only: Guard,
    /// Where both guards audit to: how a result learns what shadow policies would decide.
    shadows: ShadowCapture,
    /// The budgets beside the policies; a case with a history fails on a broken file.
    budgets: Result<Budgets, BudgetError>,
}

impl CaseRunner {
    /// Loads the policies once per mode; fails if they do not load.
    pub fn new(sources: &PolicySources, gateway_arn: &str) -> Result<Self, LoadError> {
        let shadows = ShadowCapture::default();
        let guard = |mode| {
            let config = GuardConfig {
                mode,
                gateway_arn: Some(gateway_arn.to_owned()),
                ..GuardConfig::default()
            };
            Guard::new(sources, &config, Arc::new(shadows.clone()))
        };
        let enforce = guard(Mode::Enforce);
        if let Err(e) = enforce.policy_sets() {
            return Err(e.clone());
        }
        let budgets = budgets_beside(sources).and_then(|budgets| {
            if let Ok(sets) = enforce.policy_sets() {
                budgets.check_tools(|t| sets.declares_tool(t))?;
            }
            Ok(budgets)
        });
        Ok(Self {
            enforce,
            log_only: guard(Mode::LogOnly),
            shadows,
            budgets,
        })
    }

    /// Runs one case the way a tool would: call check, then (with a resource) resource check.
    pub fn run(&self, case: &Case) -> CaseResult {
        let guard = match case.mode.unwrap_or_default() {
            Mode::Enforce => &self.enforce,
            Mode::LogOnly => &self.log_only,
        };
        let (got, decisions) = decide_with_budgets(guard, self.budgets.as_ref(), case);
        let decided = deciding(&decisions);
        CaseResult {
            file: None,
            name: case.name.clone(),
            expected: Some(case.expected),
            got: Some(got),
            check: decided.map(|d| d.check),
            policies: decided.map(|d| d.policies.clone()).unwrap_or_default(),
            detail: decisions
                .iter()
                .map(Decision::explain)
                .collect::<Vec<_>>()
                .join("; "),
            mismatch: mismatch(case, &decisions),
            shadow: self.shadows.take(),
        }
    }

    /// Runs every case of a file's text; a malformed case or file is a failed result.
    pub fn run_file(&self, file: &str, text: &str) -> Vec<CaseResult> {
        match parse_cases(text) {
            Err(e) => vec![malformed(file, &e)],
            Ok(cases) => cases
                .into_iter()
                .map(|case| match case {
                    Ok(case) => CaseResult {
                        file: Some(file.to_owned()),
                        ..self.run(&case)
                    },
                    Err(e) => malformed(file, &e),
                })
                .collect(),
        }
    }
}

/// The budgets beside the policies `sources` came from: the compiled-in ones, or `budgets.json`
/// in the same directory (a real path). Policies given in memory have none.
fn budgets_beside(sources: &PolicySources) -> Result<Budgets, BudgetError> {
    match sources.dir() {
        Some(dir) => BudgetSource::Dir(dir.to_path_buf()).load(),
        None if sources.is_embedded() => BudgetSource::Embedded.load(),
        None => Err(BudgetError::Unreadable {
            file: format!("{} (policies given in memory)", sources.origin),
            message: "no budgets.json beside them".to_owned(),
        }),
    }
}

/// [`decide`], then — when the case states a history and both checks let the call through,
/// and it is not a dry run — the budget check against that history, as a tool runs it.
pub fn decide_with_budgets(
    guard: &Guard,
    budgets: Result<&Budgets, &BudgetError>,
    case: &Case,
) -> (Expected, Vec<Decision>) {
    let (got, mut decisions) = decide(guard, case);
    let dry_run = case.params.get("dry_run") == Some(&Value::Bool(true));
    let (Some(history), Some(resource)) = (&case.history, &case.resource) else {
        return (got, decisions);
    };
    if matches!(got, Expected::Deny | Expected::Error) || dry_run {
        return (got, decisions);
    }
    let tool = ToolName::parse(&case.tool).map_or(case.tool.as_str(), |t| t.tool);
    // The one budget decision, answered from the stated history; an entry that can never
    // count is the case's error, not a budget the case silently does not test.
    let outcome = match budgets {
        Err(e) => BudgetOutcome::Unavailable(e.to_string()),
        Ok(budgets) => match check_history(budgets, history) {
            Err(e) => BudgetOutcome::Unavailable(format!("the case's history: {e}")),
            Ok(()) => decide_history(&budgets.counted(tool, resource), history, guard.mode()),
        },
    };
    let ids = RequestIds::default();
    let call = case.call(&ids);
    decisions.push(guard.record_budget(&call, resource, outcome, Duration::ZERO));
    (outcome_of(&decisions), decisions)
}

impl Case {
    /// The tool call this case describes.
    fn call<'a>(&'a self, ids: &'a RequestIds) -> ToolCall<'a> {
        ToolCall {
            tool: &self.tool,
            input: &self.params,
            principal: self.principal.as_ref(),
            ids,
        }
    }
}

/// Runs the checks of `case` in a tool's order; returns what happened to the call and the
/// decisions taken.
pub fn decide(guard: &Guard, case: &Case) -> (Expected, Vec<Decision>) {
    let ids = RequestIds::default();
    let call = case.call(&ids);
    let mut decisions = vec![guard.check_call(&call)];
    if let (Some(resource), true) = (&case.resource, decisions.iter().all(Decision::proceeds)) {
        let decision = guard.check_resource_approved(&call, resource, case.approval.as_ref());
        let waits = !decision.proceeds()
            && decision.error().is_none()
            && case.approval.is_none()
            && case.params.get("dry_run") != Some(&Value::Bool(true))
            && guard.would_allow(&call, resource, Some(&case.probe()));
        decisions.push(decision);
        if waits {
            return (Expected::ApprovalRequired, decisions);
        }
    }
    (outcome_of(&decisions), decisions)
}

impl Case {
    /// The approval the tool asks for: some person in the approver role who is not the caller.
    fn probe(&self) -> guard::Approval {
        oversight::probe(
            self.approver_role
                .as_deref()
                .unwrap_or(oversight::DEFAULT_APPROVER_ROLE),
            &oversight::caller_person(self.principal.as_ref()),
        )
    }
}

fn outcome_of(decisions: &[Decision]) -> Expected {
    match deciding(decisions) {
        Some(d) if d.error().is_some() => Expected::Error,
        Some(d) if !d.proceeds() => Expected::Deny,
        Some(d) if d.would_deny() => Expected::WouldDeny,
        _ => Expected::Allow,
    }
}

/// The decision that decided the outcome: the one that stopped the call, else the first that
/// would have (LOG_ONLY), else the last one asked.
fn deciding(decisions: &[Decision]) -> Option<&Decision> {
    decisions
        .iter()
        .find(|d| !d.proceeds())
        .or_else(|| decisions.iter().find(|d| d.would_deny()))
        .or_else(|| decisions.last())
}

/// Why the outcome, though expected, was not decided as the case says: by another check, or
/// without the named policy among the deciding ones.
fn mismatch(case: &Case, decisions: &[Decision]) -> Option<String> {
    let decided = deciding(decisions)?;
    if let Some(check) = case.denied_by
        && decided.check != check
    {
        return Some(format!(
            "the {} check decided it, not the {check} check",
            decided.check
        ));
    }
    if let Some(policy) = &case.policy
        && !decided.policies.contains(policy)
    {
        return Some(format!(
            "`{policy}` is not among the deciding {} ({})",
            if decided.policies.is_empty() {
                "policies: none".to_owned()
            } else {
                "policies".to_owned()
            },
            decided.policies.join(", ")
        ));
    }
    None
}

fn malformed(file: &str, error: &CaseFileError) -> CaseResult {
    CaseResult {
        file: Some(file.to_owned()),
        name: match error {
            CaseFileError::NotAnArray(_) => "(the file)".to_owned(),
            CaseFileError::InvalidCase { label, .. } => label.clone(),
        },
        expected: None,
        got: None,
        check: None,
        policies: Vec::new(),
        detail: error.to_string(),
        mismatch: None,
        shadow: Vec::new(),
    }
}
