//! The budget file, `policies/budgets.json`: read, validated, and fail-closed on any error.

use std::{fmt, path::Path, time::Duration};

use serde::Deserialize;

/// The budget file's name inside a policies directory.
pub const BUDGET_FILE: &str = "budgets.json";

/// The most operations one budget may allow per window. Each allowed operation is one slot
/// item in the budget table, and a reservation may try every slot: a bound keeps a reservation
/// a handful of conditional writes.
pub const MAX_LIMIT: u32 = 50;

/// The longest window: beyond a month a budget is an approval process, not a rate.
pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 24 * 3600);

/// What a budget counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// Operations on resources of one real environment (the resource's `Environment` tag).
    Environment,
    /// Operations on one resource (one instance, one service, one log group).
    Resource,
    /// Every operation of the tool.
    All,
}

impl Per {
    /// `environment`, `resource` or `all`, as the file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::Resource => "resource",
            Self::All => "all",
        }
    }
}

impl fmt::Display for Per {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One budget: at most `limit` operations of `tool` per `window`, counted `per` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Its name in decisions, audit records and the table (`terminate-per-environment`).
    pub id: String,
    /// The tool it limits, as the gateway target's tool part (`terminate_instance`).
    pub tool: String,
    /// What is counted together.
    pub per: Per,
    /// How many operations a window allows (1 to [`MAX_LIMIT`]).
    pub limit: u32,
    /// How far back operations count (whole seconds, up to [`MAX_WINDOW`]).
    pub window: Duration,
    /// Why the budget exists, for a person reading the file or a denial.
    pub why: String,
}

impl Budget {
    /// `at most 3 `terminate_instance` per environment per 1h`.
    pub fn rule(&self) -> String {
        let per = match self.per {
            Per::All => String::new(),
            per => format!(" per {per}"),
        };
        format!(
            "at most {} `{}`{per} per {}",
            self.limit,
            self.tool,
            humantime::format_duration(self.window)
        )
    }
}

/// Why the budgets cannot be used. Any of these refuses every mutating call (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// Not JSON of the budget file's shape.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's message (unknown field, wrong type, …).
        message: String,
    },
    /// A budget whose values make no sense.
    #[error("{file}: budget `{budget}`: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The budget's id (or its position, when the id itself is the problem).
        budget: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    budgets: Vec<RawBudget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    id: String,
    tool: String,
    per: Per,
    limit: u32,
    window: String,
    #[serde(default)]
    why: String,
}

/// The validated budgets of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budgets {
    origin: String,
    budgets: Vec<Budget>,
}

impl Budgets {
    /// The budgets compiled into this binary from the repository's `policies/budgets.json`,
    /// so a deployed function always has them, versioned with its policies.
    pub fn embedded() -> Result<Self, BudgetError> {
        Self::parse(
            "embedded policies/budgets.json",
            include_str!("../../../policies/budgets.json"),
        )
    }

    /// Reads `dir/budgets.json` (a policies directory, for development and `guard test`).
    pub fn from_dir(dir: &Path) -> Result<Self, BudgetError> {
        let path = dir.join(BUDGET_FILE);
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| BudgetError::Unreadable {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&file, &text)
    }

    /// Parses and validates the text of a budget file named `file` (for messages).
    pub fn parse(file: &str, text: &str) -> Result<Self, BudgetError> {
        let raw: RawFile = serde_json::from_str(text).map_err(|e| BudgetError::Syntax {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let mut budgets: Vec<Budget> = Vec::with_capacity(raw.budgets.len());
        for (i, raw) in raw.budgets.into_iter().enumerate() {
            let budget = validate(file, i, raw)?;
            if budgets.iter().any(|b| b.id == budget.id) {
                return Err(invalid(file, &budget.id, "the id is used twice"));
            }
            budgets.push(budget);
        }
        Ok(Self {
            origin: file.to_owned(),
            budgets,
        })
    }

    /// Fails on a budget for a tool `declared` does not know: a misspelt tool would otherwise
    /// be a budget that silently never applies.
    pub fn check_tools(&self, declared: impl Fn(&str) -> bool) -> Result<(), BudgetError> {
        match self.budgets.iter().find(|b| !declared(&b.tool)) {
            Some(b) => Err(invalid(
                &self.origin,
                &b.id,
                &format!("`{}` is not a tool the policies' schema declares", b.tool),
            )),
            None => Ok(()),
        }
    }

    /// Where the budgets came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every budget, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Budget> {
        self.budgets.iter()
    }

    /// The budgets of `tool` (its tool part, `terminate_instance`), in file order.
    pub fn for_tool<'a>(&'a self, tool: &'a str) -> impl Iterator<Item = &'a Budget> + 'a {
        self.budgets.iter().filter(move |b| b.tool == tool)
    }
}

fn invalid(file: &str, budget: &str, message: &str) -> BudgetError {
    BudgetError::Invalid {
        file: file.to_owned(),
        budget: budget.to_owned(),
        message: message.to_owned(),
    }
}

fn validate(file: &str, index: usize, raw: RawBudget) -> Result<Budget, BudgetError> {
    let name_ok = |s: &str, extra: char| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == extra)
    };
    // INVARIANT: ids and tools never contain `#`, the separator of the table's keys, so one
    // budget's counts can never be read as another's.
    if !name_ok(&raw.id, '-') {
        return Err(invalid(
            file,
            &format!("#{}", index + 1),
            &format!(
                "the id `{}` must be 1 to 64 letters, digits, `-` or `_`",
                raw.id
            ),
        ));
    }
    if !name_ok(&raw.tool, '_') {
        return Err(invalid(
            file,
            &raw.id,
            &format!(
                "the tool `{}` must be a tool name such as `terminate_instance`",
                raw.tool
            ),
        ));
    }
    if raw.limit == 0 || raw.limit > MAX_LIMIT {
        return Err(invalid(
            file,
            &raw.id,
            &format!(
                "the limit is {}; it must be 1 to {MAX_LIMIT} (to forbid a tool, write a policy)",
                raw.limit
            ),
        ));
    }
    let window = humantime::parse_duration(&raw.window).map_err(|e| {
        invalid(
            file,
            &raw.id,
            &format!(
                "the window `{}` is not a duration such as `10m` or `1h`: {e}",
                raw.window
            ),
        )
    })?;
    if window.subsec_nanos() != 0 || window < Duration::from_secs(1) || window > MAX_WINDOW {
        return Err(invalid(
            file,
            &raw.id,
            &format!(
                // Said in days: humantime would say 31 days in months and hours.
                "the window `{}` must be whole seconds, from 1s to {} days",
                raw.window,
                MAX_WINDOW.as_secs() / 86_400
            ),
        ));
    }
    Ok(Budget {
        id: raw.id,
        tool: raw.tool,
        per: raw.per,
        limit: raw.limit,
        window,
        why: raw.why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(budget: &str) -> Result<Budgets, BudgetError> {
        Budgets::parse("b.json", &format!(r#"{{"budgets": [{budget}]}}"#))
    }

    #[test]
    fn the_shipped_budgets_load_with_the_documented_defaults() {
        let budgets = Budgets::embedded().unwrap();
        let rules: Vec<(String, String)> =
            budgets.iter().map(|b| (b.id.clone(), b.rule())).collect();
        assert_eq!(
            rules,
            [
                (
                    "terminate-per-environment",
                    "at most 3 `terminate_instance` per environment per 1h"
                ),
                (
                    "restart-per-service",
                    "at most 1 `restart_service` per resource per 10m"
                ),
                (
                    "restart-per-environment",
                    "at most 6 `restart_service` per environment per 1h"
                ),
                ("clean-log-groups", "at most 5 `clean_logs` per 1h"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let declared = ["terminate_instance", "restart_service", "clean_logs"];
        budgets.check_tools(|t| declared.contains(&t)).unwrap();
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let err =
            Budgets::parse("b.json", "{\n  \"budgets\": [\n    {\"id\": 3}\n  ]\n}").unwrap_err();
        assert!(matches!(err, BudgetError::Syntax { line: 3, .. }), "{err}");
        assert!(err.to_string().starts_with("b.json:3:"), "{err}");
    }

    #[test]
    fn unknown_fields_and_scopes_are_refused() {
        let typo = one(r#"{"id":"a","tool":"t","per":"all","limit":1,"window":"1h","limt":2}"#);
        assert!(
            typo.unwrap_err()
                .to_string()
                .contains("unknown field `limt`")
        );
        let scope = one(r#"{"id":"a","tool":"t","per":"session","limit":1,"window":"1h"}"#);
        assert!(
            scope
                .unwrap_err()
                .to_string()
                .contains("unknown variant `session`")
        );
    }

    #[test]
    fn nonsense_values_are_refused_with_the_budget_named() {
        for (budget, expected) in [
            (
                r#"{"id":"a","tool":"t","per":"all","limit":0,"window":"1h"}"#,
                "b.json: budget `a`: the limit is 0",
            ),
            (
                r#"{"id":"a","tool":"t","per":"all","limit":51,"window":"1h"}"#,
                "must be 1 to 50",
            ),
            (
                r#"{"id":"a","tool":"t","per":"all","limit":1,"window":"soon"}"#,
                "the window `soon` is not a duration",
            ),
            (
                r#"{"id":"a","tool":"t","per":"all","limit":1,"window":"500ms"}"#,
                "must be whole seconds",
            ),
            (
                r#"{"id":"a","tool":"t","per":"all","limit":1,"window":"90days"}"#,
                "must be whole seconds, from 1s to 31 days",
            ),
            (
                r#"{"id":"a#b","tool":"t","per":"all","limit":1,"window":"1h"}"#,
                "budget `#1`: the id `a#b`",
            ),
            (
                r#"{"id":"a","tool":"t#x","per":"all","limit":1,"window":"1h"}"#,
                "the tool `t#x`",
            ),
        ] {
            let err = one(budget).unwrap_err().to_string();
            assert!(err.contains(expected), "{budget}: {err}");
        }
        let twice = Budgets::parse(
            "b.json",
            r#"{"budgets": [{"id":"a","tool":"t","per":"all","limit":1,"window":"1h"},
                            {"id":"a","tool":"u","per":"all","limit":1,"window":"1h"}]}"#,
        );
        assert!(twice.unwrap_err().to_string().contains("used twice"));
    }

    #[test]
    fn a_budget_for_an_undeclared_tool_is_refused() {
        let budgets =
            one(r#"{"id":"a","tool":"terminate_instances","per":"all","limit":1,"window":"1h"}"#)
                .unwrap();
        let err = budgets
            .check_tools(|t| t == "terminate_instance")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`terminate_instances` is not a tool the policies' schema declares"),
            "{err}"
        );
    }
}
