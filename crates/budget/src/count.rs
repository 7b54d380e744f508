//! What one call counts against: each of its tool's budgets, scoped by the real resource.

use std::{fmt, time::Duration};

use guard::{BudgetCount, FullBudget, ResourceFacts, fold_tag_key};

use crate::file::{Budget, Budgets, Per};

/// The tag the environment is read from, as the resource policies read it: after the guard's
/// own key folding ([`guard::fold_tag_key`]), so `Environment`, `ENVIRONMENT`, `Environment `
/// and `ＥＮＶＩＲＯＮＭＥＮＴ` are all this key, for the policies and the budgets alike.
pub const ENVIRONMENT_TAG: &str = "environment";

/// The scope of a resource that carries no `Environment` tag: such resources are counted
/// together, never left uncounted.
pub const UNTAGGED: &str = "(untagged)";

/// One budget as it applies to one call: the budget and the scope it is counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted<'a> {
    /// The budget.
    pub budget: &'a Budget,
    /// The environment, the resource id, or `all`.
    pub scope: String,
}

impl Counted<'_> {
    /// The counter's key: `<tool>#<budget>#<scope>`.
    ///
    /// INVARIANT: the key starts with the tool name and `#`, so an IAM condition on the
    /// table's leading keys (`terminate_instance#*`) confines each function to its own
    /// tool's counters; tools and ids never contain `#` (validated at load).
    pub fn key(&self) -> String {
        format!("{}#{}#{}", self.budget.tool, self.budget.id, self.scope)
    }

    /// As an audit record says it, with the slot taken (if any).
    pub fn count(&self, slot: Option<u32>) -> BudgetCount {
        BudgetCount {
            budget: self.budget.id.clone(),
            per: self.budget.per.as_str().to_owned(),
            scope: self.scope.clone(),
            slot,
        }
    }
}

impl Budgets {
    /// Every budget `tool` counts against when it touches `resource`, in file order. A
    /// per-environment budget applies once per distinct environment the resource is tagged
    /// with: a resource tagged twice (`Environment`, `environment`) counts against both, which
    /// can only make a budget stricter.
    pub fn counted<'a>(&'a self, tool: &'a str, resource: &ResourceFacts) -> Vec<Counted<'a>> {
        let mut counted = Vec::new();
        for budget in self.for_tool(tool) {
            let scopes = match budget.per {
                Per::Environment => environments(resource),
                Per::Resource => vec![resource.id.clone()],
                Per::All => vec![Per::All.as_str().to_owned()],
            };
            counted.extend(scopes.into_iter().map(|scope| Counted { budget, scope }));
        }
        counted
    }
}

/// The resource's real environments: the value of every tag whose key folds to
/// [`ENVIRONMENT_TAG`] (as the resource check reads it), folded the same way, so that
/// `Staging` and `staging` count together; [`UNTAGGED`] when there is none. (A resource with
/// two such keys is refused by the resource check before any budget is asked; were it counted,
/// it would count against each, which can only make a budget stricter.)
pub fn environments(resource: &ResourceFacts) -> Vec<String> {
    let mut found: Vec<String> = resource
        .tags
        .iter()
        .filter(|(k, _)| fold_tag_key(k) == ENVIRONMENT_TAG)
        .map(|(_, v)| fold_tag_key(v))
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        found.push(UNTAGGED.to_owned());
    }
    found
}

/// A budget with no slot left: the call is denied (or, in `LOG_ONLY`, a would-deny).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    /// The budget's id.
    pub budget: String,
    /// The rule, in words (`at most 3 `terminate_instance` per environment per 1h`).
    pub rule: String,
    /// What was counted: the environment, the resource, or `all`.
    pub per: Per,
    /// The scope counted in.
    pub scope: String,
    /// How long until the earliest slot frees up, when known.
    pub frees_in: Option<Duration>,
}

impl Exhausted {
    /// The budget `counted` is used up; a slot frees in `frees_in`.
    pub fn new(counted: &Counted<'_>, frees_in: Option<Duration>) -> Self {
        Self {
            budget: counted.budget.id.clone(),
            rule: counted.budget.rule(),
            per: counted.budget.per,
            scope: counted.scope.clone(),
            frees_in,
        }
    }
}

impl Exhausted {
    /// As an audit record says it.
    pub fn full(&self) -> FullBudget {
        FullBudget {
            count: BudgetCount {
                budget: self.budget.clone(),
                per: self.per.as_str().to_owned(),
                scope: self.scope.clone(),
                slot: None,
            },
            frees_in_seconds: self.frees_in.map(|d| d.as_secs().max(1)),
            reason: self.to_string(),
        }
    }
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let within = match self.per {
            Per::Environment => format!(" for environment `{}`", self.scope),
            Per::Resource => format!(" for `{}`", self.scope),
            Per::All => String::new(),
        };
        write!(
            f,
            "budget `{}` is used up{within} ({})",
            self.budget, self.rule
        )?;
        match self.frees_in {
            // Whole seconds: sub-second precision is noise to a person or an agent.
            Some(d) => write!(
                f,
                "; the next slot frees up in {}",
                humantime::format_duration(Duration::from_secs(d.as_secs().max(1)))
            ),
            None => write!(
                f,
                "; a slot frees up when an earlier operation is older than the window"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(tags: &[(&str, &str)]) -> ResourceFacts {
        ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234")
            .tags(tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
    }

    #[test]
    fn the_environment_is_read_from_the_tag_whatever_its_key_case() {
        assert_eq!(
            environments(&instance(&[("environment", "Staging")])),
            ["staging"]
        );
        assert_eq!(environments(&instance(&[("ENVIRONMENT", "dev")])), ["dev"]);
        assert_eq!(environments(&instance(&[("Name", "x")])), [UNTAGGED]);
        // The guard's folding, not ASCII case alone: padding and compatibility forms are the
        // same key to the resource check, so they count under the same environment.
        assert_eq!(
            environments(&instance(&[("Environment ", "staging")])),
            ["staging"]
        );
        assert_eq!(
            environments(&instance(&[("\u{ff25}\u{ff4e}vironment", "staging")])),
            ["staging"]
        );
        assert_eq!(
            environments(&instance(&[("ENVIRONMENT", "\u{ff33}taging ")])),
            ["staging"]
        );
        assert_eq!(
            environments(&instance(&[
                ("Environment", "staging"),
                ("environment", "prod")
            ])),
            ["prod", "staging"]
        );
    }

    #[test]
    fn a_restart_counts_per_service_and_per_environment() {
        let budgets = Budgets::embedded().unwrap();
        let service = ResourceFacts::new("Guard::EcsService", "arn:svc/api")
            .tags([("Environment".to_owned(), "staging".to_owned())]);
        let keys: Vec<String> = budgets
            .counted("restart_service", &service)
            .iter()
            .map(Counted::key)
            .collect();
        assert_eq!(
            keys,
            [
                "restart_service#restart-per-service#arn:svc/api",
                "restart_service#restart-per-environment#staging"
            ]
        );
        assert!(budgets.counted("get_metrics", &service).is_empty());
    }

    #[test]
    fn a_full_budget_says_which_budget_and_when_a_slot_frees() {
        let budgets = Budgets::embedded().unwrap();
        let counted = budgets.counted(
            "terminate_instance",
            &instance(&[("Environment", "staging")]),
        );
        let full = Exhausted::new(&counted[0], Some(Duration::from_millis(2_460_400)));
        assert_eq!(
            full.to_string(),
            "budget `terminate-per-environment` is used up for environment `staging` \
             (at most 3 `terminate_instance` per environment per 1h); the next slot frees up in 41m"
        );
    }
}
