//! Budgets offline: a stated history of recent operations instead of the budget table, so a
//! team tests its budgets with `guard test` the way it tests its policies, and `guard replay
//! --budgets` decides recorded operations again under other budgets.

use std::time::Duration;

use guard::{BudgetOutcome, Mode, ToolName};
use serde::{Deserialize, Deserializer, de};

use crate::{
    count::{Counted, Exhausted},
    decide::{Answer, Decide},
    file::{Budgets, Per},
};

/// One earlier operation, as a case file states it:
/// `{"tool": "terminate_instance", "environment": "staging", "ago": "20m"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Past {
    /// The tool, as its tool part (`terminate_instance`) or its gateway name
    /// (`terminate-instance___terminate_instance`).
    pub tool: String,
    /// The real environment of the resource it touched (folded as the guard folds it).
    #[serde(default)]
    pub environment: Option<String>,
    /// The id of the resource it touched.
    #[serde(default)]
    pub resource: Option<String>,
    /// How long ago (`20m`, `1h 5m`).
    #[serde(deserialize_with = "duration")]
    pub ago: Duration,
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text)
        .map_err(|e| de::Error::custom(format!("`{text}` is not a duration such as `20m`: {e}")))
}

/// A history entry that can never count against any budget: a test that states it tests
/// nothing it means to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// No budget names the entry's tool.
    #[error("history entry #{entry}: no budget counts `{tool}` (budgets name {named})")]
    UncountedTool {
        /// 1-based position in the history.
        entry: usize,
        /// The tool as stated.
        tool: String,
        /// The tools the budgets name.
        named: String,
    },
    /// The entry lacks what every budget of its tool counts by.
    #[error(
        "history entry #{entry}: `{tool}` is counted {per}, so this entry needs {needs} to count"
    )]
    NoScope {
        /// 1-based position in the history.
        entry: usize,
        /// The tool.
        tool: String,
        /// How its budgets count (`per environment`, `per resource`).
        per: String,
        /// The field it lacks.
        needs: String,
    },
}

impl Past {
    /// The tool part of the stated tool.
    fn tool_part(&self) -> &str {
        ToolName::tool_part(&self.tool)
    }

    fn counts_against(&self, counted: &Counted<'_>) -> bool {
        let budget = counted.budget;
        self.tool_part() == budget.tool && self.ago < budget.window && self.in_scope(counted)
    }

    fn in_scope(&self, counted: &Counted<'_>) -> bool {
        match counted.budget.per {
            Per::Environment => self
                .environment
                .as_deref()
                .is_some_and(|e| guard::fold_tag_key(e) == counted.scope),
            Per::Resource => self.resource.as_deref() == Some(counted.scope.as_str()),
            Per::All => true,
        }
    }
}

/// Fails on an entry that can never count: a tool no budget names, or one without the
/// environment or resource every budget of its tool counts by.
pub fn check_history(budgets: &Budgets, history: &[Past]) -> Result<(), HistoryError> {
    for (i, past) in history.iter().enumerate() {
        let entry = i + 1;
        let tool = past.tool_part();
        let own: Vec<Per> = budgets.for_tool(tool).map(|b| b.per).collect();
        if own.is_empty() {
            let mut named: Vec<&str> = budgets.iter().map(|b| b.tool.as_str()).collect();
            named.dedup();
            return Err(HistoryError::UncountedTool {
                entry,
                tool: past.tool.clone(),
                named: format!("`{}`", named.join("`, `")),
            });
        }
        let counts = own.iter().any(|per| match per {
            Per::Environment => past.environment.is_some(),
            Per::Resource => past.resource.is_some(),
            Per::All => true,
        });
        if !counts {
            let needs: Vec<&str> = own
                .iter()
                .map(|per| match per {
                    Per::Environment => "`environment`",
                    _ => "`resource`",
                })
                .collect();
            return Err(HistoryError::NoScope {
                entry,
                tool: tool.to_owned(),
                per: own
                    .iter()
                    .map(|p| format!("per {p}"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                needs: needs.join(" or "),
            });
        }
    }
    Ok(())
}

/// What `history` says about one budget: room, or full until its oldest counted operation
/// leaves the window.
pub fn answer(counted: &Counted<'_>, history: &[Past]) -> Answer {
    let mut ages: Vec<Duration> = history
        .iter()
        .filter(|p| p.counts_against(counted))
        .map(|p| p.ago)
        .collect();
    let limit = usize::try_from(counted.budget.limit).unwrap_or(usize::MAX);
    if ages.len() < limit {
        return Answer::Room(None);
    }
    // Oldest first: a slot frees once enough of the oldest leave the window that fewer than
    // `limit` remain.
    ages.sort_unstable_by(|a, b| b.cmp(a));
    let frees_in = ages
        .get(ages.len() - limit)
        .map(|ago| counted.budget.window.saturating_sub(*ago));
    Answer::Full(Exhausted::new(counted, frees_in))
}

/// The budget check against `history`: the one decision ([`Decide`]), answered from it.
pub fn decide_history(counted: &[Counted<'_>], history: &[Past], mode: Mode) -> BudgetOutcome {
    let mut decide = Decide::new(counted, mode);
    while let Some(c) = decide.next() {
        decide.answer(answer(c, history));
    }
    decide.outcome()
}

#[cfg(test)]
mod tests;
