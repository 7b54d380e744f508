//! The guard's cost, each figure beside Cedar alone on the same request (DESIGN.md §9):
//!
//! - `bare_cedar/*`: Cedar alone, the request, entities and policy set built in advance: the
//!   known-caller gateway request (`is_authorized`), the same with the caller unknown
//!   (`is_authorized_partial`, as a tool Lambda asks), and the resource request on a real
//!   instance (partial, caller unknown) against the resource set;
//! - `guard_decision/*`: the same questions from JSON arguments and resource facts to a
//!   decision and its audit record;
//! - `guard_construction/shipped`: build a guard from the policies compiled in, as a deployed
//!   function does (validated at build time, loaded from Cedar's JSON forms);
//! - `*/1000_policies_*`: 1,000 more gateway policies, all on the tool asked about or spread
//!   over the four tools (the guard evaluates only the policies whose action scope can match).
//!
//! Run with `cargo bench -p guard --bench decision`; `tests/bench.sh` runs it with the
//! cold-start and cedarpy comparisons and prints the ratios.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup: a failure must stop the run"
)]
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::{hint::black_box, str::FromStr, sync::Arc};

use cedar_policy::{Authorizer, Context, Entities, EntityTypeName, EntityUid, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use guard::{
    EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, NoAudit, PolicyFile, PolicySources, Principal,
    RequestIds, ResourceFacts, ToolCall,
};
use serde_json::json;

const RESTART: &str = "restart-service___restart_service";

fn config() -> GuardConfig {
    GuardConfig {
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    }
}

fn guard(sources: PolicySources) -> Guard {
    Guard::new(&sources, &config(), Arc::new(NoAudit))
}

fn principal() -> Principal {
    Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: [
            ("scope".to_owned(), "devops".to_owned()),
            ("username".to_owned(), "ops-agent".to_owned()),
        ]
        .into(),
    }
}

const TOOLS: [(&str, &str); 4] = [
    (RESTART, "service"),
    ("terminate-instance___terminate_instance", "instance_id"),
    ("clean-logs___clean_logs", "log_group"),
    ("get-metrics___get_metrics", "service_name"),
];

/// The shipped policies plus `n` more gateway templates, each for one made-up value, all on
/// the restart tool or spread evenly over the four tools.
fn with_extra_policies(n: usize, spread: bool) -> PolicySources {
    let mut files = PolicySources::embedded().files().to_vec();
    let text: String = (0..n)
        .map(|i| {
            let pick = if spread { i % TOOLS.len() } else { 0 };
            let (tool, argument) = TOOLS.get(pick).copied().unwrap_or(TOOLS[0]);
            format!(
                "@id(\"extra_{i}\")\npermit (principal, action == AgentCore::Action::\"{tool}\", \
                 resource == ?resource)\nwhen {{ context.input has {argument} && \
                 context.input.{argument} == \"value-{i}\" }};\n"
            )
        })
        .collect();
    files.push(PolicyFile {
        name: "gateway/extra.cedar".to_owned(),
        text,
    });
    PolicySources::from_files("bench", files)
}

fn decisions(c: &mut Criterion) {
    let input = json!({"environment": "staging", "service": "api-gateway"});
    let ids = RequestIds::default();
    let principal = principal();
    let known = ToolCall {
        tool: RESTART,
        input: &input,
        principal: Some(&principal),
        ids: &ids,
    };
    let unknown = ToolCall {
        principal: None,
        ..known
    };

    // As a deployed function builds it (`Guard::from_env`).
    let shipped = guard(PolicySources::compiled());
    assert!(shipped.check_call(&known).is_allow());
    assert!(shipped.check_call(&unknown).is_allow());

    // The same request, built once, for Cedar alone.
    let sets = shipped.policy_sets().unwrap();
    let schema = sets.schema();
    let action = EntityUid::from_str(&format!("AgentCore::Action::\"{RESTART}\"")).unwrap();
    let context =
        Context::from_json_value(json!({ "input": input }), Some((schema, &action))).unwrap();
    let request = Request::new(
        EntityUid::from_str("AgentCore::OAuthUser::\"agent-7\"").unwrap(),
        action,
        EntityUid::from_str(&format!("AgentCore::Gateway::\"{EXAMPLE_GATEWAY_ARN}\"")).unwrap(),
        context,
        Some(schema),
    )
    .unwrap();
    let entities = Entities::from_json_value(
        json!([{
            "uid": {"type": "AgentCore::OAuthUser", "id": "agent-7"},
            "attrs": {"id": "agent-7"},
            "parents": [],
            "tags": {"scope": "devops", "username": "ops-agent"},
        }]),
        Some(schema),
    )
    .unwrap();
    let gateway_set = shipped.gateway_set().unwrap();
    let authorizer = Authorizer::new();
    assert_eq!(
        authorizer
            .is_authorized(&request, gateway_set, &entities)
            .decision(),
        cedar_policy::Decision::Allow
    );

    let instance = ResourceFacts::new("Guard::Ec2Instance", "i-0abc")
        .attribute("state", "running")
        .attribute("termination_protected", false)
        .tags([("Environment".to_owned(), "staging".to_owned())]);
    let terminate_input = json!({"environment": "staging", "instance_id": "i-0abc"});
    let terminate = ToolCall {
        tool: "terminate-instance___terminate_instance",
        input: &terminate_input,
        principal: None,
        ids: &ids,
    };
    assert!(shipped.check_resource(&terminate, &instance).is_allow());

    // The same two questions for Cedar alone: the caller unknown, and the resource check.
    let unknown_request = Request::builder()
        .unknown_principal_with_type(EntityTypeName::from_str("AgentCore::OAuthUser").unwrap())
        .action(EntityUid::from_str(&format!("AgentCore::Action::\"{RESTART}\"")).unwrap())
        .resource(
            EntityUid::from_str(&format!("AgentCore::Gateway::\"{EXAMPLE_GATEWAY_ARN}\"")).unwrap(),
        )
        .context(
            Context::from_json_value(
                json!({ "input": input }),
                Some((
                    schema,
                    &EntityUid::from_str(&format!("AgentCore::Action::\"{RESTART}\"")).unwrap(),
                )),
            )
            .unwrap(),
        )
        .schema(schema)
        .build()
        .unwrap();
    let action_entities = schema.action_entities().unwrap();
    assert_eq!(
        authorizer
            .is_authorized_partial(&unknown_request, gateway_set, &action_entities)
            .decision(),
        Some(cedar_policy::Decision::Allow)
    );
    let terminate_action = EntityUid::from_str("Guard::Action::\"terminate_instance\"").unwrap();
    let resource_request = Request::builder()
        .unknown_principal_with_type(EntityTypeName::from_str("AgentCore::OAuthUser").unwrap())
        .action(terminate_action.clone())
        .resource(EntityUid::from_str("Guard::Ec2Instance::\"i-0abc\"").unwrap())
        .context(
            Context::from_json_value(
                json!({ "input": terminate_input }),
                Some((schema, &terminate_action)),
            )
            .unwrap(),
        )
        .schema(schema)
        .build()
        .unwrap();
    let instance_entities = Entities::from_json_value(
        json!([{
            "uid": {"type": "Guard::Ec2Instance", "id": "i-0abc"},
            "attrs": {"state": "running", "termination_protected": false},
            "parents": [],
            "tags": {"environment": "staging"},
        }]),
        Some(schema),
    )
    .unwrap();
    let resource_set = sets.resource_set();
    assert_eq!(
        authorizer
            .is_authorized_partial(&resource_request, resource_set, &instance_entities)
            .decision(),
        Some(cedar_policy::Decision::Allow)
    );

    let big = guard(with_extra_policies(1000, false));
    assert!(big.check_call(&known).is_allow());
    assert_eq!(big.policy_sets().unwrap().gateway_len(), 1004);
    let spread = guard(with_extra_policies(1000, true));
    assert!(spread.check_call(&known).is_allow());
    let big_set = big.gateway_set().unwrap();

    let mut bare = c.benchmark_group("bare_cedar");
    bare.bench_function("known_caller", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&request), gateway_set, &entities))
    });
    bare.bench_function("unknown_caller", |b| {
        b.iter(|| {
            authorizer.is_authorized_partial(
                black_box(&unknown_request),
                gateway_set,
                &action_entities,
            )
        })
    });
    bare.bench_function("resource_check", |b| {
        b.iter(|| {
            authorizer.is_authorized_partial(
                black_box(&resource_request),
                resource_set,
                &instance_entities,
            )
        })
    });
    bare.bench_function("1000_policies_same_tool", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&request), big_set, &entities))
    });
    bare.finish();

    let mut decision = c.benchmark_group("guard_decision");
    decision.bench_function("known_caller", |b| {
        b.iter(|| shipped.check_call(black_box(&known)))
    });
    decision.bench_function("unknown_caller", |b| {
        b.iter(|| shipped.check_call(black_box(&unknown)))
    });
    decision.bench_function("resource_check", |b| {
        b.iter(|| shipped.check_resource(black_box(&terminate), black_box(&instance)))
    });
    decision.bench_function("1000_policies_same_tool", |b| {
        b.iter(|| big.check_call(black_box(&known)))
    });
    decision.bench_function("1000_policies_four_tools", |b| {
        b.iter(|| spread.check_call(black_box(&known)))
    });
    decision.finish();

    let mut construction = c.benchmark_group("guard_construction");
    construction.bench_function("shipped", |b| {
        b.iter(|| guard(black_box(PolicySources::compiled())))
    });
    construction.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
