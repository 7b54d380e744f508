//! `get_metrics`, built, on the emulator (CloudWatch through the CBOR adapter), through the
//! Lambda Runtime API.

use e2e::{
    stage::{Stage, report},
    world::CPU_VALUES,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn returns_the_datapoints_that_were_put() {
    let s = Stage::start("get_metrics", "ENFORCE", &[]).await.unwrap();
    let answer = s
        .invoke_as_gateway(
            &json!({"service_name": "api-gateway", "environment": "staging", "minutes": 30}),
            "get-metrics___get_metrics",
        )
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    let series = &report["result"]["series"][0];
    assert_eq!(series["cluster"], "staging-cluster");
    let values: Vec<f64> = series["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, CPU_VALUES);
    let mean = CPU_VALUES.iter().sum::<f64>() / CPU_VALUES.len() as f64;
    assert!((series["average"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert_eq!(series["maximum"], 40.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_across_every_reporting_cluster() {
    let s = Stage::start("get_metrics", "ENFORCE", &[]).await.unwrap();
    let answer = s
        .invoke(&json!({"service_name": "worker", "metric": "MemoryUtilization"}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    let clusters: Vec<&str> = report["result"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(clusters, ["production-cluster", "staging-cluster"]);
    assert_eq!(report["result"]["series"][1]["maximum"], 70.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_without_service_name_is_refused() {
    let s = Stage::start("get_metrics", "ENFORCE", &[]).await.unwrap();
    let (report, is_error) = report(s.invoke(&json!({"environment": "staging"})).unwrap()).unwrap();
    assert!(is_error);
    assert_eq!(report["error"], "invalid_input");
}
