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
