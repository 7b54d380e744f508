//! Callers: policies on the caller's claims, the caller type, whether a tool could be called at all.

use std::sync::Arc;

use guard::{
    EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, GuardError, MemoryAudit, Mode, PolicyFile,
    PolicySources, Principal, Reason, RequestIds, ToolCall,
};
use serde_json::{Value, json};

use crate::support::{RESTART, TERMINATE, call, guard_with, with_file};

/// A policy that reads the caller's claims: decidable at the gateway, not in a tool Lambda.
const SCOPED: &str = "@id(\"ops_scope_may_restart_production\")\npermit (principal is AgentCore::OAuthUser, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource)\nwhen { principal.hasTag(\"scope\") && principal.getTag(\"scope\") == \"ops:production\" };\n";

#[test]
fn a_policy_on_the_callers_claims_needs_a_known_caller() {
    let (guard, _) = guard_with(with_file("gateway/scoped.cedar", SCOPED), Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "qa", "service": "api-gateway"});

    // Unknown caller (a tool Lambda): the decision hangs on the caller, so it is refused.
    let decision = guard.check_call(&call(RESTART, &input, &ids));
    assert!(
        matches!(decision.error(), Some(GuardError::CallerUnknown(p)) if p.contains("ops_scope_may_restart_production"))
    );
    // Staging needs no caller: the article's policy decides alone.
    let staging = json!({"environment": "staging", "service": "api-gateway"});
    assert!(guard.check_call(&call(RESTART, &staging, &ids)).is_allow());

    let user = |scope: &str| Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: [("scope".to_owned(), scope.to_owned())].into(),
    };
    for (scope, allowed) in [("ops:production", true), ("ops:staging", false)] {
        let p = user(scope);
        let c = ToolCall {
            principal: Some(&p),
            ..call(RESTART, &input, &ids)
        };
        assert_eq!(guard.check_call(&c).is_allow(), allowed, "{scope}");
    }
    // An IAM caller has no tags: the `is AgentCore::OAuthUser` scope excludes it.
    let iam = Principal::IamEntity {
        id: "arn:aws:iam::123456789012:role/agent".to_owned(),
    };
    let c = ToolCall {
        principal: Some(&iam),
        ..call(RESTART, &input, &ids)
    };
    assert_eq!(guard.check_call(&c).reason, Reason::NoPolicyPermits);
}

#[test]
fn the_caller_type_comes_from_the_gateway_authorizer_type() {
    let only_iam = "@id(\"iam_only\")\npermit (principal is AgentCore::IamEntity, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource);\n";
    let sources = with_file("gateway/restart_service.cedar", only_iam);
    let ids = RequestIds::default();
    let input = json!({"environment": "production", "service": "api"});
    for (authorizer, allowed) in [("CUSTOM_JWT", false), ("AWS_IAM", true)] {
        let (mut config, _) = GuardConfig::from_lookup(|name| match name {
            "GATEWAY_AUTHORIZER_TYPE" => Some(authorizer.to_owned()),
            _ => None,
        });
        config.gateway_arn = Some(EXAMPLE_GATEWAY_ARN.to_owned());
        let guard = Guard::new(&sources, &config, Arc::new(MemoryAudit::new()));
        assert_eq!(
            guard.check_call(&call(RESTART, &input, &ids)).is_allow(),
            allowed
        );
    }
}

#[test]
fn may_call_asks_whether_any_arguments_could_be_permitted() {
    let only_ops = "@id(\"ops_may_restart\")\npermit (principal is AgentCore::OAuthUser, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource)\nwhen { principal.hasTag(\"scope\") && principal.getTag(\"scope\") == \"ops\" && context.input has environment && context.input.environment == \"staging\" };\n";
    let no_terminate_for_readers = "@id(\"readers_never_terminate\")\nforbid (principal is AgentCore::OAuthUser, action == AgentCore::Action::\"terminate-instance___terminate_instance\", resource)\nwhen { principal.hasTag(\"scope\") && principal.getTag(\"scope\") == \"read\" };\n";
    let mut files: Vec<PolicyFile> = with_file("gateway/restart_service.cedar", only_ops)
        .files()
        .to_vec();
    files.push(PolicyFile {
        name: "gateway/readers.cedar".to_owned(),
        text: no_terminate_for_readers.to_owned(),
    });
    let (guard, audit) = guard_with(PolicySources::from_files("test", files), Mode::Enforce);
    let user = |scope: &str| Principal::OAuthUser {
        id: "u".to_owned(),
        tags: [("scope".to_owned(), scope.to_owned())].into(),
    };
    let (ops, reader) = (user("ops"), user("read"));
    assert!(guard.may_call(RESTART, Some(&ops)));
    assert!(!guard.may_call(RESTART, Some(&reader)));
    assert!(guard.may_call(TERMINATE, Some(&ops)));
    assert!(!guard.may_call(TERMINATE, Some(&reader)));
    assert!(guard.may_call("get-metrics___get_metrics", Some(&reader)));
    assert!(!guard.may_call("drop-table___drop_table", Some(&ops)));
    assert!(audit.records().is_empty(), "list filtering is not audited");

    let ids = RequestIds::default();
    let decision = guard.check_tool(TERMINATE, Some(&reader), &ids);
    assert_eq!(decision.reason, Reason::Forbidden);
    assert_eq!(decision.policies, ["readers_never_terminate"]);
    let decision = guard.check_tool(RESTART, Some(&ops), &ids);
    assert_eq!(decision.policies, ["ops_may_restart"]);
    assert_eq!(audit.records().len(), 2);
    assert_eq!(audit.records()[0].arguments, Value::Null);
}

/// Requests carry only the action entities they can reach (the action, its groups, and any
/// action a policy names). A policy that names another tool's action, and an action group,
/// is decided as if every action entity were there.
#[test]
fn action_groups_and_action_literals_are_decided_as_with_every_action_entity() {
    let policy = r#"
@id("forbid_by_groups")
forbid (principal, action in AgentCore::Action::"CallTool", resource == ?resource)
when {
  context.input has service && context.input.service == "by-groups" &&
  AgentCore::Action::"get-metrics___get_metrics" in AgentCore::Action::"Mcp"
};
"#;
    let (guard, _) = guard_with(with_file("gateway/groups.cedar", policy), Mode::Enforce);
    assert!(guard.health().is_ok(), "{:?}", guard.policy_sets().err());
    let ids = RequestIds::default();
    let principal = Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };
    for (service, denied) in [("by-groups", true), ("api-gateway", false)] {
        let input = json!({"environment": "staging", "service": service});
        let unknown = call(RESTART, &input, &ids);
        let known = ToolCall {
            principal: Some(&principal),
            ..unknown
        };
        for asked in [known, unknown] {
            let decision = guard.check_call(&asked);
            if denied {
                assert_eq!(
                    decision.reason,
                    Reason::Forbidden,
                    "{service}: {decision:?}"
                );
                assert_eq!(decision.policies, vec!["forbid_by_groups".to_owned()]);
            } else {
                assert!(decision.is_allow(), "{service}: {decision:?}");
            }
        }
    }
}

/// `sources` without the gateway policy that reads a caller's tags.
fn without_on_call(sources: PolicySources) -> PolicySources {
    let files = sources
        .files()
        .iter()
        .cloned()
        .map(|mut f| {
            if f.name == "gateway/clean_logs.cedar" {
                let cut = f
                    .text
                    .find("// Streams idle for less than a week")
                    .unwrap_or(f.text.len());
                f.text.truncate(cut);
            }
            f
        })
        .collect();
    PolicySources::from_files("test", files)
}

/// A caller is checked against the schema: with a schema whose OAuth user has no tags, a
/// caller with tags is refused as an error, one without is decided.
#[test]
fn a_caller_that_does_not_fit_the_schema_is_refused() {
    let schema = PolicySources::embedded()
        .files()
        .iter()
        .find(|f| f.name == "schema/agentcore.cedarschema")
        .map(|f| {
            f.text.replace(
                "entity OAuthUser { id: String } tags String;",
                "entity OAuthUser { id: String };",
            )
        })
        .unwrap_or_default();
    assert!(schema.contains("entity OAuthUser { id: String };"));
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "service": "api-gateway"});
    let tagged = Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };
    let untagged = Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: Default::default(),
    };
    for (schema_text, tagged_fits) in [(None, true), (Some(schema.as_str()), false)] {
        let sources = match schema_text {
            // The on-call policy reads a caller tag, which a tagless schema makes impossible:
            // it stays out of that set.
            Some(text) => without_on_call(with_file("schema/agentcore.cedarschema", text)),
            None => PolicySources::embedded(),
        };
        let (guard, _) = guard_with(sources, Mode::Enforce);
        // The other shipped gateway policies read no caller tags: they load under both schemas.
        assert!(guard.health().is_ok(), "{:?}", guard.policy_sets().err());
        for (principal, fits) in [(&tagged, tagged_fits), (&untagged, true)] {
            let asked = ToolCall {
                principal: Some(principal),
                ..call(RESTART, &input, &ids)
            };
            let decision = guard.check_call(&asked);
            if fits {
                assert!(decision.is_allow(), "{decision:?}");
            } else {
                assert!(
                    matches!(
                        decision.reason,
                        Reason::Error(GuardError::InvalidEntity { .. })
                    ),
                    "{decision:?}"
                );
            }
        }
    }
}
