//! `guard validate`'s warnings about folding: a literal in a resource policy or an invariant
//! that the guard can never hand Cedar, so the test it is in never holds — a forbid on
//! `resource.hasTag("DoNotTouch")` validates, and never fires.

use std::{fmt, str::FromStr};

use cedar_policy::PolicySet;
use guard::{FOLDED_ATTRIBUTES, fold_name, fold_tag_key, is_folded_name, is_folded_tag_key};
use serde_json::Value;

use super::{can_match, conditions};

/// A literal folding makes dead, where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file, as the policies directory names it (`resource/protection.cedar`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What folding does to it.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: warning: {}", self.file, self.line, self.message)
    }
}

/// What was found in one policy, and the text to look for to say where.
struct Finding {
    needle: Option<String>,
    message: String,
}

/// The warnings for every policy of `files` (name, Cedar text). A file that does not parse is
/// skipped: loading it reports that.
pub fn warnings<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Warning> {
    let mut found = Vec::new();
    for (file, text) in files {
        let Ok(set) = PolicySet::from_str(text) else {
            continue;
        };
        let mut policies: Vec<_> = set.policies().collect();
        // `from_str` numbers policies in file order (`policy0`…); keep that order.
        policies.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        let mut cursor = 0;
        for policy in policies {
            let start = policy
                .annotation("id")
                .and_then(|id| text.get(cursor..)?.find(&format!("@id({})", quoted(id))))
                .map_or(cursor, |at| cursor + at);
            cursor = start;
            let Ok(json) = policy.to_json() else {
                continue;
            };
            let mut findings = Vec::new();
            conditions(&json).for_each(|c| visit(c, &mut findings));
            for finding in findings {
                let at = finding
                    .needle
                    .and_then(|needle| text.get(start..)?.find(&needle))
                    .map_or(start, |at| start + at);
                found.push(Warning {
                    file: file.to_owned(),
                    line: line_of(text, at),
                    message: finding.message,
                });
            }
        }
    }
    found
}

fn visit(expr: &Value, found: &mut Vec<Finding>) {
    match expr {
        Value::Object(fields) => {
            for (op, args) in fields {
                check(op, args, found);
                visit(args, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| visit(v, found)),
        _ => {}
    }
}

fn check(op: &str, args: &Value, found: &mut Vec<Finding>) {
    let left = args.get("left");
    let right = args.get("right");
    match op {
        "hasTag" | "getTag" if left.is_some_and(is_resource) => match right.and_then(string) {
            Some(key) if !is_folded_tag_key(key) => found.push(Finding {
                needle: Some(quoted(key)),
                message: format!(
                    "`resource.{op}({})` never sees this key: the guard folds tag keys (NFKC, \
                     trimmed, lowercased) and hands Cedar `{}`",
                    quoted(key),
                    fold_tag_key(key)
                ),
            }),
            Some(_) => {}
            None => found.push(Finding {
                needle: Some(format!("{op}(")),
                message: format!(
                    "`resource.{op}(…)` with a key computed from the request: the guard hands \
                     Cedar tag keys folded (NFKC, trimmed, lowercased), so a key folding never \
                     produces (`Environment`) is never present, and `guard prove` cannot rule \
                     such keys out"
                ),
            }),
        },
        "==" | "!=" => {
            let pairs = [(left, right), (right, left)];
            for (attr, other) in pairs.into_iter().filter_map(|(a, o)| Some((a?, o?))) {
                if let (Some(attr), Some(text)) = (folded_attribute(attr), string(other)) {
                    name_literal(attr, text, found);
                }
            }
        }
        "contains" => {
            if let (Some(set), Some(attr)) = (left, right.and_then(folded_attribute)) {
                for text in set_strings(set) {
                    name_literal(attr, text, found);
                }
            }
        }
        "like" => {
            let attr = left.and_then(folded_attribute);
            if let (Some(attr), Some(pattern)) = (attr, args.get("pattern"))
                && !can_match(pattern)
            {
                let written = pattern_text(pattern, str::to_owned);
                found.push(Finding {
                    message: format!(
                        "`resource.{attr} like {written}` never matches: the guard folds names \
                         (NFKC, lowercased) before Cedar sees them; write `{}`",
                        pattern_text(pattern, fold_name)
                    ),
                    needle: Some(written),
                });
            }
        }
        _ => {}
    }
}

fn name_literal(attr: &str, text: &str, found: &mut Vec<Finding>) {
    if is_folded_name(text) {
        return;
    }
    found.push(Finding {
        needle: Some(quoted(text)),
        message: format!(
            "`resource.{attr}` is compared with {}, which the guard never hands Cedar: it folds \
             names (NFKC, lowercased), so this is `{}` by then",
            quoted(text),
            fold_name(text)
        ),
    });
}

fn is_resource(expr: &Value) -> bool {
    expr.get("Var").and_then(Value::as_str) == Some("resource")
}

/// The folded attribute `expr` reads from the resource (`resource.name`), if it is one.
fn folded_attribute(expr: &Value) -> Option<&str> {
    let access = expr.get(".")?;
    let attr = access.get("attr")?.as_str()?;
    (access.get("left").is_some_and(is_resource) && FOLDED_ATTRIBUTES.contains(&attr))
        .then_some(attr)
}

fn string(expr: &Value) -> Option<&str> {
    expr.get("Value")?.as_str()
}

/// The string literals of a set literal (`["a", "b"]`, either JSON form).
fn set_strings(expr: &Value) -> Vec<&str> {
    let items = expr
        .get("Set")
        .or_else(|| expr.get("Value"))
        .and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(|item| string(item).or_else(|| item.as_str()))
        .collect()
}

/// A pattern as Cedar text (`"*audit*"`), its literal parts passed through `literal`.
fn pattern_text(pattern: &Value, literal: impl Fn(&str) -> String) -> String {
    let mut text = String::from("\"");
    for elem in pattern.as_array().into_iter().flatten() {
        match elem.get("Literal").and_then(Value::as_str) {
            Some(part) => text.push_str(&escape(&literal(part)).replace('*', "\\*")),
            None => text.push('*'),
        }
    }
    text.push('"');
    text
}

/// A string as a Cedar literal, quotes included (other characters as written, as a policy
/// file holds them).
fn quoted(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests;
