use super::*;

fn one(budget: &str) -> Result<Budgets, BudgetError> {
    Budgets::parse("b.json", &format!(r#"{{"budgets": [{budget}]}}"#))
}

#[test]
fn the_shipped_budgets_load_with_the_documented_defaults() {
    let budgets = Budgets::embedded().unwrap();
    let rules: Vec<(String, String)> = budgets.iter().map(|b| (b.id.clone(), b.rule())).collect();
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
    let err = Budgets::parse("b.json", "{\n  \"budgets\": [\n    {\"id\": 3}\n  ]\n}").unwrap_err();
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
