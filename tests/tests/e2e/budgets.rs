//! Budgets over time (issue 12), through the built functions, counted in the emulator's
//! DynamoDB: concurrent invocations never exceed a budget, a dry run consumes nothing, and a
//! budget table that cannot be reached denies every mutating call as an error.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::Duration;

use e2e::{
    Function,
    stage::{Stage, report},
    world,
};
use serde_json::{Value, json};

/// The shipped `terminate-per-environment` budget: 3 per environment per hour.
const TERMINATE_LIMIT: usize = 3;

async fn stage(tool: &str, mode: &str, extra: &[(&str, &str)]) -> Stage {
    let mut env = vec![("BUDGETS", "ON")];
    env.extend_from_slice(extra);
    Stage::start(tool, mode, &env).await.unwrap()
}

/// `count` more running staging instances.
async fn staging_instances(s: &Stage, count: i32) -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(&s.config);
    world::run_instances(&ec2, Some("staging"), count)
        .await
        .unwrap()
}

fn terminate(s: &Stage, id: &str, dry_run: bool) -> Value {
    let payload = json!({"environment": "staging", "instance_id": id, "dry_run": dry_run});
    report(s.invoke(&payload).unwrap()).unwrap().0
}

/// The budget check of a report, if it ran.
fn budget_check(report: &Value) -> Option<&Value> {
    report["guard"]["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["check"] == "budget"))
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_terminations_in_staging_stop_exactly_at_the_budget() {
    // N + k = 3 + 5: eight terminations of eight different staging instances, each allowed
    // by both checks, sent at once to eight function processes polling one Runtime API.
    const PARALLEL: usize = 8;
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    let targets = staging_instances(&s, i32::try_from(PARALLEL).unwrap()).await;
    let mut env = s.emulator.env();
    for (k, v) in [
        ("GATEWAY_ARN", e2e::GATEWAY_ARN),
        ("GUARD_MODE", "ENFORCE"),
        ("BUDGETS", "ON"),
    ] {
        env.push((k.to_owned(), v.to_owned()));
    }
    // The stage's own function is the eighth.
    let others: Vec<Function> = (1..PARALLEL)
        .map(|_| Function::start("terminate_instance", s.api.address(), &env).unwrap())
        .collect();
    // Every process polls before the calls are sent (a debug binary starts in ~0.5 s), so
    // each takes one: they run in parallel, not one after another.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let stage = &s;
    let reports: Vec<Value> = std::thread::scope(|scope| {
        let calls: Vec<_> = targets
            .iter()
            .map(|id| scope.spawn(move || terminate(stage, id, false)))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });

    let ok = reports.iter().filter(|r| r["status"] == "ok").count();
    let over: Vec<&Value> = reports
        .iter()
        .filter(|r| budget_check(r).is_some_and(|b| b["outcome"] == "deny"))
        .collect();
    assert_eq!(ok, TERMINATE_LIMIT, "{reports:#?}");
    assert_eq!(over.len(), PARALLEL - TERMINATE_LIMIT, "{reports:#?}");
    for r in &over {
        let message = r["message"].as_str().unwrap();
        assert!(
            message.contains(
                "budget `terminate-per-environment` is used up for environment `staging`"
            ) && message.contains("the next slot frees up in"),
            "{message}"
        );
    }
    let after = s.snapshot().await.unwrap();
    let terminated = targets
        .iter()
        .filter(|id| after.instance(id) == "terminated")
        .count();
    assert_eq!(
        terminated, TERMINATE_LIMIT,
        "exactly the budget's worth happened"
    );

    // Really in parallel: the calls were spread over the processes.
    let busy = std::iter::once(&s.function)
        .chain(others.iter())
        .filter(|f| !f.audit_records().is_empty())
        .count();
    assert!(busy >= PARALLEL / 2, "only {busy} processes took a call");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_consumes_nothing_and_the_fourth_termination_is_denied() {
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    let targets = staging_instances(&s, 4).await;
    for id in &targets {
        let r = terminate(&s, id, true);
        assert_eq!(r["status"], "ok", "{r}");
        assert!(budget_check(&r).is_none(), "a dry run asks no budget: {r}");
    }
    for id in &targets[..TERMINATE_LIMIT] {
        let r = terminate(&s, id, false);
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(budget_check(&r).unwrap()["outcome"], "allow");
    }
    let fourth = terminate(&s, &targets[3], false);
    assert_eq!(fourth["status"], "denied", "{fourth}");
    assert_eq!(
        budget_check(&fourth).unwrap()["policies"],
        json!(["terminate-per-environment"])
    );
    assert_eq!(s.snapshot().await.unwrap().instance(&targets[3]), "running");

    // The budget check is audited and counted like the others.
    let audit = s.function.audit_records_at_least(4 * 2 + 4 * 3);
    let budget: Vec<&Value> = audit.iter().filter(|r| r["check"] == "budget").collect();
    assert_eq!(budget.len(), 4);
    assert_eq!(budget[3]["outcome"], "deny");
    assert_eq!(
        budget[3]["resource"],
        format!("Guard::Ec2Instance::\"{}\"", targets[3])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn log_only_lets_an_over_budget_termination_through_as_a_would_deny() {
    let s = stage("terminate_instance", "LOG_ONLY", &[]).await;
    let targets = staging_instances(&s, 4).await;
    for id in &targets[..TERMINATE_LIMIT] {
        assert_eq!(terminate(&s, id, false)["status"], "ok");
    }
    let fourth = terminate(&s, &targets[3], false);
    assert_eq!(fourth["status"], "ok", "{fourth}");
    assert_eq!(budget_check(&fourth).unwrap()["outcome"], "would_deny");
    assert!(fourth["message"].as_str().unwrap().starts_with("LOG_ONLY"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_restart_of_one_service_within_ten_minutes_is_denied() {
    let s = stage("restart_service", "ENFORCE", &[]).await;
    let restart = |service: &str| {
        let payload = json!({"environment": "staging", "service": service});
        report(s.invoke(&payload).unwrap()).unwrap().0
    };
    assert_eq!(restart("api-gateway")["status"], "ok");
    assert_eq!(
        restart("worker")["status"],
        "ok",
        "another service has its own budget"
    );
    let again = restart("api-gateway");
    assert_eq!(again["status"], "denied", "{again}");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("budget `restart-per-service` is used up"),
        "{again}"
    );
}

/// Every mutating tool, each with a call both checks allow, against a budget table it cannot
/// use: each is refused, as an error, and changes nothing.
async fn every_mutating_call_is_refused_as_an_error(mode: &str, extra: &[(&str, &str)]) {
    for tool in ["terminate_instance", "restart_service", "clean_logs"] {
        let s = stage(tool, mode, extra).await;
        let before = s.snapshot().await.unwrap();
        let payload = match tool {
            "terminate_instance" => {
                json!({"environment": "staging", "instance_id": s.world.staging.instances[0]})
            }
            "restart_service" => json!({"environment": "staging", "service": "api-gateway"}),
            _ => json!({"log_group": s.world.staging.log_group, "older_than_days": 7}),
        };
        let (r, is_error) = report(s.invoke(&payload).unwrap()).unwrap();
        assert!(is_error, "{tool}: {r}");
        let budget = budget_check(&r).unwrap();
        assert_eq!(budget["outcome"], "error", "{tool}: {r}");
        assert!(
            budget["reason"]
                .as_str()
                .unwrap()
                .contains("the budget could not be checked"),
            "{tool}: {r}"
        );
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "{tool} changed nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_table_that_does_not_exist_refuses_every_mutating_call() {
    every_mutating_call_is_refused_as_an_error("ENFORCE", &[("BUDGET_TABLE", "no-such-table")])
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_budget_table_refuses_every_mutating_call_even_in_log_only() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    every_mutating_call_is_refused_as_an_error(
        "LOG_ONLY",
        &[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_budget_table_or_budgets_off_every_mutating_call_is_refused() {
    let s = stage("terminate_instance", "ENFORCE", &[("BUDGET_TABLE", "")]).await;
    let id = &s.world.staging.instances[0];
    let r = terminate(&s, id, false);
    assert_eq!(r["status"], "denied", "{r}");
    assert!(
        budget_check(&r).unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("BUDGET_TABLE is not set"),
        "{r}"
    );
    assert_eq!(s.snapshot().await.unwrap().instance(id), "running");
}

/// `count` running instances tagged `key` = `staging`, for keys the resource check folds.
async fn instances_tagged(s: &Stage, key: &str, count: i32) -> Vec<String> {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let ec2 = aws_sdk_ec2::Client::new(&s.config);
    let out = ec2
        .run_instances()
        .image_id(world::IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(count)
        .max_count(count)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key(key).value("staging").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.instances()
        .iter()
        .filter_map(|i| i.instance_id().map(ToOwned::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_counts_the_environment_the_resource_check_decided_on_whatever_its_key_spelling()
{
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    // Keys the resource check folds to `environment`: each is staging to the policies, so each
    // must count against staging, not against `(untagged)`.
    let mut targets = Vec::new();
    for key in [
        "Environment ",
        "\u{ff25}nvironment",
        "ENVIRONMENT",
        "environment",
    ] {
        targets.extend(instances_tagged(&s, key, 1).await);
    }
    let reports: Vec<Value> = targets.iter().map(|id| terminate(&s, id, false)).collect();
    let ok = reports.iter().filter(|r| r["status"] == "ok").count();
    assert_eq!(ok, TERMINATE_LIMIT, "{reports:#?}");
    let last = &reports[TERMINATE_LIMIT];
    assert_eq!(budget_check(last).unwrap()["outcome"], "deny", "{last}");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("used up for environment `staging`"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn budget_records_say_what_was_counted_where_and_which_budget_was_full() {
    let s = stage("restart_service", "ENFORCE", &[]).await;
    let restart = || {
        let payload = json!({"environment": "staging", "service": "api-gateway"});
        report(s.invoke(&payload).unwrap()).unwrap().0
    };
    assert_eq!(restart()["status"], "ok");
    assert_eq!(restart()["status"], "denied");
    let audit = s.function.audit_records_at_least(6);
    let budget: Vec<&Value> = audit.iter().filter(|r| r["check"] == "budget").collect();
    assert_eq!(budget.len(), 2, "{audit:#?}");

    let counted = budget[0]["budget"]["counted"].as_array().unwrap();
    let scopes: Vec<(&str, &str)> = counted
        .iter()
        .map(|c| (c["budget"].as_str().unwrap(), c["scope"].as_str().unwrap()))
        .collect();
    assert_eq!(scopes.len(), 2, "{counted:?}");
    assert_eq!(scopes[0].0, "restart-per-service");
    assert!(scopes[0].1.ends_with("/api-gateway"), "{scopes:?}");
    assert_eq!(scopes[1], ("restart-per-environment", "staging"));
    assert!(counted.iter().all(|c| c["slot"].is_u64()), "{counted:?}");

    let full = &budget[1]["budget"]["full"];
    assert_eq!(full["budget"], "restart-per-service", "{full}");
    assert!(full["frees_in_seconds"].as_u64().unwrap() > 500, "{full}");
    assert!(
        full["reason"]
            .as_str()
            .unwrap()
            .contains("budget `restart-per-service` is used up"),
        "{full}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn terminating_an_already_terminated_instance_uses_up_no_budget() {
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    let targets = staging_instances(&s, 3).await;
    let first = terminate(&s, &targets[0], false);
    assert_eq!(first["status"], "ok", "{first}");
    // Three "terminations" of the instance already gone: each a no-op, counted nowhere.
    for _ in 0..3 {
        let again = terminate(&s, &targets[0], false);
        assert_eq!(again["status"], "ok", "{again}");
        assert_eq!(again["result"]["changed"], false, "{again}");
        assert!(
            again["message"]
                .as_str()
                .unwrap()
                .contains("nothing changed, so no budget was used"),
            "{again}"
        );
    }
    // The budget still has room for the two real terminations left.
    for id in &targets[1..] {
        let r = terminate(&s, id, false);
        assert_eq!(r["status"], "ok", "{r}");
    }
    let after = s.snapshot().await.unwrap();
    assert!(targets.iter().all(|id| after.instance(id) == "terminated"));
}

/// `guard` (the built CLI) with `args`, `stdin` on its standard input.
fn guard_cli(args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let mut command = std::process::Command::new(e2e::function::binary("guard").unwrap());
    command.args(args).current_dir(e2e::emulator::workspace());
    let out = e2e::process::output_with_stdin(&mut command, stdin.as_bytes()).unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The one budget decision, three ways: the functions against the table, `guard test` against
/// a stated history, `guard replay --budgets` against the recorded operations. One history —
/// three staging terminations, then a fourth — and the same answer from each.
#[tokio::test(flavor = "multi_thread")]
async fn the_table_guard_test_and_guard_replay_decide_one_history_alike() {
    let s = stage("terminate_instance", "ENFORCE", &[]).await;
    let targets = staging_instances(&s, 4).await;
    let reports: Vec<Value> = targets.iter().map(|id| terminate(&s, id, false)).collect();
    let table: Vec<&str> = reports
        .iter()
        .map(|r| budget_check(r).unwrap()["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(table, ["allow", "allow", "allow", "deny"], "{reports:#?}");

    // guard test: the fourth call, with the three before it as its history.
    let case = json!([{
        "name": "the fourth staging termination of the hour",
        "tool": "terminate-instance___terminate_instance",
        "params": {"environment": "staging", "instance_id": targets[3]},
        "resource": {"type": "Guard::Ec2Instance", "id": targets[3],
                     "tags": {"Environment": "staging", "Name": "staging-node"},
                     "attributes": {"state": "running", "termination_protected": false}},
        "history": [
            {"tool": "terminate_instance", "environment": "staging", "resource": targets[0], "ago": "1m"},
            {"tool": "terminate_instance", "environment": "staging", "resource": targets[1], "ago": "1m"},
            {"tool": "terminate_instance", "environment": "staging", "resource": targets[2], "ago": "1m"}
        ],
        "expected": "DENY", "denied_by": "budget", "policy": "terminate-per-environment"
    }]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fourth.json");
    std::fs::write(&file, case.to_string()).unwrap();
    let (code, text) = guard_cli(&["test", file.to_str().unwrap()], "");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("1 passed, 0 failed"), "{text}");

    // guard replay --budgets: the same budgets decide the recorded calls as the table did.
    let logs = s.function.log_lines().join("\n");
    let (code, text) = guard_cli(
        &[
            "replay",
            "--budgets",
            "policies/budgets.json",
            "--fail-on",
            "newly-allowed,newly-denied,not-replayed",
        ],
        &logs,
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(
            "terminate-instance___terminate_instance budget: 4 replayed, 0 newly denied, 0 newly allowed, 4 unchanged"
        ),
        "{text}"
    );

    // And a candidate of two per hour would have stopped the third.
    let candidate = dir.path().join("budgets.json");
    std::fs::write(
        &candidate,
        r#"{"budgets": [{"id": "terminate-per-environment", "tool": "terminate_instance",
            "per": "environment", "limit": 2, "window": "1h"}]}"#,
    )
    .unwrap();
    let (code, text) = guard_cli(
        &[
            "replay",
            "--budgets",
            candidate.to_str().unwrap(),
            "--fail-on",
            "newly-denied",
        ],
        &logs,
    );
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(
        text.matches("NEWLY DENIED  budget check").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("at most 2 `terminate_instance` per environment"),
        "{text}"
    );
}
