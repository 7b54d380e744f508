//! What the demo prints for each call.

use serde_json::Value;

use crate::functions::Call;

/// One line per call: the decision, the reason, the effect.
pub fn show(call: &Call, report: &Value) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let status = report.get("status").map(text).unwrap_or_default();
    let would_deny = report
        .pointer("/guard/checks")
        .and_then(Value::as_array)
        .is_some_and(|checks| checks.iter().any(|c| c["outcome"] == "would_deny"));
    let mark = match (status.as_str(), would_deny) {
        ("ok", true) => "~ WOULD DENY",
        ("ok", false) => "✓ ALLOW     ",
        ("denied", _) => "✗ DENY      ",
        _ => "! ERROR     ",
    };
    println!("{mark} {:<18} {}", call.tool.binary(), call.intent);
    println!(
        "               {}",
        report.get("message").map(text).unwrap_or_default()
    );
}
