//! `terminate_instance`, built, on the emulator, through the Lambda Runtime API.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use e2e::stage::{Stage, report};
use serde_json::json;

const TOOL: &str = "terminate_instance";

async fn stage(mode: &str) -> Stage {
    Stage::start(TOOL, mode, &[]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staging_instance_is_terminated() {
    let s = stage("ENFORCE").await;
    let id = &s.world.staging.instances[0];
    let answer = s
        .invoke(&json!({"environment": "staging", "instance_id": id}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    let after = s.snapshot().await.unwrap();
    assert_eq!(after.instance(id), "terminated");
    assert_eq!(after.instance(&s.world.staging.instances[1]), "running");
    assert_eq!(s.function.audit_records_at_least(2).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn production_stays_running_whatever_the_agent_claims() {
    let s = stage("ENFORCE").await;
    let before = s.snapshot().await.unwrap();
    let prod = &s.world.production.instances[0];
    for (environment, instance) in [
        ("production", prod.as_str()),
        ("staging", prod.as_str()),
        ("dev", prod.as_str()),
        ("staging", s.world.untagged_instance.as_str()),
        ("staging", s.world.staging.protected_instance.as_str()),
    ] {
        let answer = s
            .invoke_as_gateway(
                &json!({"environment": environment, "instance_id": instance}),
                "terminate-instance___terminate_instance",
            )
            .unwrap();
        let (report, is_error) = report(answer).unwrap();
        assert!(is_error, "{environment} {instance}: {report}");
        assert_eq!(report["status"], "denied", "{report}");
    }
    assert_eq!(
        s.snapshot().await.unwrap(),
        before,
        "a deny changes nothing"
    );
    let audit = s.function.audit_records_at_least(9);
    assert_eq!(audit.iter().filter(|r| r["decision"] == "DENY").count(), 5);
    assert!(
        audit
            .iter()
            .all(|r| r["request_ids"]["agentcore"] == "agentcore-request")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_reports_and_changes_nothing() {
    let s = stage("ENFORCE").await;
    let id = &s.world.staging.instances[0];
    let answer = s
        .invoke(&json!({"environment": "staging", "instance_id": id, "dry_run": true}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(report["result"]["changed"], false);
    assert_eq!(s.snapshot().await.unwrap().instance(id), "running");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_client_context_fails_one_invocation_and_the_function_keeps_serving() {
    let s = stage("ENFORCE").await;
    let payload =
        json!({"environment": "production", "instance_id": s.world.production.instances[0]});
    for raw in [
        r#"{"custom":null,"client":null}"#.to_owned(),
        r#"{"custom":{"bedrockAgentCoreToolName":7}}"#.to_owned(),
        "this is not json".to_owned(),
        r#"{"custom":"terminate-instance___terminate_instance"}"#.to_owned(),
    ] {
        let answer = s
            .api
            .invoke(
                e2e::Invocation::json(&payload).with_client_context(raw.clone()),
                std::time::Duration::from_secs(30),
            )
            .unwrap();
        match answer {
            // `"custom": null` is an absent custom map: the call goes on (and is denied).
            e2e::Answer::Response(_) => assert!(raw.contains("null"), "{raw}"),
            e2e::Answer::Error { error_type, .. } => {
                assert_eq!(error_type, "InvalidClientContext", "{raw}");
            }
        }
    }
    let answer = s
        .api
        .invoke(
            e2e::Invocation {
                body: b"{not json".to_vec(),
                client_context: None,
            },
            std::time::Duration::from_secs(30),
        )
        .unwrap();
    assert!(
        matches!(answer, e2e::Answer::Error { ref error_type, .. } if error_type == "InvalidPayload")
    );

    // Still serving, and still guarding.
    let id = &s.world.staging.instances[1];
    let (report, is_error) = report(
        s.invoke(&json!({"environment": "staging", "instance_id": id}))
            .unwrap(),
    )
    .unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(s.snapshot().await.unwrap().instance(id), "terminated");
    let mut function = s.function;
    assert!(function.is_running());
}
