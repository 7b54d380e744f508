use guard::ResourceFacts;

use super::*;

fn past(text: &str) -> Vec<Past> {
    serde_json::from_str(text).unwrap()
}

fn staging_instance() -> ResourceFacts {
    ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234")
        .tags([("Environment".to_owned(), "staging".to_owned())])
}

fn full(outcome: BudgetOutcome) -> guard::FullBudget {
    match outcome {
        BudgetOutcome::OverBudget { full, .. } => full,
        other => panic!("not over budget: {other:?}"),
    }
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
    let full = full(decide_history(&counted, &history, Mode::Enforce));
    assert_eq!(full.count.budget, "terminate-per-environment");
    assert_eq!(full.frees_in(), Some(Duration::from_secs(40 * 60)));
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
    assert!(matches!(
        decide_history(&counted, &history, Mode::Enforce),
        BudgetOutcome::Within(_)
    ));
}

#[test]
fn a_per_resource_budget_counts_only_that_resource() {
    let budgets = Budgets::embedded().unwrap();
    let service = ResourceFacts::new("Guard::EcsService", "arn:svc/api")
        .tags([("Environment".to_owned(), "staging".to_owned())]);
    let counted = budgets.counted("restart_service", &service);
    let other = past(r#"[{"tool": "restart_service", "resource": "arn:svc/worker", "ago": "1m"}]"#);
    assert!(matches!(
        decide_history(&counted, &other, Mode::Enforce),
        BudgetOutcome::Within(_)
    ));
    let same = past(r#"[{"tool": "restart_service", "resource": "arn:svc/api", "ago": "4m"}]"#);
    let full = full(decide_history(&counted, &same, Mode::Enforce));
    assert_eq!(full.count.budget, "restart-per-service");
    assert_eq!(full.frees_in(), Some(Duration::from_secs(6 * 60)));
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

#[test]
fn entries_that_can_never_count_are_errors() {
    let budgets = Budgets::embedded().unwrap();
    let no_budget = past(r#"[{"tool": "get_metrics", "environment": "staging", "ago": "1m"}]"#);
    let err = check_history(&budgets, &no_budget).unwrap_err();
    assert!(
        err.to_string()
            .contains("history entry #1: no budget counts `get_metrics`"),
        "{err}"
    );
    let no_scope = past(
        r#"[{"tool": "clean_logs", "ago": "1m"},
            {"tool": "terminate_instance", "resource": "i-1", "ago": "1m"}]"#,
    );
    let err = check_history(&budgets, &no_scope).unwrap_err();
    assert!(
        err.to_string().contains(
            "history entry #2: `terminate_instance` is counted per environment, so this entry needs `environment`"
        ),
        "{err}"
    );
    let fine = past(
        r#"[{"tool": "restart-service___restart_service", "resource": "arn:svc/api", "ago": "1m"}]"#,
    );
    assert_eq!(check_history(&budgets, &fine), Ok(()));
}
