//! Budgets offline: a stated history of recent operations instead of the budget table, so a
//! team tests its budgets with `guard test` the way it tests its policies.

use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

use crate::{
    count::{Counted, Exhausted},
    file::Per,
};

/// One earlier operation, as a case file states it:
/// `{"tool": "terminate_instance", "environment": "staging", "ago": "20m"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Past {
    /// The tool, as its tool part (`terminate_instance`) or its gateway name
    /// (`terminate-instance___terminate_instance`).
    pub tool: String,
    /// The real environment of the resource it touched.
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

impl Past {
    fn counts_against(&self, counted: &Counted<'_>) -> bool {
        let budget = counted.budget;
        guard::ToolName::tool_part(&self.tool) == budget.tool
            && self.ago < budget.window
            && match budget.per {
                Per::Environment => self
                    .environment
                    .as_deref()
                    .is_some_and(|e| guard::fold_tag_key(e) == counted.scope),
                Per::Resource => self.resource.as_deref() == Some(counted.scope.as_str()),
                Per::All => true,
            }
    }
}

/// Whether one more operation fits every budget in `counted`, given `history`: the first
/// budget it does not fit, with when its next slot frees up.
pub fn check_history(counted: &[Counted<'_>], history: &[Past]) -> Result<(), Exhausted> {
    for c in counted {
        let mut ages: Vec<Duration> = history
            .iter()
            .filter(|p| p.counts_against(c))
            .map(|p| p.ago)
            .collect();
        let limit = usize::try_from(c.budget.limit).unwrap_or(usize::MAX);
        if ages.len() >= limit {
            // Oldest first: a slot frees once enough of the oldest leave the window that
            // fewer than `limit` remain.
            ages.sort_unstable_by(|a, b| b.cmp(a));
            let frees_in = ages
                .get(ages.len() - limit)
                .map(|ago| c.budget.window.saturating_sub(*ago));
            return Err(Exhausted::new(c, frees_in));
        }
    }
    Ok(())
}

/// The budget check against `history`, decided as the functions decide it against the table:
/// within (every budget had room), or over the first budget that had none.
pub fn decide_history(counted: &[Counted<'_>], history: &[Past]) -> guard::BudgetOutcome {
    match check_history(counted, history) {
        Ok(()) => guard::BudgetOutcome::Within(counted.iter().map(|c| c.count(None)).collect()),
        Err(full) => guard::BudgetOutcome::OverBudget {
            // The budgets checked before the full one, which had room.
            counted: counted
                .iter()
                .take_while(|c| c.budget.id != full.budget || c.scope != full.scope)
                .map(|c| c.count(None))
                .collect(),
            full: full.full(),
        },
    }
}

#[cfg(test)]
mod tests {
    use guard::ResourceFacts;

    use super::*;
    use crate::file::Budgets;

    fn past(text: &str) -> Vec<Past> {
        serde_json::from_str(text).unwrap()
    }

    fn staging_instance() -> ResourceFacts {
        ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234")
            .tags([("Environment".to_owned(), "staging".to_owned())])
    }

    #[test]
    fn a_fourth_staging_termination_within_the_hour_is_over_budget() {
        let budgets = Budgets::embedded().unwrap();
        let counted = budgets.counted("terminate_instance", &staging_instance());
        let history = past(
            r#"[{"tool": "terminate_instance", "environment": "staging", "ago": "20m"},
                {"tool": "terminate-instance___terminate_instance", "environment": "Staging", "ago": "10m"},
                {"tool": "terminate_instance", "environment": "staging", "ago": "1m"}]"#,
        );
        let full = check_history(&counted, &history).unwrap_err();
        assert_eq!(full.budget, "terminate-per-environment");
        assert_eq!(full.frees_in, Some(Duration::from_secs(40 * 60)));
    }

    #[test]
    fn other_environments_older_operations_and_other_tools_do_not_count() {
        let budgets = Budgets::embedded().unwrap();
        let counted = budgets.counted("terminate_instance", &staging_instance());
        let history = past(
            r#"[{"tool": "terminate_instance", "environment": "dev", "ago": "1m"},
                {"tool": "terminate_instance", "environment": "staging", "ago": "61m"},
                {"tool": "restart_service", "environment": "staging", "ago": "1m"},
                {"tool": "terminate_instance", "environment": "staging", "ago": "5m"},
                {"tool": "terminate_instance", "environment": "staging", "ago": "6m"}]"#,
        );
        assert_eq!(check_history(&counted, &history), Ok(()));
    }

    #[test]
    fn a_per_resource_budget_counts_only_that_resource() {
        let budgets = Budgets::embedded().unwrap();
        let service = ResourceFacts::new("Guard::EcsService", "arn:svc/api")
            .tags([("Environment".to_owned(), "staging".to_owned())]);
        let counted = budgets.counted("restart_service", &service);
        let other =
            past(r#"[{"tool": "restart_service", "resource": "arn:svc/worker", "ago": "1m"}]"#);
        assert_eq!(check_history(&counted, &other), Ok(()));
        let same = past(r#"[{"tool": "restart_service", "resource": "arn:svc/api", "ago": "4m"}]"#);
        let full = check_history(&counted, &same).unwrap_err();
        assert_eq!(full.budget, "restart-per-service");
        assert_eq!(full.frees_in, Some(Duration::from_secs(6 * 60)));
    }

    #[test]
    fn a_malformed_age_is_an_error() {
        let err =
            serde_json::from_str::<Vec<Past>>(r#"[{"tool": "t", "ago": "recently"}]"#).unwrap_err();
        assert!(
            err.to_string().contains("`recently` is not a duration"),
            "{err}"
        );
    }
}
