//! Local invoke without Docker, as the README shows it: `cargo lambda watch --only-lambda-apis`,
//! the built function started against it, `cargo lambda invoke` with a shipped event — once per
//! function, against the AWS emulator.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use e2e::{Emulator, Function, GATEWAY_ARN, cargo_lambda::Watch, stage::report, world};
use serde_json::Value;

/// Starts `function` against a fresh `cargo lambda watch`, on a seeded emulator, and invokes it
/// with `events/<function>/<event>.json` (and its client context, if one is shipped).
async fn invoke(function: &str, event: &str) -> Value {
    let emulator = Emulator::start().unwrap();
    let world = world::seed(&emulator.sdk_config().await).await.unwrap();
    let watch = Watch::start().unwrap();
    let mut env = emulator.env();
    for (k, v) in [
        ("GATEWAY_ARN", GATEWAY_ARN.to_owned()),
        ("ECS_CLUSTERS", world.ecs_clusters()),
    ] {
        env.push((k.to_owned(), v));
    }
    let _function = Function::start(function, &watch.runtime_api(), &env).unwrap();
    let data = format!("events/{function}/{event}.json");
    let context = format!("events/{function}/{event}.client-context.json");
    let has_context = e2e::emulator::workspace().join(&context).exists();
    watch
        .invoke(&data, has_context.then_some(context.as_str()))
        .unwrap()
}

fn status(answer: Value) -> String {
    let (report, _) = report(e2e::Answer::Response(answer)).unwrap();
    report
        .get("status")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_service_restarts_staging() {
    assert_eq!(
        status(invoke("restart_service", "allow-article-1-restart-staging").await),
        "ok"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn terminate_instance_denies_production() {
    let answer = invoke("terminate_instance", "deny-article-4-terminate-production").await;
    assert_eq!(status(answer), "denied");
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_logs_keeps_the_compliance_records() {
    let answer = invoke("clean_logs", "deny-compliance-audit-records").await;
    assert_eq!(status(answer), "denied");
}

#[tokio::test(flavor = "multi_thread")]
async fn get_metrics_reads_the_emulator() {
    assert_eq!(
        status(invoke("get_metrics", "allow-article-7-get-metrics").await),
        "ok"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_authorizer_denies_production_at_the_gateway() {
    let answer = invoke("authorizer", "interceptor-tools-call-production").await;
    let error = &answer["mcp"]["transformedGatewayResponse"]["body"]["error"];
    assert_eq!(error["code"], -32002, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_approval_endpoint_refuses_a_caller_aws_did_not_verify() {
    let answer = invoke(
        "approval_endpoint",
        "deny-approve-without-verified-identity",
    )
    .await;
    assert_eq!(answer["statusCode"], 403, "{answer}");
}
