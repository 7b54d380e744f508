//! The budget file, `policies/budgets.json`: read, validated, and fail-closed on any error.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

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

/// Where the budgets come from: compiled in, or a policies directory (a real path, never a
/// name shown in messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetSource {
    /// The repository's `policies/budgets.json`, compiled into this binary.
    Embedded,
    /// `budgets.json` in this policies directory.
    Dir(PathBuf),
}

impl BudgetSource {
    /// The budgets beside the policies of `dir`, or the compiled-in ones without one.
    pub fn beside(dir: Option<&Path>) -> Self {
        dir.map_or(Self::Embedded, |d| Self::Dir(d.to_path_buf()))
    }

    /// Reads and validates the budgets.
    pub fn load(&self) -> Result<Budgets, BudgetError> {
        match self {
            Self::Embedded => Budgets::embedded(),
            Self::Dir(dir) => Budgets::from_dir(dir),
        }
    }
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
mod tests;
