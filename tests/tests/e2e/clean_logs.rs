//! `clean_logs`, built, on the emulator, through the Lambda Runtime API.
//!
//! moto 5.2 neither reports nor sets a log group's deletion protection: that path is covered by
//! the mocked-CloudWatch tests (`crates/clean_logs/tests/handler.rs`).

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use e2e::stage::{Stage, report};
use serde_json::{Value, json};

const TOOL: &str = "clean_logs";

/// A seeded stage running the function in `mode` with `extra` settings.
async fn stage(mode: &str, extra: &[(&str, &str)]) -> Stage {
    Stage::start(TOOL, mode, extra).await.unwrap()
}

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The sum of `storedBytes` the emulator reports for `streams` of `group`.
#[expect(
    deprecated,
    reason = "a log stream's storedBytes is what the function reports, deprecated or not"
)]
async fn stored_bytes(s: &Stage, group: &str, streams: &[String]) -> i64 {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&s.config);
    let out = logs
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    out.log_streams()
        .iter()
        .filter(|st| {
            streams
                .iter()
                .any(|n| Some(n.as_str()) == st.log_stream_name())
        })
        .map(|st| st.stored_bytes().unwrap_or(0))
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn old_streams_are_deleted_and_fresh_ones_kept() {
    let s = stage("ENFORCE", &[]).await;
    let staging = &s.world.staging;
    // An empty stream counts from its creation: one created now is fresh.
    aws_sdk_cloudwatchlogs::Client::new(&s.config)
        .create_log_stream()
        .log_group_name(&staging.log_group)
        .log_stream_name("app/empty")
        .send()
        .await
        .unwrap();
    let before = s.snapshot().await.unwrap();
    let bytes = stored_bytes(&s, &staging.log_group, &staging.old_streams).await;

    let answer = s
        .invoke(&json!({"log_group": staging.log_group, "older_than_days": 7}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(names(&report["result"]["deleted"]), staging.old_streams);
    assert_eq!(report["result"]["remaining_old_streams"], 0);
    // moto reports the streams' message bytes; AWS reports 0 for log streams since 2019.
    assert_eq!(report["result"]["bytes_freed_reported"], bytes);

    let mut expected = before.clone();
    expected.streams.insert(
        staging.log_group.clone(),
        vec!["app/empty".to_owned(), "app/fresh-1".to_owned()],
    );
    assert_eq!(
        s.snapshot().await.unwrap(),
        expected,
        "only the old staging streams are gone"
    );
    let audit = s.function.audit_records_at_least(2);
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|r| r["decision"] == "ALLOW"), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_group_is_untouched_and_no_deny_changes_anything() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    let audit_group = s.world.audit_log_group.clone();
    let staging = s.world.staging.log_group.clone();
    let production = s.world.production.log_group.clone();
    for (payload, tool, policy) in [
        (
            json!({"log_group": audit_group}),
            None,
            "never_clean_compliance_log_group",
        ),
        (
            json!({"log_group": audit_group, "older_than_days": 10}),
            Some("clean-logs___clean_logs"),
            "never_clean_compliance_log_group",
        ),
        (
            json!({"log_group": audit_group, "older_than_days": 10, "dry_run": true}),
            None,
            "never_clean_audit_named_log_group",
        ),
        (
            json!({"log_group": production, "older_than_days": 7}),
            Some("clean-logs___clean_logs"),
            // Production is outside the allowlist: no policy permits it.
            "",
        ),
        // The call check: a target the policies do not know, and another tool's name.
        (
            json!({"log_group": staging, "older_than_days": 7}),
            Some("ops-tools___clean_logs"),
            "",
        ),
        (
            json!({"log_group": staging, "older_than_days": 7}),
            Some("terminate-instance___terminate_instance"),
            "",
        ),
    ] {
        let answer = match tool {
            Some(tool) => s.invoke_as_gateway(&payload, tool),
            None => s.invoke(&payload),
        };
        let (report, is_error) = report(answer.unwrap()).unwrap();
        assert!(is_error, "{payload}: {report}");
        assert_eq!(report["status"], "denied", "{payload}: {report}");
        if !policy.is_empty() {
            let policies = &report["guard"]["checks"][1]["policies"];
            assert!(
                policies.as_array().unwrap().contains(&json!(policy)),
                "{payload}: {report}"
            );
        }
        assert_eq!(
            s.snapshot().await.unwrap(),
            before,
            "{payload}: a deny changes nothing"
        );
    }
    assert_eq!(
        s.snapshot().await.unwrap().streams_of(&audit_group),
        ["2026-11-01-audit", "2026-11-02-audit"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_the_old_streams_and_changes_nothing() {
    let s = stage("ENFORCE", &[]).await;
    let before = s.snapshot().await.unwrap();
    let staging = &s.world.staging;
    let answer = s
        .invoke(&json!({"log_group": staging.log_group, "older_than_days": 7, "dry_run": true}))
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(
        names(&report["result"]["would_delete"]),
        staging.old_streams
    );
    assert_eq!(report["result"]["deleted"], json!([]));
    assert_eq!(s.snapshot().await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_only_lets_a_dry_run_on_the_audit_group_through_and_nothing_changes() {
    let s = stage("LOG_ONLY", &[]).await;
    let before = s.snapshot().await.unwrap();
    let answer = s
        .invoke(
            &json!({"log_group": s.world.audit_log_group, "older_than_days": 7, "dry_run": true}),
        )
        .unwrap();
    let (report, is_error) = report(answer).unwrap();
    assert!(!is_error, "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(
        message.starts_with("LOG_ONLY: the guard would have denied"),
        "{message}"
    );
    assert_eq!(
        report["result"]["would_delete"].as_array().unwrap().len(),
        2
    );
    assert_eq!(s.snapshot().await.unwrap(), before);
    let audit = s.function.audit_records_at_least(2);
    assert!(
        audit.iter().any(|r| r["outcome"] == "would_deny"),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cap_leaves_the_rest_for_the_next_call() {
    let s = stage("ENFORCE", &[("CLEAN_LOGS_MAX_STREAMS", "1")]).await;
    let group = s.world.staging.log_group.clone();
    let payload = json!({"log_group": group, "older_than_days": 7});
    for remaining in [1, 0] {
        let (report, is_error) = report(s.invoke(&payload).unwrap()).unwrap();
        assert!(!is_error, "{report}");
        assert_eq!(report["result"]["deleted"].as_array().unwrap().len(), 1);
        assert_eq!(report["result"]["remaining_old_streams"], remaining);
    }
    let (report, _) = report(s.invoke(&payload).unwrap()).unwrap();
    assert_eq!(report["result"]["deleted"], json!([]), "{report}");
    assert_eq!(
        s.snapshot().await.unwrap().streams_of(&group),
        ["app/fresh-1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_cap_refuses_every_call_and_the_function_keeps_serving() {
    let s = stage("ENFORCE", &[("CLEAN_LOGS_MAX_STREAMS", "lots")]).await;
    let before = s.snapshot().await.unwrap();
    let payload = json!({"log_group": s.world.staging.log_group, "older_than_days": 7});
    for _ in 0..2 {
        let (report, is_error) = report(s.invoke(&payload).unwrap()).unwrap();
        assert!(is_error);
        assert_eq!(report["error"], "configuration", "{report}");
        assert_eq!(
            report["message"],
            "the function is misconfigured, nothing was called: CLEAN_LOGS_MAX_STREAMS is `lots`, which is not a number"
        );
    }
    assert_eq!(s.snapshot().await.unwrap(), before);
    let mut function = s.function;
    assert!(function.is_running());
}

/// A log group with `tags` and one stream that is really old (received 10 days ago).
async fn old_group(s: &Stage, name: &str, tags: &[(&str, &str)]) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&s.config);
    let mut create = logs.create_log_group().log_group_name(name);
    for (k, v) in tags {
        create = create.tags(*k, *v);
    }
    create.send().await.unwrap();
    e2e::world::stream(&s.config, &logs, name, "app/old", e2e::world::OLD_EVENT_AGE)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn only_real_staging_or_dev_groups_are_cleaned_whatever_the_spelling_of_tags_and_names() {
    let s = stage("ENFORCE", &[]).await;
    // Each is denied: the stack's own audit logs, case variants of protection and production,
    // keys that differ only in case, audit and CloudTrail names in odd casing, no tag at all.
    let refused: [(&str, &[(&str, &str)]); 8] = [
        (
            "/aws/lambda/guard-stack-terminate-instance",
            &[("Audit", "true"), ("Environment", "audit")],
        ),
        (
            "/ecs/staging/worker-a",
            &[("Environment", "staging"), ("compliance", "sox")],
        ),
        (
            "/ecs/staging/worker-b",
            &[("Environment", "staging"), ("AUDIT", "yes")],
        ),
        ("/ecs/production/worker", &[("ENVIRONMENT", "production")]),
        (
            "/ecs/staging/worker-c",
            &[("Environment", "staging"), ("environment", "production")],
        ),
        ("/security/aUDIT-staging", &[("Environment", "staging")]),
        ("/aws/Cloudtrail/staging", &[("Environment", "staging")]),
        ("/ecs/untagged/worker", &[]),
    ];
    for (name, tags) in &refused {
        old_group(&s, name, tags).await;
    }
    let allowed = "/ecs/dev/worker";
    old_group(&s, allowed, &[("environment", "dev")]).await;
    let before = s.snapshot().await.unwrap();

    for (name, _) in &refused {
        let (report, is_error) = report(
            s.invoke(&json!({"log_group": name, "older_than_days": 7}))
                .unwrap(),
        )
        .unwrap();
        assert!(is_error, "{name}: {report}");
        assert_eq!(report["status"], "denied", "{name}: {report}");
    }
    assert_eq!(
        s.snapshot().await.unwrap(),
        before,
        "no denied clean changed anything"
    );

    // The lower-case `environment=dev` key is the Environment tag: that group is cleaned.
    let (report, is_error) = report(
        s.invoke(&json!({"log_group": allowed, "older_than_days": 7}))
            .unwrap(),
    )
    .unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(report["result"]["deleted"], json!(["app/old"]), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_received_backdated_events_just_now_is_not_old() {
    let s = stage("ENFORCE", &[]).await;
    let group = &s.world.staging.log_group;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&s.config);
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name("app/backdated")
        .send()
        .await
        .unwrap();
    let ten_days_ago = std::time::SystemTime::now() - e2e::world::OLD_EVENT_AGE;
    let millis = i64::try_from(
        ten_days_ago
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    // Events stamped ten days ago, written now: the stream is in use.
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("app/backdated")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(millis)
                .message("backdated")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (report, is_error) = report(
        s.invoke(&json!({"log_group": group, "older_than_days": 7, "dry_run": true}))
            .unwrap(),
    )
    .unwrap();
    assert!(!is_error, "{report}");
    let would = names(&report["result"]["would_delete"]);
    assert!(!would.contains(&"app/backdated".to_owned()), "{report}");
    assert_eq!(would, s.world.staging.old_streams, "{report}");
}
