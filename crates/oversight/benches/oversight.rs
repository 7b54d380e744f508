//! What the operators' steps add to a tool call (issue 24), each figure beside its reference in
//! the same run:
//!
//! - `stop_switch/cached_read`: [`StopSwitch::state`] answered from its cache, as every mutating
//!   call but one per [`STOP_CACHE`] reads it (target ≤ 1 µs). The switch is primed with one
//!   `GetItem` answered by aws-smithy-mocks and read again while the read is fresh: a batch of
//!   reads starts on a switch primed at most [`PRIME_AGE`] ago, and the benchmark checks that no
//!   read reached DynamoDB beyond the primings. Polled once with a no-op waker: a cached read
//!   never awaits, so no runtime's scheduling is measured;
//! - `stop_switch/cached_read_stopped`: the same while the tools are stopped (the record of who,
//!   when and why is cloned);
//! - `stop_switch/uncached_read_mocked`: the reference, what every call would pay without the
//!   cache, less the network: one read through the SDK's pipeline (request built, signed,
//!   answered by the mock, parsed) on a current-thread runtime. A real `GetItem` adds a round
//!   trip to DynamoDB on top;
//! - `approval/check`: the approval check of a call naming an approval, as
//!   `agentcore_target` makes it once the request is read (the `GetItem` and the consuming
//!   `UpdateItem` are DynamoDB round trips and not measured): the bound arguments, [`usable`]
//!   (the digest over the call and the resource as read), the grant, and the guard's resource
//!   check with the approval in `context.approval` (target ≤ 50 µs);
//! - `approval/usable`: the binding alone (canonical JSON and SHA-256 of the call);
//! - `approval/may_approve`: what `guard approve` and the approval endpoint ask before a
//!   person's answer is recorded (the request read back, the policies asked);
//! - `approval/bare_cedar`: the reference, Cedar alone (`is_authorized`) on the same request
//!   with the approval in its context, request and entities built in advance.
//!
//! Run with `cargo bench -p oversight --bench oversight`; `tests/bench.sh` runs it with the
//! other benchmarks and reports the figures in one table.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup: a failure must stop the run"
)]
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::{
    hint::black_box,
    pin::pin,
    str::FromStr,
    sync::Arc,
    task::{Context as TaskContext, Poll, Waker},
    time::{Duration, Instant, SystemTime},
};

use aws_sdk_dynamodb::{Client, operation::get_item::GetItemOutput, types::AttributeValue};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use cedar_policy::{Authorizer, Context, Entities, EntityUid, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use guard::{
    ActionType, EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, NoAudit, PolicySources, Principal,
    RequestIds, ResourceFacts, ToolCall,
};
use oversight::{
    ApprovalRequest, Call, STOP_CACHE, Status, StopSwitch, SwitchState, bound_arguments, grant,
    may_approve, usable,
};
use serde_json::{Value, json};

/// The oldest a primed switch may be when a batch of cached reads starts. Criterion's longest
/// batch (the last of its 3 s warm-up) stays well under the 5 s [`STOP_CACHE`] beyond it.
const PRIME_AGE: Duration = Duration::from_secs(2);

/// A future that is ready at its first poll, polled once; `None` if it would wait.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A `GetItem` answered with `item` (none: the tools run) as often as it is asked.
fn get_item(item: Option<Vec<(&'static str, &'static str)>>) -> Rule {
    mock!(Client::get_item)
        .sequence()
        .output(move || {
            let item = item.as_ref().map(|fields| {
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), AttributeValue::S((*v).to_owned())))
                    .collect()
            });
            GetItemOutput::builder().set_item(item).build()
        })
        .repeatedly()
        .build()
}

/// Benchmarks cached reads of a switch whose table answers with `rule`: each batch runs on a
/// switch primed (one read through the mock, untimed) less than [`PRIME_AGE`] ago.
fn cached_reads(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    rule: &Rule,
    expected: &SwitchState,
) {
    let rt = runtime();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [rule]);
    let prime = || {
        let switch = StopSwitch::new(client.clone(), "agent-guard-budgets");
        assert_eq!(&rt.block_on(switch.state()).unwrap(), expected);
        (switch, Instant::now())
    };
    let (mut switch, mut primed_at) = prime();
    let mut primings = 1;
    let before = rule.num_calls();
    c.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            if primed_at.elapsed() > PRIME_AGE {
                (switch, primed_at) = prime();
                primings += 1;
            }
            let started = Instant::now();
            for _ in 0..iterations {
                black_box(ready(black_box(&switch).state()).unwrap().unwrap());
            }
            let elapsed = started.elapsed();
            assert!(
                primed_at.elapsed() < STOP_CACHE,
                "a batch outlived the cache: reads reached the table"
            );
            elapsed
        })
    });
    assert_eq!(
        rule.num_calls() - before,
        primings - 1,
        "only the primings read the table"
    );
}

fn stop_switch(c: &mut Criterion) {
    let running = get_item(None);
    let stopped = get_item(Some(vec![
        ("stopped_by", "arn:aws:iam::111122223333:user/oncall"),
        ("stopped_at", "2026-12-03T02:37:00Z"),
        ("reason", "agent looping on staging"),
    ]));
    let stopped_state = SwitchState::Stopped(oversight::Stopped {
        by: "arn:aws:iam::111122223333:user/oncall".to_owned(),
        at: "2026-12-03T02:37:00Z".to_owned(),
        reason: "agent looping on staging".to_owned(),
    });

    let mut group = c.benchmark_group("stop_switch");
    cached_reads(&mut group, "cached_read", &running, &SwitchState::Running);
    cached_reads(&mut group, "cached_read_stopped", &stopped, &stopped_state);

    let rt = runtime();
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&running]);
    group.bench_function("uncached_read_mocked", |b| {
        b.iter(|| {
            let switch = StopSwitch::new(client.clone(), "agent-guard-budgets");
            rt.block_on(switch.state()).unwrap()
        })
    });
    group.finish();
}

const RESTART: &str = "restart-service___restart_service";
const APPROVER: &str = "arn:aws:sts::111122223333:assumed-role/agent-guard-oncall/alice";
const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:111122223333:service/production-cluster/api";

/// A production restart by a verified caller, naming its approval, and the service as read.
struct Approved {
    principal: Principal,
    arguments: Value,
    service: ResourceFacts,
    request: ApprovalRequest,
    ids: RequestIds,
}

impl Approved {
    fn new() -> Self {
        let principal = Principal::OAuthUser {
            id: "agent-7".to_owned(),
            tags: [
                ("scope".to_owned(), "devops".to_owned()),
                ("username".to_owned(), "ops-agent".to_owned()),
            ]
            .into(),
        };
        let service = ResourceFacts::new("Guard::EcsService", SERVICE_ARN)
            .attribute("name", "api")
            .attribute("cluster", "production-cluster")
            .attribute("status", "ACTIVE")
            .tags([("Environment".to_owned(), "production".to_owned())]);
        let sent = json!({"environment": "production", "service": "api"});
        let mut request = ApprovalRequest::new(
            &Call {
                tool: "restart_service",
                arguments: &sent,
                caller: Some(&principal),
                resource: &service,
            },
            "a person in role `agent-guard-oncall`",
            "production restarts need a person",
            SystemTime::now(),
        );
        request.status = Status::Approved {
            by: APPROVER.to_owned(),
        };
        let mut arguments = sent;
        if let Value::Object(fields) = &mut arguments {
            fields.insert(
                oversight::APPROVAL_ARGUMENT.to_owned(),
                Value::String(request.id.clone()),
            );
        }
        Self {
            principal,
            arguments,
            service,
            request,
            ids: RequestIds::default(),
        }
    }

    fn call(&self) -> ToolCall<'_> {
        ToolCall {
            tool: RESTART,
            input: &self.arguments,
            principal: Some(&self.principal),
            ids: &self.ids,
        }
    }

    /// The check as the tool makes it once the request is read: `Ok` when the call may run.
    fn check(&self, guard: &Guard, now: SystemTime) -> bool {
        let call = self.call();
        let arguments = bound_arguments(call.input);
        let bound = Call {
            tool: "restart_service",
            arguments: &arguments,
            caller: call.principal,
            resource: &self.service,
        };
        if usable(&self.request, &bound, now).is_err() {
            return false;
        }
        let Status::Approved { by } = &self.request.status else {
            return false;
        };
        let approval = grant(by, &self.request.caller_person);
        guard
            .check_resource_approved(&call, &self.service, Some(&approval))
            .is_allow()
    }
}

/// Cedar alone on the approved call's resource request: the request, with the approval in its
/// context, and the caller and service entities built in advance.
fn bare_request(guard: &Guard, approved: &Approved) -> (Request, Entities) {
    let sets = guard.policy_sets().unwrap();
    let schema = sets.schema();
    let action = EntityUid::from_str(&ActionType::Resource.uid_string("restart_service")).unwrap();
    let approval = grant(APPROVER, &approved.request.caller_person);
    let context = Context::from_json_value(
        json!({"input": approved.arguments, "approval": approval}),
        Some((schema, &action)),
    )
    .unwrap();
    let request = Request::new(
        EntityUid::from_str(&approved.principal.uid_string()).unwrap(),
        action,
        EntityUid::from_str(&approved.service.uid_string()).unwrap(),
        context,
        Some(schema),
    )
    .unwrap();
    let entities = Entities::from_json_value(
        json!([
            {
                "uid": {"type": "AgentCore::OAuthUser", "id": "agent-7"},
                "attrs": {"id": "agent-7"},
                "parents": [],
                "tags": {"scope": "devops", "username": "ops-agent"},
            },
            {
                "uid": {"type": "Guard::EcsService", "id": SERVICE_ARN},
                "attrs": {"name": "api", "cluster": "production-cluster", "status": "ACTIVE"},
                "parents": [],
                "tags": {"environment": "production"},
            },
        ]),
        Some(schema),
    )
    .unwrap();
    (request, entities)
}

fn approval(c: &mut Criterion) {
    // As a deployed function builds it (`Guard::from_env`).
    let guard = Guard::new(
        &PolicySources::compiled(),
        &GuardConfig {
            gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
            ..GuardConfig::default()
        },
        Arc::new(NoAudit),
    );
    let approved = Approved::new();
    let now = SystemTime::now();
    assert!(approved.check(&guard, now), "the approved call runs");
    assert!(
        !guard
            .check_resource(&approved.call(), &approved.service)
            .is_allow(),
        "without its approval it does not"
    );
    assert_eq!(may_approve(&guard, &approved.request, APPROVER), Ok(()));
    let (request, entities) = bare_request(&guard, &approved);
    let resource_set = guard.policy_sets().unwrap().resource_set();
    let authorizer = Authorizer::new();
    assert_eq!(
        authorizer
            .is_authorized(&request, resource_set, &entities)
            .decision(),
        cedar_policy::Decision::Allow
    );
    let arguments = bound_arguments(&approved.arguments);
    let bound = Call {
        tool: "restart_service",
        arguments: &arguments,
        caller: Some(&approved.principal),
        resource: &approved.service,
    };

    let mut group = c.benchmark_group("approval");
    group.bench_function("check", |b| {
        b.iter(|| black_box(&approved).check(&guard, now))
    });
    group.bench_function("usable", |b| {
        b.iter(|| usable(black_box(&approved.request), black_box(&bound), now))
    });
    group.bench_function("may_approve", |b| {
        b.iter(|| may_approve(&guard, black_box(&approved.request), APPROVER))
    });
    group.bench_function("bare_cedar", |b| {
        b.iter(|| authorizer.is_authorized(black_box(&request), resource_set, &entities))
    });
    group.finish();
}

criterion_group!(benches, stop_switch, approval);
criterion_main!(benches);
