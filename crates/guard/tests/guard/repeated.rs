//! The same guard asked again and again: what it keeps between requests (each action's store
//! with the last caller added, the request shapes Cedar accepted) never changes a decision.

use guard::{GuardError, Mode, Principal, Reason, RequestIds, ToolCall};
use serde_json::{Value, json};

use crate::support::{RESTART, TERMINATE, call, guard_with, shipped, staging_instance, with_file};

const SCOPED: &str = "@id(\"ops_scope_may_restart_production\")\npermit (principal is AgentCore::OAuthUser, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource)\nwhen { principal.hasTag(\"scope\") && principal.getTag(\"scope\") == \"ops:production\" };\n";

fn user(id: &str, scope: &str) -> Principal {
    Principal::OAuthUser {
        id: id.to_owned(),
        tags: [("scope".to_owned(), scope.to_owned())].into(),
    }
}

#[test]
fn a_caller_kept_from_the_last_request_is_the_same_caller_or_none() {
    let (guard, _) = guard_with(with_file("gateway/scoped.cedar", SCOPED), Mode::Enforce);
    let ids = RequestIds::default();
    // `qa`: no shipped policy permits it, so only the claims decide.
    let input = json!({"environment": "qa", "service": "api-gateway"});
    let (production, staging) = (
        user("agent-7", "ops:production"),
        user("agent-7", "ops:staging"),
    );
    let other = user("agent-8", "ops:production");
    let iam = Principal::IamEntity {
        id: "agent-7".to_owned(),
    };
    // Same id, other claims; other id, same claims; same id, other type: each is decided as
    // itself, in every order.
    for (principal, allowed) in [
        (&production, true),
        (&production, true),
        (&staging, false),
        (&production, true),
        (&iam, false),
        (&production, true),
        (&other, true),
        (&staging, false),
        (&staging, false),
    ] {
        let c = ToolCall {
            principal: Some(principal),
            ..call(RESTART, &input, &ids)
        };
        assert_eq!(guard.check_call(&c).is_allow(), allowed, "{principal:?}");
    }
}

#[test]
fn arguments_cedar_refused_are_refused_every_time() {
    let (guard, _) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let caller = user("agent-7", "devops");
    let refused = |input: &Value| {
        let c = call(RESTART, input, &ids);
        let known = ToolCall {
            principal: Some(&caller),
            ..c
        };
        for c in [c, known] {
            let decision = guard.check_call(&c);
            assert!(
                matches!(decision.error(), Some(GuardError::InvalidInput { .. })),
                "{input}: {:?}",
                decision.reason
            );
        }
    };
    let allowed = |input: &Value| {
        let c = call(RESTART, input, &ids);
        let known = ToolCall {
            principal: Some(&caller),
            ..c
        };
        assert!(guard.check_call(&c).is_allow(), "{input}");
        assert!(guard.check_call(&known).is_allow(), "{input}");
    };
    let bad = [
        json!({"environment": "staging", "service": 5}),
        json!({"environment": "staging", "service": true}),
        json!({"environment": "staging", "servicE": "api"}),
        json!({"environment": "staging", "service": "api", "extra": "x"}),
        json!({"environment": "staging", "service": ["api"]}),
        json!({"environment": "staging", "service": {"name": "api"}}),
        json!({"environment": "staging", "dry_run": "yes", "service": "api"}),
        // Names that spell another shape's parts.
        json!({"environment": "staging", "7:services": "api"}),
        json!({"environment": "staging", "service|": "api"}),
    ];
    for input in &bad {
        refused(input);
    }
    for input in [
        json!({"environment": "staging", "service": "api"}),
        json!({"environment": "staging", "service": "other"}),
        json!({"environment": "staging", "service": "api", "dry_run": false}),
    ] {
        allowed(&input);
        allowed(&input);
    }
    // After Cedar accepted those shapes, the same refusals.
    for input in &bad {
        refused(input);
    }
    // Accepted shapes decide by the values, as before.
    let production = json!({"environment": "prod", "service": "api"});
    assert_eq!(
        guard.check_call(&call(RESTART, &production, &ids)).reason,
        Reason::NoPolicyPermits
    );
}

#[test]
fn the_resource_check_refuses_a_resource_of_the_wrong_type_every_time() {
    let (guard, _) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &input, &ids);
    let instance = staging_instance("staging");
    assert!(guard.check_resource(&c, &instance).is_allow());
    assert!(guard.check_resource(&c, &instance).is_allow());
    let mut wrong = staging_instance("staging");
    wrong.entity_type = "Guard::EcsService".to_owned();
    for _ in 0..2 {
        let decision = guard.check_resource(&c, &wrong);
        assert!(decision.error().is_some(), "{:?}", decision.reason);
    }
    assert!(guard.check_resource(&c, &instance).is_allow());
}

#[test]
fn resource_facts_cedar_refused_are_refused_every_time() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &input, &ids);
    let facts = |state: Value, protected: Value| {
        let mut facts = guard::ResourceFacts::new("Guard::Ec2Instance", "i-0abc")
            .tags([("Environment".to_owned(), "staging".to_owned())]);
        for (name, value) in [("state", state), ("termination_protected", protected)] {
            if !value.is_null() {
                facts = facts.attribute(name, value);
            }
        }
        facts
    };
    let good = facts(json!("running"), json!(false));
    let bad = [
        facts(json!("running"), json!("false")),
        facts(json!(1), json!(false)),
        facts(Value::Null, json!(false)),
        facts(json!("running"), json!(false)).attribute("extra", "x"),
        facts(json!("running"), json!(false)).attribute("7:states", "x"),
    ];
    for _ in 0..2 {
        assert!(guard.check_resource(&c, &good).is_allow());
        assert!(
            guard
                .check_resource(&c, &facts(json!("stopped"), json!(false)))
                .is_allow()
        );
        for facts in &bad {
            let decision = guard.check_resource(&c, facts);
            assert!(
                matches!(decision.error(), Some(GuardError::InvalidEntity { .. })),
                "{facts:?}: {:?}",
                decision.reason
            );
        }
    }
    // Every check, the refusals each time, left its record: two rounds of two allowed and five
    // refused resources.
    let records = audit.records();
    assert_eq!(records.len(), 14);
    assert_eq!(records.iter().filter(|r| !r.errors.is_empty()).count(), 10);
    // Protected: the same shape, decided by its value.
    assert!(
        !guard
            .check_resource(&c, &facts(json!("running"), json!(true)))
            .is_allow()
    );
}
