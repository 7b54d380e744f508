//! The guard's behaviour through its public API: fail-closed loading, modes, callers, audit.

use std::{str::FromStr, sync::Arc};

use cedar_policy::{PolicySet, Schema, ValidationMode, Validator};
use guard::{
    Check, EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, GuardError, MemoryAudit, Mode, Outcome,
    PolicyFile, PolicySources, Principal, Reason, RequestIds, ResourceFacts, ToolCall, Verdict,
    render_static,
};
use serde_json::{Value, json};

const RESTART: &str = "restart-service___restart_service";
const TERMINATE: &str = "terminate-instance___terminate_instance";

fn config(mode: Mode) -> GuardConfig {
    GuardConfig {
        mode,
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    }
}

fn guard_with(sources: PolicySources, mode: Mode) -> (Guard, MemoryAudit) {
    let audit = MemoryAudit::new();
    let guard = Guard::new(&sources, &config(mode), Arc::new(audit.clone()));
    (guard, audit)
}

fn shipped(mode: Mode) -> (Guard, MemoryAudit) {
    guard_with(PolicySources::embedded(), mode)
}

/// The shipped files with one file replaced or added.
fn with_file(name: &str, text: &str) -> PolicySources {
    let mut files: Vec<PolicyFile> = PolicySources::embedded()
        .files()
        .iter()
        .filter(|f| f.name != name)
        .cloned()
        .collect();
    files.push(PolicyFile {
        name: name.to_owned(),
        text: text.to_owned(),
    });
    PolicySources::from_files("test", files)
}

fn call<'a>(tool: &'a str, input: &'a Value, ids: &'a RequestIds) -> ToolCall<'a> {
    ToolCall {
        tool,
        input,
        principal: None,
        ids,
    }
}

fn staging_instance(env: &str) -> ResourceFacts {
    ResourceFacts::new("Guard::Ec2Instance", "i-0abc")
        .attribute("state", "running")
        .attribute("termination_protected", false)
        .tags([("Environment".to_owned(), env.to_owned())])
}

/// Every check a tool could make, all of which must deny with an error when the policies are
/// broken.
fn assert_every_decision_is_an_error(guard: &Guard, expected: &str) {
    let ids = RequestIds::default();
    let staging = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &staging, &ids);
    for decision in [
        guard.check_call(&c),
        guard.check_resource(&c, &staging_instance("staging")),
    ] {
        assert!(!decision.proceeds(), "{decision:?}");
        let explained = decision.explain();
        assert!(
            explained.contains("error, not a policy decision"),
            "{explained}"
        );
        assert!(explained.contains(expected), "{explained}");
    }
}

#[test]
fn a_policy_syntax_error_denies_every_call_with_the_file_and_line() {
    let broken = "@id(\"oops\")\npermit (\n  principal,\n  action ==,\n  resource\n);\n";
    let sources = with_file("resource/broken.cedar", broken);
    let (guard, audit) = guard_with(sources, Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert_eq!(err.problems[0].file, "resource/broken.cedar");
    assert_eq!(err.problems[0].line, Some(4));
    assert_every_decision_is_an_error(&guard, "resource/broken.cedar:4");
    assert_eq!(audit.records().len(), 2, "every refusal is audited");
    assert!(audit.records().iter().all(|r| r.outcome == Outcome::Error));
}

#[test]
fn a_schema_violation_denies_every_call_even_in_log_only() {
    let bad = "@id(\"reads_unknown_argument\")\npermit (principal, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource)\nwhen { context.input has environment && context.input.environment && true };\n";
    let sources = with_file("gateway/restart_service.cedar", bad);
    let (guard, _) = guard_with(sources, Mode::LogOnly);
    let err = guard.policy_sets().unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.file == "gateway/restart_service.cedar" && p.line == Some(3)),
        "{err}"
    );
    assert_every_decision_is_an_error(&guard, "gateway/restart_service.cedar:3");
}

#[test]
fn gateway_policies_must_validate_against_the_agentcore_schema_alone() {
    // Valid against the whole schema, but it names a resource-check type: AgentCore would
    // refuse it, so the guard does too.
    let leaky = "@id(\"names_guard_types\")\npermit (principal, action == Guard::Action::\"clean_logs\", resource);\n";
    let (guard, _) = guard_with(with_file("gateway/leaky.cedar", leaky), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(
        err.problems.iter().all(|p| p.file == "gateway/leaky.cedar"),
        "{err}"
    );
}

#[test]
fn policies_without_an_id_or_with_a_duplicate_id_are_refused() {
    let no_id = "permit (principal, action == Guard::Action::\"clean_logs\", resource);\n";
    let (guard, _) = guard_with(with_file("resource/no_id.cedar", no_id), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(err.to_string().contains("no `@id"), "{err}");

    let dup = "@id(\"never_terminate_protected_instance\")\npermit (principal, action == Guard::Action::\"clean_logs\", resource);\n";
    let (guard, _) = guard_with(with_file("resource/dup.cedar", dup), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(err.to_string().contains("duplicate policy id"), "{err}");
    assert!(
        err.to_string().contains("resource/protection.cedar"),
        "{err}"
    );
}

#[test]
fn a_template_with_a_principal_slot_is_refused() {
    let t = "@id(\"per_user\")\npermit (principal == ?principal, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource);\n";
    let (guard, _) = guard_with(with_file("gateway/per_user.cedar", t), Mode::Enforce);
    let err = guard.policy_sets().unwrap_err();
    assert!(err.to_string().contains("exactly one slot"), "{err}");
}

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
fn log_only_records_a_would_deny_and_lets_the_call_go_on() {
    let (guard, audit) = shipped(Mode::LogOnly);
    let ids = RequestIds {
        lambda: Some("req-1".to_owned()),
        ..RequestIds::default()
    };
    let input = json!({"environment": "production", "service": "api-gateway"});
    let decision = guard.check_call(&call(RESTART, &input, &ids));
    assert_eq!(decision.reason, Reason::NoPolicyPermits);
    assert!(decision.proceeds() && decision.would_deny());
    let records = audit.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.decision, r.outcome, r.enforced),
        (Verdict::Deny, Outcome::WouldDeny, false)
    );
    assert_eq!(r.mode, Mode::LogOnly);
    assert_eq!(r.request_ids.lambda.as_deref(), Some("req-1"));
}

#[test]
fn enforce_blocks_and_audits_each_check_once() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let c = call(TERMINATE, &input, &ids);
    assert!(guard.check_call(&c).is_allow());
    let protected = staging_instance("staging").attribute("termination_protected", true);
    let decision = guard.check_resource(&c, &protected);
    assert_eq!(decision.reason, Reason::Forbidden);
    assert_eq!(decision.policies, ["never_terminate_protected_instance"]);
    assert_eq!(
        decision.explain(),
        "resource check: `terminate-instance___terminate_instance` on `i-0abc` forbidden by `never_terminate_protected_instance`"
    );

    let records = audit.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].check, Check::Call);
    assert_eq!(
        records[0].resource,
        format!("AgentCore::Gateway::\"{EXAMPLE_GATEWAY_ARN}\"")
    );
    assert_eq!(records[0].policies, ["allow_terminate_non_production"]);
    assert_eq!(records[1].check, Check::Resource);
    assert_eq!(records[1].resource, "Guard::Ec2Instance::\"i-0abc\"");
    assert_eq!(records[1].action, "Guard::Action::\"terminate_instance\"");
    assert_eq!(records[1].principal, "unknown AgentCore::OAuthUser");
    assert_eq!(records[1].arguments, input);
    assert_eq!(records[1].outcome, Outcome::Deny);
}

#[test]
fn the_audit_line_is_an_emf_document() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "production", "instance_id": "i-0abc"});
    guard.check_call(&call(TERMINATE, &input, &ids));
    let line = guard::EmfStdout::new("AgentGuard").line(&audit.records()[0]);
    let metrics = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(metrics["Namespace"], "AgentGuard");
    assert_eq!(metrics["Dimensions"], json!([["Tool", "Check"], ["Check"]]));
    assert_eq!(line["Tool"], "terminate_instance");
    assert_eq!(line["Check"], "call");
    assert_eq!(
        (line["Allow"].clone(), line["Deny"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(line["guard_audit"]["decision"], "DENY");
    assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn made_up_tool_names_are_counted_as_unknown_never_as_new_metrics() {
    let (guard, audit) = shipped(Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({});
    for tool in [
        "ops___drop_database",
        "not-a-tool-name",
        "x___terminate_instance\u{200b}",
    ] {
        guard.check_call(&call(tool, &input, &ids));
    }
    guard.check_call(&call("my-target___terminate_instance", &input, &ids));
    let emf = guard::EmfStdout::new("AgentGuard");
    let tools: Vec<String> = audit
        .records()
        .iter()
        .map(|r| emf.line(r)["Tool"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        tools,
        ["unknown", "unknown", "unknown", "terminate_instance"]
    );
}

/// A policy that reads the caller's claims: decidable at the gateway, not in a tool Lambda.
const SCOPED: &str = "@id(\"ops_scope_may_restart_production\")\npermit (principal is AgentCore::OAuthUser, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource)\nwhen { principal.hasTag(\"scope\") && principal.getTag(\"scope\") == \"ops:production\" };\n";

#[test]
fn a_policy_on_the_callers_claims_needs_a_known_caller() {
    let (guard, _) = guard_with(with_file("gateway/scoped.cedar", SCOPED), Mode::Enforce);
    let ids = RequestIds::default();
    let input = json!({"environment": "production", "service": "api-gateway"});

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
fn the_gateway_set_renders_as_static_policies_that_agentcore_would_accept() {
    let (guard, _) = shipped(Mode::Enforce);
    let rendered = render_static(guard.gateway_set().unwrap()).unwrap();
    assert!(!rendered.contains("?resource"));
    assert_eq!(rendered.matches(EXAMPLE_GATEWAY_ARN).count(), 4);

    let statics = PolicySet::from_str(&rendered).unwrap();
    assert_eq!(statics.num_of_templates(), 0);
    assert_eq!(statics.num_of_policies(), 4);
    let agentcore = include_str!("../../../policies/schema/agentcore.cedarschema");
    let (schema, _) = Schema::from_cedarschema_str(agentcore).unwrap();
    let result = Validator::new(schema).validate(&statics, ValidationMode::Strict);
    assert!(result.validation_passed_without_warnings(), "{result:?}");
}

#[test]
fn policies_load_from_a_directory_override() {
    let dir = tempfile::tempdir().unwrap();
    for file in PolicySources::embedded().files() {
        let path = dir.path().join(&file.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.text).unwrap();
    }
    // Loosen one rule on disk; the override must pick it up.
    std::fs::write(
        dir.path().join("gateway/restart_service.cedar"),
        "@id(\"allow_any_restart\")\npermit (principal, action == AgentCore::Action::\"restart-service___restart_service\", resource == ?resource);\n",
    )
    .unwrap();
    let config = GuardConfig {
        policy_dir: Some(dir.path().to_owned()),
        ..config(Mode::Enforce)
    };
    let guard = Guard::configured(&config, Arc::new(MemoryAudit::new()));
    let ids = RequestIds::default();
    let input = json!({"environment": "production", "service": "api"});
    let decision = guard.check_call(&call(RESTART, &input, &ids));
    assert_eq!(decision.policies, ["allow_any_restart"]);

    let missing = GuardConfig {
        policy_dir: Some(dir.path().join("nowhere")),
        ..config
    };
    let guard = Guard::configured(&missing, Arc::new(MemoryAudit::new()));
    assert!(!guard.check_call(&call(RESTART, &input, &ids)).proceeds());
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

#[test]
fn a_refusal_is_audited_as_an_error() {
    let (guard, audit) = shipped(Mode::LogOnly);
    let ids = RequestIds::default();
    let input = json!({"environment": "staging", "service": "api"});
    let decision = guard.refuse(&call(RESTART, &input, &ids), "misrouted");
    assert!(
        !decision.proceeds(),
        "refusals are never let through, even in LOG_ONLY"
    );
    assert_eq!(audit.records()[0].outcome, Outcome::Error);
    assert_eq!(audit.records()[0].errors, ["misrouted"]);
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
            Some(text) => with_file("schema/agentcore.cedarschema", text),
            None => PolicySources::embedded(),
        };
        let (guard, _) = guard_with(sources, Mode::Enforce);
        // The shipped gateway policies read no caller tags, so they load under both schemas.
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
