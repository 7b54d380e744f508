//! The gateway the call check is linked to: missing or malformed, and rendered for AgentCore.

use std::{str::FromStr, sync::Arc};

use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};
use guard::{
    EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, GuardError, MemoryAudit, Mode, PolicySources,
    RequestIds, render_static,
};
use serde_json::json;

use crate::support::{RESTART, TERMINATE, call, shipped, staging_instance};

#[test]
fn missing_gateway_arn_denies_every_call_check_but_not_resource_checks() {
    let audit = MemoryAudit::new();
    let guard = Guard::new(
        &PolicySources::embedded(),
        &GuardConfig::default(),
        Arc::new(audit.clone()),
    );
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &input, &ids);
    let decision = guard.check_call(&c);
    assert_eq!(decision.error(), Some(&GuardError::NoGatewayArn));
    assert!(decision.explain().contains("GATEWAY_ARN is not set"));
    assert!(
        guard
            .check_resource(&c, &staging_instance("staging"))
            .is_allow()
    );
}

#[test]
fn a_malformed_gateway_arn_denies_every_call_check() {
    let config = GuardConfig {
        gateway_arn: Some("gw-xyz789".to_owned()),
        ..GuardConfig::default()
    };
    let guard = Guard::configured(&config, Arc::new(MemoryAudit::new()));
    assert!(matches!(
        guard.health(),
        Err(GuardError::InvalidGatewayArn(_))
    ));
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "service": "api"});
    assert!(!guard.check_call(&call(RESTART, &input, &ids)).proceeds());
}

#[test]
fn the_gateway_set_renders_as_static_policies_that_agentcore_would_accept() {
    let (guard, _) = shipped(Mode::Enforce);
    let rendered = render_static(guard.gateway_set().unwrap()).unwrap();
    assert!(!rendered.contains("?resource"));
    assert_eq!(rendered.matches(EXAMPLE_GATEWAY_ARN).count(), 6);

    let statics = PolicySet::from_str(&rendered).unwrap();
    assert_eq!(statics.num_of_templates(), 0);
    assert_eq!(statics.num_of_policies(), 6);
    let agentcore = include_str!("../../../../policies/schema/agentcore.cedarschema");
    let (schema, _) = Schema::from_cedarschema_str(agentcore).unwrap();
    let result = Validator::new(schema).validate(&statics, ValidationMode::Strict);
    assert!(result.validation_passed_without_warnings(), "{result:?}");
}
