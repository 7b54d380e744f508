//! The guard's cost, each figure beside Cedar alone on the same request (DESIGN.md §9):
//!
//! - `bare_cedar/*`: Cedar alone, the request, entities and policy set built in advance: the
//!   known-caller gateway request (`is_authorized`), the same with the caller unknown
//!   (`is_authorized_partial`, as a tool Lambda asks), and the resource request on a real
//!   instance (partial, caller unknown) against the resource set;
//! - `guard_decision/*`: the same questions from JSON arguments and resource facts to a
//!   decision and its audit record; `known_caller_changing` asks for two callers in turn, so
//!   the store with the caller added, kept for the caller's next request, is built every time;
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

use cedar_policy::{Authorizer, Context, Entities, EntityTypeName, EntityUid, Request, Schema};
use criterion::{Criterion, criterion_group, criterion_main};
use guard::{
    ActionType, CallerType, EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, NoAudit, PolicyFile,
    PolicySources, Principal, RequestIds, ResourceFacts, ToolCall,
};
use serde_json::{Value, json};

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
    (TERMINATE, "instance_id"),
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
                "@id(\"extra_{i}\")\npermit (principal, action == {}, resource == ?resource)\n\
                 when {{ context.input has {argument} && context.input.{argument} == \"value-{i}\" \
                 }};\n",
                ActionType::Call.uid_string(tool)
            )
        })
        .collect();
    files.push(PolicyFile {
        name: "gateway/extra.cedar".to_owned(),
        text,
    });
    PolicySources::from_files("bench", files)
}

const TERMINATE: &str = "terminate-instance___terminate_instance";

/// What every benchmark asks about: a restart by a known or unknown caller, and a terminate on
/// a staging instance.
struct Asked {
    input: Value,
    terminate_input: Value,
    ids: RequestIds,
    principal: Principal,
    instance: ResourceFacts,
}

impl Asked {
    fn new() -> Self {
        Self {
            input: json!({"environment": "staging", "service": "api-gateway"}),
            terminate_input: json!({"environment": "staging", "instance_id": "i-0abc"}),
            ids: RequestIds::default(),
            principal: principal(),
            instance: ResourceFacts::new("Guard::Ec2Instance", "i-0abc")
                .attribute("state", "running")
                .attribute("termination_protected", false)
                .tags([("Environment".to_owned(), "staging".to_owned())]),
        }
    }

    fn known(&self) -> ToolCall<'_> {
        ToolCall {
            tool: RESTART,
            input: &self.input,
            principal: Some(&self.principal),
            ids: &self.ids,
        }
    }

    fn unknown(&self) -> ToolCall<'_> {
        ToolCall {
            principal: None,
            ..self.known()
        }
    }

    fn terminate(&self) -> ToolCall<'_> {
        ToolCall {
            tool: TERMINATE,
            input: &self.terminate_input,
            principal: None,
            ids: &self.ids,
        }
    }
}

/// The guard's three questions as Cedar alone asks them: the request and entities built in
/// advance.
struct Bare {
    known: Request,
    known_entities: Entities,
    unknown: Request,
    action_entities: Entities,
    resource: Request,
    resource_entities: Entities,
}

impl Bare {
    fn new(schema: &Schema, asked: &Asked) -> Self {
        let action = EntityUid::from_str(&ActionType::Call.uid_string(RESTART)).unwrap();
        let gateway =
            EntityUid::from_str(&format!("AgentCore::Gateway::\"{EXAMPLE_GATEWAY_ARN}\"")).unwrap();
        let context = |input: &Value, action: &EntityUid| {
            Context::from_json_value(json!({ "input": input }), Some((schema, action))).unwrap()
        };
        let known = Request::new(
            EntityUid::from_str(&asked.principal.uid_string()).unwrap(),
            action.clone(),
            gateway.clone(),
            context(&asked.input, &action),
            Some(schema),
        )
        .unwrap();
        let caller_type = EntityTypeName::from_str(CallerType::OAuthUser.entity_type()).unwrap();
        let unknown = Request::builder()
            .unknown_principal_with_type(caller_type.clone())
            .action(action.clone())
            .resource(gateway)
            .context(context(&asked.input, &action))
            .schema(schema)
            .build()
            .unwrap();
        let terminate =
            EntityUid::from_str(&ActionType::Resource.uid_string("terminate_instance")).unwrap();
        let resource = Request::builder()
            .unknown_principal_with_type(caller_type)
            .action(terminate.clone())
            .resource(EntityUid::from_str(&asked.instance.uid_string()).unwrap())
            .context(context(&asked.terminate_input, &terminate))
            .schema(schema)
            .build()
            .unwrap();
        let entities = |json: Value| Entities::from_json_value(json, Some(schema)).unwrap();
        Self {
            known,
            known_entities: entities(json!([{
                "uid": {"type": "AgentCore::OAuthUser", "id": "agent-7"},
                "attrs": {"id": "agent-7"},
                "parents": [],
                "tags": {"scope": "devops", "username": "ops-agent"},
            }])),
            unknown,
            action_entities: schema.action_entities().unwrap(),
            resource,
            resource_entities: entities(json!([{
                "uid": {"type": "Guard::Ec2Instance", "id": "i-0abc"},
                "attrs": {"state": "running", "termination_protected": false},
                "parents": [],
                "tags": {"environment": "staging"},
            }])),
        }
    }
}

fn bare_cedar(c: &mut Criterion) {
    let asked = Asked::new();
    // As a deployed function builds it (`Guard::from_env`); Cedar alone asks its sets.
    let shipped = guard(PolicySources::compiled());
    let sets = shipped.policy_sets().unwrap();
    let bare = Bare::new(sets.schema(), &asked);
    let gateway_set = shipped.gateway_set().unwrap();
    let resource_set = sets.resource_set();
    let big = guard(with_extra_policies(1000, false));
    let big_set = big.gateway_set().unwrap();
    let authorizer = Authorizer::new();
    let allowed = Some(cedar_policy::Decision::Allow);
    assert_eq!(
        authorizer
            .is_authorized(&bare.known, gateway_set, &bare.known_entities)
            .decision(),
        cedar_policy::Decision::Allow
    );
    let partial = |request, set, entities| {
        authorizer
            .is_authorized_partial(request, set, entities)
            .decision()
    };
    assert_eq!(
        partial(&bare.unknown, gateway_set, &bare.action_entities),
        allowed
    );
    assert_eq!(
        partial(&bare.resource, resource_set, &bare.resource_entities),
        allowed
    );

    let mut group = c.benchmark_group("bare_cedar");
    group.bench_function("known_caller", |b| {
        b.iter(|| {
            authorizer.is_authorized(black_box(&bare.known), gateway_set, &bare.known_entities)
        })
    });
    group.bench_function("unknown_caller", |b| {
        b.iter(|| {
            authorizer.is_authorized_partial(
                black_box(&bare.unknown),
                gateway_set,
                &bare.action_entities,
            )
        })
    });
    group.bench_function("resource_check", |b| {
        b.iter(|| {
            authorizer.is_authorized_partial(
                black_box(&bare.resource),
                resource_set,
                &bare.resource_entities,
            )
        })
    });
    group.bench_function("1000_policies_same_tool", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&bare.known), big_set, &bare.known_entities))
    });
    group.finish();
}

fn guard_decision(c: &mut Criterion) {
    let asked = Asked::new();
    let (known, unknown, terminate) = (asked.known(), asked.unknown(), asked.terminate());
    let shipped = guard(PolicySources::compiled());
    assert!(shipped.check_call(&known).is_allow());
    assert!(shipped.check_call(&unknown).is_allow());
    assert!(
        shipped
            .check_resource(&terminate, &asked.instance)
            .is_allow()
    );
    let big = guard(with_extra_policies(1000, false));
    assert!(big.check_call(&known).is_allow());
    assert_eq!(
        big.policy_sets().unwrap().gateway_len(),
        shipped.policy_sets().unwrap().gateway_len() + 1000
    );
    let spread = guard(with_extra_policies(1000, true));
    assert!(spread.check_call(&known).is_allow());

    let mut group = c.benchmark_group("guard_decision");
    group.bench_function("known_caller", |b| {
        b.iter(|| shipped.check_call(black_box(&known)))
    });
    // Two callers in turn: the store with the caller added is kept for the next request of
    // the same caller only, so here every request builds it (the figure for a new caller).
    let other = Principal::OAuthUser {
        id: "agent-8".to_owned(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };
    let other_call = ToolCall {
        principal: Some(&other),
        ..asked.known()
    };
    assert!(shipped.check_call(&other_call).is_allow());
    group.bench_function("known_caller_changing", |b| {
        let mut turn = false;
        b.iter(|| {
            turn = !turn;
            shipped.check_call(black_box(if turn { &known } else { &other_call }))
        })
    });
    group.bench_function("unknown_caller", |b| {
        b.iter(|| shipped.check_call(black_box(&unknown)))
    });
    group.bench_function("resource_check", |b| {
        b.iter(|| shipped.check_resource(black_box(&terminate), black_box(&asked.instance)))
    });
    group.bench_function("1000_policies_same_tool", |b| {
        b.iter(|| big.check_call(black_box(&known)))
    });
    group.bench_function("1000_policies_four_tools", |b| {
        b.iter(|| spread.check_call(black_box(&known)))
    });
    group.finish();
}

fn guard_construction(c: &mut Criterion) {
    let mut group = c.benchmark_group("guard_construction");
    group.bench_function("shipped", |b| {
        b.iter(|| guard(black_box(PolicySources::compiled())))
    });
    group.finish();
}

criterion_group!(benches, bare_cedar, guard_decision, guard_construction);
criterion_main!(benches);
