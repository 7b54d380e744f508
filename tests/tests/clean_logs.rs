//! `clean_logs`, built, on the emulator, through the Lambda Runtime API.
//!
//! moto 5.2 does not report a log group's `deletionProtectionEnabled` (nor implement
//! `PutLogGroupDeletionProtection`), and the function refuses to clean a group whose protection
//! it cannot read. So most tests point the function at a [`ProtectionReporter`]: a pass-through
//! proxy in front of moto that adds the flag to `DescribeLogGroups` answers, as AWS reports
//! it — `false`, or `true` for the groups a test names. One test talks to moto directly and
//! proves the refusal.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    io::{Cursor, Read, Write},
    net::TcpStream,
    sync::{Arc, OnceLock},
    thread::JoinHandle,
};

use e2e::stage::{Stage, report};
use serde_json::{Value, json};
use tiny_http::{Header, Request, Response, Server};

const TOOL: &str = "clean_logs";
/// The staging application log group `world::seed` creates.
const STAGING_GROUP: &str = "/ecs/staging/api-gateway";

/// A pass-through proxy to the emulator that adds `deletionProtectionEnabled` to every log
/// group `DescribeLogGroups` reports: `true` for the groups named at start, `false` for the
/// rest. Stops when dropped.
struct ProtectionReporter {
    url: String,
    /// The emulator's `host:port`, known once the stage has started it.
    upstream: Arc<OnceLock<String>>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl ProtectionReporter {
    fn start(protected: &[&str]) -> Result<Self, String> {
        let server = Server::http("127.0.0.1:0").map_err(|e| format!("proxy: {e}"))?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or("proxy: no TCP address")?;
        let server = Arc::new(server);
        let upstream: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let protected: Vec<String> = protected.iter().map(|g| (*g).to_owned()).collect();
        let thread = {
            let (server, upstream) = (server.clone(), upstream.clone());
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let response = match upstream.get() {
                        Some(to) => forward(to, &mut request, &protected).unwrap_or_else(|e| {
                            Response::from_data(e.into_bytes()).with_status_code(502)
                        }),
                        None => {
                            Response::from_data(b"no emulator yet".to_vec()).with_status_code(503)
                        }
                    };
                    let _ = request.respond(response);
                }
            })
        };
        Ok(Self {
            url: format!("http://{address}"),
            upstream,
            server,
            thread: Some(thread),
        })
    }

    fn url(&self) -> &str {
        &self.url
    }

    /// Forwards to the emulator at `url` (`http://host:port`) from now on.
    fn forward_to(&self, url: &str) {
        let _ = self
            .upstream
            .set(url.trim_start_matches("http://").to_owned());
    }
}

impl Drop for ProtectionReporter {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Headers that describe one hop, not the message.
const HOP_HEADERS: [&str; 6] = [
    "connection",
    "content-length",
    "transfer-encoding",
    "expect",
    "date",
    "server",
];

/// Sends `request` to `upstream` as HTTP/1.0 (one exchange per connection, no chunking) and
/// answers with the emulator's response, `DescribeLogGroups` with the protection flag added.
fn forward(
    upstream: &str,
    request: &mut Request,
    protected: &[String],
) -> Result<Response<Cursor<Vec<u8>>>, String> {
    let mut body = Vec::new();
    request
        .as_reader()
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    let mut head = format!("{} {} HTTP/1.0\r\n", request.method(), request.url());
    for h in request.headers() {
        let field = h.field.as_str().as_str();
        if !HOP_HEADERS.iter().any(|f| field.eq_ignore_ascii_case(f)) {
            head.push_str(&format!("{field}: {}\r\n", h.value));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut stream = TcpStream::connect(upstream).map_err(|e| e.to_string())?;
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;

    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the emulator's answer has no header end")?;
    let (head, rest) = raw.split_at(end);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("the emulator's answer has no status")?;
    let mut body = rest.get(4..).unwrap_or_default().to_vec();
    let describes_groups = request.headers().iter().any(|h| {
        h.field.equiv("x-amz-target") && h.value.as_str() == "Logs_20140328.DescribeLogGroups"
    });
    if status == 200 && describes_groups {
        body = with_protection(&body, protected)?;
    }
    let mut response = Response::from_data(body).with_status_code(status);
    for (field, value) in lines.filter_map(|l| l.split_once(':')) {
        if !HOP_HEADERS
            .iter()
            .any(|f| field.trim().eq_ignore_ascii_case(f))
            && let Ok(header) = Header::from_bytes(field.trim(), value.trim())
        {
            response.add_header(header);
        }
    }
    Ok(response)
}

fn with_protection(body: &[u8], protected: &[String]) -> Result<Vec<u8>, String> {
    let mut answer: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if let Some(groups) = answer.get_mut("logGroups").and_then(Value::as_array_mut) {
        for group in groups.iter_mut().filter_map(Value::as_object_mut) {
            let name = group.get("logGroupName").and_then(Value::as_str);
            let is_protected = name.is_some_and(|n| protected.iter().any(|p| p == n));
            group.insert(
                "deletionProtectionEnabled".to_owned(),
                Value::Bool(is_protected),
            );
        }
    }
    serde_json::to_vec(&answer).map_err(|e| e.to_string())
}

/// A seeded stage whose function reads log groups through a [`ProtectionReporter`] that
/// reports the groups in `protected` as deletion-protected.
async fn stage(
    mode: &str,
    protected: &[&str],
    extra: &[(&str, &str)],
) -> (Stage, ProtectionReporter) {
    let reporter = ProtectionReporter::start(protected).unwrap();
    let mut env = vec![("AWS_ENDPOINT_URL", reporter.url())];
    env.extend_from_slice(extra);
    let s = Stage::start(TOOL, mode, &env).await.unwrap();
    reporter.forward_to(s.emulator.url());
    (s, reporter)
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
    let (s, _reporter) = stage("ENFORCE", &[], &[]).await;
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
    // The staging group, otherwise cleanable, reported deletion-protected.
    let (s, _reporter) = stage("ENFORCE", &[STAGING_GROUP], &[]).await;
    assert_eq!(s.world.staging.log_group, STAGING_GROUP);
    let before = s.snapshot().await.unwrap();
    let audit_group = s.world.audit_log_group.clone();
    let staging = s.world.staging.log_group.clone();
    for (payload, tool, policy) in [
        (
            json!({"log_group": audit_group}),
            None,
            "never_clean_compliance_log_group",
        ),
        (
            json!({"log_group": audit_group, "older_than_days": 1}),
            Some("clean-logs___clean_logs"),
            "never_clean_compliance_log_group",
        ),
        (
            json!({"log_group": audit_group, "older_than_days": 1, "dry_run": true}),
            None,
            "never_clean_audit_named_log_group",
        ),
        (
            json!({"log_group": staging, "older_than_days": 7}),
            Some("clean-logs___clean_logs"),
            "never_clean_deletion_protected_log_group",
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
    let (s, _reporter) = stage("ENFORCE", &[], &[]).await;
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
    let (s, _reporter) = stage("LOG_ONLY", &[], &[]).await;
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
    let (s, _reporter) = stage("ENFORCE", &[], &[("CLEAN_LOGS_MAX_STREAMS", "1")]).await;
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
    let (s, _reporter) = stage("ENFORCE", &[], &[("CLEAN_LOGS_MAX_STREAMS", "lots")]).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn without_a_reported_deletion_protection_flag_nothing_is_cleaned() {
    // moto as it is: no `deletionProtectionEnabled` in DescribeLogGroups.
    let s = Stage::start(TOOL, "ENFORCE", &[]).await.unwrap();
    let before = s.snapshot().await.unwrap();
    let group = &s.world.staging.log_group;
    let (report, is_error) = report(
        s.invoke(&json!({"log_group": group, "older_than_days": 7}))
            .unwrap(),
    )
    .unwrap();
    assert!(is_error);
    assert_eq!(report["status"], "error");
    assert_eq!(
        report["message"],
        format!(
            "CloudWatch Logs did not report whether `{group}` is deletion-protected; refusing to clean it"
        )
    );
    assert_eq!(s.snapshot().await.unwrap(), before);
}
