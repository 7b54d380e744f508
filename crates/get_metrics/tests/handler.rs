//! The handler against a mocked CloudWatch (`aws-smithy-mocks`).

use agentcore_target::{
    testing::{direct, from_gateway, invoke},
    tool_schema::ToolSchema,
};
use aws_sdk_cloudwatch::{
    Client,
    error::ErrorMetadata,
    operation::{
        get_metric_data::{GetMetricDataError, GetMetricDataOutput},
        list_metrics::ListMetricsOutput,
    },
    primitives::DateTime,
    types::{Dimension, Metric, MetricDataResult},
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use get_metrics::GetMetrics;
use guard::Mode;
use serde_json::{Value, json};

#[expect(
    clippy::unwrap_used,
    reason = "a fixture that does not parse fails the test"
)]
fn clusters() -> agentcore_target::ClusterMap {
    "staging=staging-cluster,production=production-cluster"
        .parse()
        .unwrap()
}

/// A GetMetricData answer: for each query id, three datapoints.
fn metric_data(ids: &'static [&'static str]) -> Rule {
    mock!(Client::get_metric_data).then_output(move || {
        let mut out = GetMetricDataOutput::builder();
        for (n, id) in ids.iter().enumerate() {
            let base = 10.0 * (n as f64 + 1.0);
            out = out.metric_data_results(
                MetricDataResult::builder()
                    .id(*id)
                    .timestamps(DateTime::from_secs(1_700_000_000))
                    .timestamps(DateTime::from_secs(1_700_000_060))
                    .timestamps(DateTime::from_secs(1_700_000_120))
                    .values(base)
                    .values(base + 20.0)
                    .values(base + 10.0)
                    .build(),
            );
        }
        out.build()
    })
}

fn list_metrics(clusters: &'static [&'static str]) -> Rule {
    mock!(Client::list_metrics).then_output(move || {
        let mut out = ListMetricsOutput::builder();
        for cluster in clusters {
            out = out.metrics(
                Metric::builder()
                    .namespace("AWS/ECS")
                    .metric_name("CPUUtilization")
                    .dimensions(
                        Dimension::builder()
                            .name("ClusterName")
                            .value(*cluster)
                            .build(),
                    )
                    .dimensions(
                        Dimension::builder()
                            .name("ServiceName")
                            .value("api-gateway")
                            .build(),
                    )
                    .build(),
            );
        }
        out.build()
    })
}

async fn call(rules: &[&Rule], payload: Value) -> agentcore_target::testing::Invoked {
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, rules);
    invoke(
        GetMetrics::new(client, clusters()),
        Mode::Enforce,
        direct(payload),
    )
    .await
}

#[tokio::test]
async fn reads_the_environments_cluster_and_summarises() {
    let data = metric_data(&["m0"]);
    let list = list_metrics(&[]);
    let out = call(
        &[&data, &list],
        json!({"service_name": "api-gateway", "environment": "staging", "minutes": 30}),
    )
    .await;
    assert!(!out.is_error, "{}", out.report);
    assert_eq!((data.num_calls(), list.num_calls()), (1, 0));
    let series = &out.report["result"]["series"][0];
    assert_eq!(series["cluster"], "staging-cluster");
    assert_eq!(series["datapoints"].as_array().unwrap().len(), 3);
    assert_eq!(series["datapoints"][0]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(series["average"], 20.0);
    assert_eq!(series["maximum"], 30.0);
    assert_eq!(out.report["result"]["period_seconds"], 60);
    assert_eq!(out.audit.len(), 1, "read-only: the call check alone");
}

#[tokio::test]
async fn without_an_environment_every_reporting_cluster_is_read() {
    let data = metric_data(&["m0", "m1"]);
    let list = list_metrics(&["production-cluster", "staging-cluster", "staging-cluster"]);
    let out = call(&[&data, &list], json!({"service_name": "api-gateway"})).await;
    assert!(!out.is_error, "{}", out.report);
    let series = out.report["result"]["series"].as_array().unwrap();
    let names: Vec<&str> = series
        .iter()
        .map(|s| s["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["production-cluster", "staging-cluster"]);
    assert_eq!(series[1]["maximum"], 40.0);
}

#[tokio::test]
async fn a_service_without_metrics_is_not_found() {
    let data = metric_data(&[]);
    let list = list_metrics(&[]);
    let out = call(&[&data, &list], json!({"service_name": "ghost"})).await;
    assert_eq!(out.report["error"], "not_found");
    assert_eq!(data.num_calls(), 0);
}

#[tokio::test]
async fn an_unmapped_environment_is_a_configuration_error_without_calls() {
    let data = metric_data(&["m0"]);
    let out = call(
        &[&data],
        json!({"service_name": "api-gateway", "environment": "dev"}),
    )
    .await;
    assert_eq!(out.report["error"], "configuration");
    assert!(out.report["message"].as_str().unwrap().contains("`dev`"));
    assert_eq!(data.num_calls(), 0);
}

#[tokio::test]
async fn bad_arguments_make_no_call() {
    for payload in [
        json!({}),
        json!({"service_name": "api-gateway", "minutes": 0}),
        json!({"service_name": "api-gateway", "minutes": 2000}),
        json!({"service_name": "api-gateway", "minutes": "60"}),
        json!({"service_name": "api-gateway", "minutes": -5}),
        json!({"service_name": "api-gateway", "metric": "DiskUtilization"}),
        json!({"service_name": "api gateway"}),
        json!({"service_name": "api-gateway", "period": 60}),
    ] {
        let data = metric_data(&["m0"]);
        let list = list_metrics(&["staging-cluster"]);
        let out = call(&[&data, &list], payload.clone()).await;
        assert_eq!(
            out.report["error"], "invalid_input",
            "{payload}: {}",
            out.report
        );
        assert_eq!((data.num_calls(), list.num_calls()), (0, 0), "{payload}");
    }
}

#[tokio::test]
async fn a_call_check_deny_makes_no_call() {
    let data = metric_data(&["m0"]);
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&data]);
    let event = from_gateway(
        json!({"service_name": "api-gateway"}),
        "metrics-v2___get_metrics",
    );
    let out = invoke(GetMetrics::new(client, clusters()), Mode::Enforce, event).await;
    assert_eq!(out.report["status"], "denied");
    assert_eq!(data.num_calls(), 0);
}

#[tokio::test]
async fn throttling_is_a_tool_error() {
    let throttled = mock!(Client::get_metric_data).then_error(|| {
        GetMetricDataError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("rate exceeded")
                .build(),
        )
    });
    let out = call(
        &[&throttled],
        json!({"service_name": "api-gateway", "environment": "staging"}),
    )
    .await;
    assert_eq!(out.report["error"], "throttled");
}

#[test]
fn the_tool_schema_matches_the_parser_and_the_cedar_schema() {
    let schema = ToolSchema::parse(include_str!("../tool_schema.json")).unwrap();
    let example = json!({"service_name": "api-gateway", "environment": "staging", "metric": "MemoryUtilization", "minutes": 30});
    let problems = schema.check_parser::<get_metrics::MetricsInput>(&example);
    assert!(problems.is_empty(), "{problems:#?}");
    let (guard, _) = agentcore_target::testing::guard(Mode::Enforce);
    let problems = schema.check_cedar("get-metrics", guard.policy_sets().unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
}
