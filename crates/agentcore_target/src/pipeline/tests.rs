use guard::{Check, Mode, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::testing::{direct, invoke};

/// A tool whose lookup finds nothing to check; `ACCESS` says whether it mutates.
struct Blind<const MUTATING: bool>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "read by the parser only")]
struct Args {
    environment: String,
    service: String,
}

impl<const MUTATING: bool> Tool for Blind<MUTATING> {
    // The gateway policies and schema know `restart_service`; this stands in for it.
    const NAME: &'static str = "restart_service";
    const DEFAULT_TARGET: &'static str = "restart-service";
    const ACCESS: Access = if MUTATING {
        Access::Mutating
    } else {
        Access::ReadOnly
    };
    type Settings = ();
    type Input = Args;
    type Resource = ();
    type Output = Value;

    fn validate(_: &Args) -> Result<(), ToolError> {
        Ok(())
    }

    async fn lookup(&self, _: &Args) -> Result<Found<()>, ToolError> {
        Ok(Found {
            facts: None,
            resource: (),
        })
    }

    async fn operate(&self, _: &Args, (): (), _: &Recheck<'_, Self>) -> Result<Value, ToolError> {
        Ok(json!("operated"))
    }

    fn summary(_: &Value) -> String {
        "operated".to_owned()
    }
}

#[tokio::test]
async fn a_mutating_tool_whose_lookup_finds_nothing_is_refused_and_audited() {
    let out = invoke(
        Blind::<true>,
        Mode::Enforce,
        direct(json!({"environment": "staging", "service": "api"})),
    )
    .await;
    assert!(out.is_error, "{}", out.report);
    assert_eq!(out.report["status"], "denied", "{}", out.report);
    assert_eq!(out.audit.len(), 2);
    assert_eq!(out.audit[1].check, Check::Resource);
    assert_eq!(out.audit[1].outcome, Outcome::Error);
}

#[tokio::test]
async fn only_a_tool_declared_read_only_may_skip_the_resource_check() {
    let out = invoke(
        Blind::<false>,
        Mode::Enforce,
        direct(json!({"environment": "staging", "service": "api"})),
    )
    .await;
    assert_eq!(out.audit.len(), 1, "{}", out.report);
    assert_eq!(out.audit[0].check, Check::Call);
}

mod stop_switch {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use aws_sdk_dynamodb::{
        Client,
        operation::get_item::{GetItemError, GetItemOutput},
        types::{AttributeValue, error::ResourceNotFoundException},
    };
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use guard::ResourceFacts;
    use oversight::{STOP_KEY, StopSwitch};

    use super::*;
    use crate::testing::host;

    /// A restart of a staging service that both checks allow; counts its operations.
    #[derive(Default, Clone)]
    struct Restart {
        operated: Arc<AtomicUsize>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RestartArgs {
        environment: String,
        #[expect(dead_code, reason = "read by the parser only")]
        service: String,
        #[serde(default)]
        dry_run: bool,
    }

    impl Tool for Restart {
        const NAME: &'static str = "restart_service";
        const DEFAULT_TARGET: &'static str = "restart-service";
        const ACCESS: Access = Access::Mutating;
        type Settings = ();
        type Input = RestartArgs;
        type Resource = ();
        type Output = Value;

        fn validate(_: &RestartArgs) -> Result<(), ToolError> {
            Ok(())
        }

        fn dry_run(input: &RestartArgs) -> bool {
            input.dry_run
        }

        async fn lookup(&self, input: &RestartArgs) -> Result<Found<()>, ToolError> {
            let facts = ResourceFacts::new("Guard::EcsService", "arn:svc/api")
                .attribute("name", "api")
                .attribute("cluster", "staging")
                .attribute("status", "ACTIVE")
                .tags([("Environment".to_owned(), input.environment.clone())]);
            Ok(Found {
                facts: Some(facts),
                resource: (),
            })
        }

        async fn operate(
            &self,
            _: &RestartArgs,
            (): (),
            _: &Recheck<'_, Self>,
        ) -> Result<Value, ToolError> {
            self.operated.fetch_add(1, Ordering::SeqCst);
            Ok(json!("restarted"))
        }

        fn summary(_: &Value) -> String {
            "restarted".to_owned()
        }
    }

    fn stopped() -> Rule {
        mock!(Client::get_item).then_output(|| {
            let item = [
                (budget::ledger::KEY, STOP_KEY),
                ("stopped_by", "arn:aws:iam::111122223333:user/oncall"),
                ("stopped_at", "2026-12-03T02:37:00Z"),
                ("reason", "incident 42"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
            .collect();
            GetItemOutput::builder().set_item(Some(item)).build()
        })
    }

    fn unreadable() -> Rule {
        mock!(Client::get_item).then_error(|| {
            GetItemError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .build(),
            )
        })
    }

    #[expect(
        clippy::unwrap_used,
        reason = "a test helper that cannot do its job fails the test"
    )]
    async fn call(
        rule: &Rule,
        mode: Mode,
        dry_run: bool,
    ) -> (Value, Vec<guard::AuditRecord>, usize) {
        let tool = Restart::default();
        let (host, audit) = host(Ok(tool.clone()), mode);
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [rule]);
        let host = host.with_stop(StopSwitch::new(client, "budgets"));
        let payload = json!({"environment": "staging", "service": "api", "dry_run": dry_run});
        let result = host.handle(direct(payload)).await.unwrap();
        let report = crate::testing::report(&result);
        (
            report,
            audit.records(),
            tool.operated.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn while_stopped_a_mutating_call_is_refused_with_the_reason_and_nothing_operates() {
        for mode in [Mode::Enforce, Mode::LogOnly] {
            let rule = stopped();
            let (report, audit, operated) = call(&rule, mode, false).await;
            assert_eq!(report["status"], "denied", "{report}");
            assert!(
                report["message"]
                    .as_str()
                    .unwrap()
                    .contains("`incident 42`"),
                "{report}"
            );
            assert_eq!(operated, 0, "no operation while stopped");
            assert_eq!(rule.num_calls(), 1);
            let last = audit.last().unwrap();
            assert_eq!((last.check, last.outcome), (Check::Stop, Outcome::Deny));
            assert!(last.enforced, "a stop is enforced in {mode}");
        }
    }

    #[tokio::test]
    async fn an_unreadable_switch_refuses_as_an_error_and_nothing_operates() {
        let rule = unreadable();
        let (report, audit, operated) = call(&rule, Mode::LogOnly, false).await;
        assert_eq!(report["status"], "denied", "{report}");
        assert!(
            report["message"]
                .as_str()
                .unwrap()
                .contains("the stop switch could not be read"),
            "{report}"
        );
        assert_eq!(operated, 0);
        let last = audit.last().unwrap();
        assert_eq!((last.check, last.outcome), (Check::Stop, Outcome::Error));
    }

    #[tokio::test]
    async fn a_dry_run_and_a_read_only_tool_never_read_the_switch() {
        let rule = stopped();
        let (report, _, operated) = call(&rule, Mode::Enforce, true).await;
        assert_eq!(report["status"], "ok", "{report}");
        assert_eq!((operated, rule.num_calls()), (1, 0));

        let rule = unreadable();
        let (reader, _) = host(Ok(Blind::<false>), Mode::Enforce);
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
        let reader = reader.with_stop(StopSwitch::new(client, "budgets"));
        let result = reader
            .handle(direct(json!({"environment": "staging", "service": "api"})))
            .await
            .unwrap();
        assert_eq!(crate::testing::report(&result)["status"], "ok");
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_running_switch_lets_the_call_through() {
        let rule = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        let (report, audit, operated) = call(&rule, Mode::Enforce, false).await;
        assert_eq!(report["status"], "ok", "{report}");
        assert_eq!((operated, rule.num_calls()), (1, 1));
        assert!(audit.iter().all(|r| r.check != Check::Stop));
    }
}
