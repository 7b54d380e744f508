//! `restart_service`, built, on the emulator, through the Lambda Runtime API.
//!
//! moto differs from ECS in one way these tests see: a forced new deployment replaces the id of
//! the service's one deployment in place, where ECS adds a new PRIMARY deployment beside the
//! old (then ACTIVE) one until the rollout ends. So a restart is proven by the deployment ids
//! changing, not by their number.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use aws_sdk_ecs::types::Tag;
use e2e::stage::{Stage, report};
use serde_json::{Value, json};

const TOOL: &str = "restart_service";
const GATEWAY_TOOL: &str = "restart-service___restart_service";

async fn stage(mode: &str, extra: &[(&str, &str)]) -> Stage {
    Stage::start(TOOL, mode, extra).await.unwrap()
}

/// Invokes the function as the gateway does, and reads the report.
fn restart(s: &Stage, payload: &Value) -> (Value, bool) {
    report(s.invoke_as_gateway(payload, GATEWAY_TOOL).unwrap()).unwrap()
}

/// The deployment ids of `service` in `cluster`, as ECS reports them now.
async fn deployments(s: &Stage, cluster: &str, service: &str) -> Vec<String> {
    aws_sdk_ecs::Client::new(&s.config)
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap()
        .services()
        .iter()
        .flat_map(|s| s.deployments())
        .filter_map(|d| d.id().map(ToOwned::to_owned))
        .collect()
}

/// Adds a service to `cluster`, tagged `Environment=<environment>` when given.
async fn add_service(s: &Stage, cluster: &str, service: &str, environment: Option<&str>) {
    let tags = environment.map(|e| vec![Tag::builder().key("Environment").value(e).build()]);
    aws_sdk_ecs::Client::new(&s.config)
        .create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition("app")
        .desired_count(1)
        .set_tags(tags)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staging_restart_starts_a_new_deployment() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    let key = format!("{}/api-gateway", s.world.staging.cluster);
    let old = before.deployments[&key].clone();

    let (report, is_error) = restart(
        &s,
        &json!({"environment": "staging", "service": "api-gateway"}),
    );
    assert!(!is_error, "{report}");
    let result = &report["result"];
    assert_eq!(result["cluster"], s.world.staging.cluster);
    assert_eq!(result["service"], "api-gateway");
    assert_eq!(result["changed"], true);
    assert_eq!(result["desired_count"], 2);
    assert_eq!(result["previous_deployment_id"], old[0]);

    let mut after = s.snapshot().await.unwrap();
    let new = after.deployments.remove(&key).unwrap();
    assert_ne!(new, old, "a restart starts a new deployment: {report}");
    assert_eq!(result["deployment_id"], new[0]);
    assert!(!old.contains(&new[0]));
    let mut others = before.clone();
    others.deployments.remove(&key);
    assert_eq!(after, others, "nothing but the one service changed");

    let audit = s.function.audit_records_at_least(2);
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|r| r["decision"] == "ALLOW"));
}

#[tokio::test(flavor = "multi_thread")]
async fn production_restart_is_denied_and_its_deployments_are_unchanged() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    for service in ["api-gateway", "worker"] {
        let (report, is_error) = restart(
            &s,
            &json!({"environment": "production", "service": service}),
        );
        assert!(is_error, "{report}");
        assert_eq!(report["status"], "denied", "{report}");
        assert_eq!(report["guard"]["checks"][0]["check"], "call", "{report}");
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "a deny changes nothing"
        );
    }
    let audit = s.function.audit_records_at_least(2);
    assert_eq!(audit.iter().filter(|r| r["decision"] == "DENY").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn claiming_staging_for_a_production_or_untagged_service_is_denied_by_its_real_tags() {
    let s = stage("ENFORCE", &[]).await;
    let cluster = s.world.staging.cluster.clone();
    // The world's production service in the staging cluster, and one nobody tagged.
    add_service(&s, &cluster, "untagged", None).await;
    let untagged = deployments(&s, &cluster, "untagged").await;
    let before = s.snapshot().await.unwrap();
    for service in [s.world.misplaced_service.as_str(), "untagged"] {
        let (report, is_error) =
            restart(&s, &json!({"environment": "staging", "service": service}));
        assert!(is_error, "{service}: {report}");
        assert_eq!(report["status"], "denied", "{report}");
        assert_eq!(report["guard"]["checks"][0]["outcome"], "allow", "{report}");
        assert_eq!(
            report["guard"]["checks"][1]["check"], "resource",
            "{report}"
        );
        assert_eq!(report["guard"]["checks"][1]["outcome"], "deny", "{report}");
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "a deny changes nothing"
        );
        assert_eq!(deployments(&s, &cluster, "untagged").await, untagged);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_map_pointing_staging_at_production_is_caught_by_the_real_tags() {
    // The agent's claim and the map both say staging; the services' real tags say production.
    let s = stage(
        "ENFORCE",
        &[(
            "ECS_CLUSTERS",
            "staging=production-cluster,dev=production-cluster",
        )],
    )
    .await;
    let before = s.snapshot().await.unwrap();
    for (environment, service) in [("staging", "api-gateway"), ("dev", "worker")] {
        let (report, is_error) =
            restart(&s, &json!({"environment": environment, "service": service}));
        assert!(is_error, "{environment} {service}: {report}");
        assert_eq!(report["status"], "denied", "{report}");
        assert_eq!(report["guard"]["checks"][1]["outcome"], "deny", "{report}");
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "a deny changes nothing"
        );
    }
    let audit = s.function.audit_records_at_least(4);
    let denied: Vec<&Value> = audit.iter().filter(|r| r["decision"] == "DENY").collect();
    assert_eq!(denied.len(), 2);
    assert!(
        denied.iter().all(|r| r["resource"]
            .as_str()
            .unwrap()
            .contains(":service/production-cluster/")),
        "{denied:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_reports_the_current_deployment_and_changes_nothing() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    let key = format!("{}/worker", s.world.staging.cluster);
    let (report, is_error) = restart(
        &s,
        &json!({"environment": "staging", "service": "worker", "dry_run": true}),
    );
    assert!(!is_error, "{report}");
    let result = &report["result"];
    assert_eq!(result["changed"], false);
    assert_eq!(result["dry_run"], true);
    assert_eq!(result["cluster"], s.world.staging.cluster);
    assert_eq!(result["deployment_id"], before.deployments[&key][0]);
    assert_eq!(result["desired_count"], 2);
    assert!(report["message"].as_str().unwrap().starts_with("dry run: "));
    assert_eq!(s.snapshot().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_only_lets_a_production_dry_run_through_and_changes_nothing() {
    let s = stage("LOG_ONLY", &[]).await;
    let before = s.snapshot().await.unwrap();
    let (report, is_error) = restart(
        &s,
        &json!({"environment": "production", "service": "api-gateway", "dry_run": true}),
    );
    assert!(!is_error, "{report}");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .starts_with("LOG_ONLY: the guard would have denied"),
        "{report}"
    );
    assert_eq!(report["result"]["cluster"], s.world.production.cluster);
    assert_eq!(s.snapshot().await.unwrap(), before);
    let audit = s.function.audit_records_at_least(2);
    assert_eq!(audit.len(), 2);
    // The gateway lets a production claim through (to be approved); the real tag would deny.
    assert_eq!(
        (audit[0]["outcome"].as_str(), audit[1]["outcome"].as_str()),
        (Some("allow"), Some("would_deny")),
        "{audit:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inactive_service_is_refused_without_an_update() {
    // moto would force a new deployment of a deleted (INACTIVE) service; ECS would refuse.
    // The tool refuses before asking either.
    let s = stage("ENFORCE", &[]).await;
    let cluster = s.world.staging.cluster.clone();
    add_service(&s, &cluster, "retired", Some("staging")).await;
    aws_sdk_ecs::Client::new(&s.config)
        .delete_service()
        .cluster(&cluster)
        .service("retired")
        .force(true)
        .send()
        .await
        .unwrap();
    let retired = deployments(&s, &cluster, "retired").await;
    let (report, is_error) = restart(&s, &json!({"environment": "staging", "service": "retired"}));
    assert!(is_error, "{report}");
    assert_eq!(report["error"], "conflict", "{report}");
    assert_eq!(
        report["message"],
        format!(
            "service `retired` in cluster `{cluster}` is INACTIVE, not ACTIVE; only an active service can be restarted"
        )
    );
    assert_eq!(deployments(&s, &cluster, "retired").await, retired);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_clear_and_change_nothing() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    for (payload, error, message) in [
        (
            json!({"environment": "dev", "service": "api-gateway"}),
            "configuration",
            "no ECS cluster is configured for environment `dev` (ECS_CLUSTERS maps: production, staging)",
        ),
        (
            json!({"environment": "staging", "service": "billing"}),
            "not_found",
            "service `billing` not found in cluster `staging-cluster`",
        ),
        (
            json!({"environment": "staging", "service": "api-gateway", "force": true}),
            "invalid_input",
            "invalid argument `force`: unknown field `force`, expected one of `environment`, `service`, `dry_run`, `approval_id`",
        ),
    ] {
        let (report, is_error) = restart(&s, &payload);
        assert!(is_error, "{report}");
        assert_eq!(report["error"], error, "{report}");
        assert_eq!(report["message"], message, "{report}");
    }
    assert_eq!(s.snapshot().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_cluster_map_refuses_every_call_and_the_function_keeps_serving() {
    let s = stage("ENFORCE", &[("ECS_CLUSTERS", "staging:staging-cluster")]).await;
    let before = s.snapshot().await.unwrap();
    for _ in 0..2 {
        let (report, is_error) = restart(
            &s,
            &json!({"environment": "staging", "service": "api-gateway"}),
        );
        assert!(is_error, "{report}");
        assert_eq!(report["error"], "configuration", "{report}");
        assert_eq!(
            report["message"],
            "the function is misconfigured, nothing was called: ECS_CLUSTERS entry `staging:staging-cluster` is not `environment=cluster`"
        );
    }
    assert_eq!(s.snapshot().await.unwrap(), before);
    let mut function = s.function;
    assert!(function.is_running());
}

#[tokio::test(flavor = "multi_thread")]
async fn misrouted_and_malformed_invocations_change_nothing_and_the_function_keeps_serving() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    let payload = json!({"environment": "staging", "service": "api-gateway"});

    // Another tool's name: refused before anything is read.
    let (report, is_error) = report(
        s.invoke_as_gateway(&payload, "terminate-instance___terminate_instance")
            .unwrap(),
    )
    .unwrap();
    assert!(is_error, "{report}");
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains("misrouted call"),
        "{report}"
    );
    // Client contexts Lambda's front door would never pass: one audited refusal each.
    for raw in [
        r#"{"custom":{"bedrockAgentCoreToolName":["restart_service"]}}"#,
        "{restart",
    ] {
        let answer = s
            .api
            .invoke(
                e2e::Invocation::json(&payload).with_client_context(raw),
                std::time::Duration::from_secs(30),
            )
            .unwrap();
        let (refusal, is_error) = e2e::stage::report(answer).unwrap();
        assert!(is_error, "{raw}: {refusal}");
        assert!(
            refusal["message"]
                .as_str()
                .unwrap()
                .contains("InvalidClientContext"),
            "{raw}: {refusal}"
        );
    }
    let refused = s.function.audit_records_at_least(3);
    assert_eq!(
        refused.iter().filter(|r| r["asked"] == "refused").count(),
        3,
        "{refused:?}"
    );
    assert_eq!(s.snapshot().await.unwrap(), before);

    // Still serving, and still guarding.
    let (report, is_error) = restart(&s, &payload);
    assert!(!is_error, "{report}");
    let key = format!("{}/api-gateway", s.world.staging.cluster);
    assert_ne!(
        s.snapshot().await.unwrap().deployments[&key],
        before.deployments[&key]
    );
    let mut function = s.function;
    assert!(function.is_running());
}
