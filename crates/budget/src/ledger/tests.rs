use super::*;

fn client() -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .build();
    Client::from_conf(config)
}

const DECLARED: [&str; 3] = ["terminate_instance", "restart_service", "clean_logs"];

fn ledger(switch: Option<&str>, table: Option<&str>) -> BudgetLedger {
    BudgetLedger::from_settings(
        switch,
        table.map(ToOwned::to_owned),
        Budgets::embedded(),
        |t| DECLARED.contains(&t),
        client,
    )
}

#[test]
fn budgets_are_on_unless_deliberately_switched_off() {
    assert!(matches!(
        ledger(None, None).state,
        State::Broken(LedgerError::NoTable)
    ));
    assert!(matches!(
        ledger(Some("ON"), Some("t")).state,
        State::Counting { .. }
    ));
    assert!(matches!(ledger(Some("OFF"), None).state, State::Off));
    // A near miss of OFF never switches a safety control off: it breaks the ledger, and
    // every mutating call is refused.
    for near_miss in ["off", " OFF", "OFF\u{a0}", "Off", "no"] {
        assert!(
            matches!(
                ledger(Some(near_miss), Some("t")).state,
                State::Broken(LedgerError::UnknownSwitch(_))
            ),
            "{near_miss:?}"
        );
    }
}

#[test]
fn a_budget_for_a_tool_the_schema_does_not_declare_breaks_the_ledger() {
    let ledger = BudgetLedger::from_settings(
        None,
        Some("t".to_owned()),
        Budgets::parse(
            "b.json",
            r#"{"budgets":[{"id":"x","tool":"reboot_everything","per":"all","limit":1,"window":"1h"}]}"#,
        ),
        |t| DECLARED.contains(&t),
        client,
    );
    assert!(
        matches!(&ledger.state, State::Broken(e) if e.to_string().contains("`reboot_everything`")),
        "{ledger:?}"
    );
}

#[tokio::test]
async fn a_broken_ledger_is_unavailable_whatever_the_mode() {
    let ledger = BudgetLedger::broken(LedgerError::NoTable);
    let facts = ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234");
    for mode in [Mode::Enforce, Mode::LogOnly] {
        let (outcome, reservation) = ledger
            .reserve(Some("r-1"), "terminate_instance", &facts, mode)
            .await
            .unwrap();
        assert!(
            matches!(&outcome, BudgetOutcome::Unavailable(why) if why.contains("BUDGET_TABLE is not set")),
            "{outcome:?}"
        );
        assert!(!reservation.holds_slots());
    }
}

#[tokio::test]
async fn budgets_off_and_tools_without_a_budget_ask_nothing() {
    let facts = ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234");
    let off = BudgetLedger::off();
    assert!(
        off.reserve(None, "terminate_instance", &facts, Mode::Enforce)
            .await
            .is_none()
    );
    let counting = ledger(None, Some("t"));
    assert!(
        counting
            .reserve(None, "get_metrics", &facts, Mode::Enforce)
            .await
            .is_none()
    );
}
