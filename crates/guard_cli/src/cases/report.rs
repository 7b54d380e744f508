//! How results are shown: one line per case, or one JSON document for tools.

use std::fmt;

use guard::{Check, ShadowDecision};
use serde::Serialize;
use serde_json::Value;

use super::{CaseResult, Expected};

impl fmt::Display for CaseResult {
    /// `PASS <file>: <name>: expected ALLOW, got ALLOW (<why>)`, then what shadow policies
    /// would decide, where any applied.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |o: Option<Expected>| o.map_or_else(|| "-".to_owned(), |o| o.to_string());
        f.write_str(if self.passed() { "PASS " } else { "FAIL " })?;
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        write!(
            f,
            "{}: expected {}, got {}",
            self.name,
            show(self.expected),
            show(self.got),
        )?;
        if let Some(mismatch) = &self.mismatch {
            write!(f, ", but {mismatch}")?;
        }
        write!(f, " ({})", self.detail)?;
        for (check, shadow) in &self.shadow {
            write!(f, "; {}", shadow_text(*check, shadow))?;
        }
        Ok(())
    }
}

/// `shadow `p` enforcing: resource check DENY by `p` (would flip)`.
pub fn shadow_text(check: Check, shadow: &ShadowDecision) -> String {
    let quoted = |ids: &[String]| {
        ids.iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by = if shadow.determining.is_empty() {
        String::new()
    } else {
        format!(" by {}", quoted(&shadow.determining))
    };
    let flip = if shadow.would_flip {
        "would flip"
    } else {
        "no flip"
    };
    let errors = if shadow.errors.is_empty() {
        String::new()
    } else {
        format!(", error: {}", shadow.errors.join("; "))
    };
    format!(
        "shadow {} enforcing: {check} check {}{by} ({flip}{errors})",
        quoted(&shadow.policies),
        shadow.decision
    )
}

/// One result as `guard test --format json` prints it.
#[derive(Serialize)]
struct JsonResult<'a> {
    file: Option<&'a str>,
    name: &'a str,
    passed: bool,
    expected: Option<Expected>,
    got: Option<Expected>,
    check: Option<Check>,
    policies: &'a [String],
    detail: &'a str,
    mismatch: Option<&'a str>,
    shadow: Vec<JsonShadow<'a>>,
}

#[derive(Serialize)]
struct JsonShadow<'a> {
    check: Check,
    #[serde(flatten)]
    decision: &'a ShadowDecision,
}

/// `{"results": [...], "passed": N, "failed": M}`: `shown` are the results to list (all, or
/// the failed ones), `all` every result, for the counts.
pub fn json_report(shown: &[&CaseResult], all: &[CaseResult]) -> Value {
    let results: Vec<JsonResult<'_>> = shown
        .iter()
        .map(|r| JsonResult {
            file: r.file.as_deref(),
            name: &r.name,
            passed: r.passed(),
            expected: r.expected,
            got: r.got,
            check: r.check,
            policies: &r.policies,
            detail: &r.detail,
            mismatch: r.mismatch.as_deref(),
            shadow: r
                .shadow
                .iter()
                .map(|(check, decision)| JsonShadow {
                    check: *check,
                    decision,
                })
                .collect(),
        })
        .collect();
    let passed = all.iter().filter(|r| r.passed()).count();
    serde_json::json!({
        // INVARIANT: strings, numbers and enums of unit variants always serialize.
        "results": serde_json::to_value(results).unwrap_or_default(),
        "passed": passed,
        "failed": all.len() - passed,
    })
}

/// The summary line `guard test` ends with.
pub fn summary(results: &[CaseResult]) -> String {
    let passed = results.iter().filter(|r| r.passed()).count();
    format!("{passed} passed, {} failed", results.len() - passed)
}
