//! The handler against a mocked CloudWatch Logs (`aws-smithy-mocks`): every path, and the calls
//! it makes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use agentcore_target::{Env, Settings};
use agentcore_target::{
    testing::{direct, from_gateway, invoke},
    tool_schema::ToolSchema,
};
use aws_sdk_cloudwatchlogs::{
    Client,
    error::ErrorMetadata,
    operation::{
        delete_log_stream::{DeleteLogStreamError, DeleteLogStreamOutput},
        describe_log_groups::{DescribeLogGroupsError, DescribeLogGroupsOutput},
        describe_log_streams::DescribeLogStreamsOutput,
        filter_log_events::FilterLogEventsOutput,
        list_tags_for_resource::{ListTagsForResourceError, ListTagsForResourceOutput},
    },
    types::{FilteredLogEvent, LogGroup, LogStream},
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use clean_logs::{CleanLogs, CleanSettings};
use guard::{Mode, Outcome};
use serde_json::{Value, json};

const GROUP: &str = "/ecs/staging/api-gateway";
const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A lock that a panicking mock rule cannot poison for the assertions after it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn arn(group: &str) -> String {
    format!("arn:aws:logs:us-east-1:123456789012:log-group:{group}")
}

/// A stream whose last event is `days` old, created a day before it, 100 bytes as reported.
#[expect(
    deprecated,
    reason = "storedBytes is what CloudWatch Logs reports, deprecated or not"
)]
fn stream(name: &str, days: i64) -> LogStream {
    let last = now_ms() - days * DAY_MS;
    LogStream::builder()
        .log_stream_name(name)
        .creation_time(last - DAY_MS)
        .first_event_timestamp(last - DAY_MS)
        .last_event_timestamp(last)
        .stored_bytes(100)
        .build()
}

/// A stream without events, created `days` ago.
fn empty(name: &str, days: i64) -> LogStream {
    LogStream::builder()
        .log_stream_name(name)
        .creation_time(now_ms() - days * DAY_MS)
        .build()
}

/// One log group as CloudWatch Logs would report it.
#[derive(Clone)]
struct Setup {
    group: String,
    /// `deletionProtectionEnabled`; `None`: not reported.
    protected: Option<bool>,
    tags: Vec<(&'static str, &'static str)>,
    streams: Vec<LogStream>,
    /// Streams per `DescribeLogStreams` page.
    page_size: usize,
    /// Streams `FilterLogEvents` finds events newer than the cutoff in.
    newer: Vec<&'static str>,
    /// The stream whose deletion fails (throttled).
    fail_delete: Option<&'static str>,
    /// Report only the `arn` ending in `:*`, not `logGroupArn`.
    star_arn_only: bool,
    /// The tags every read after the first reports (someone re-tags the group mid-clean).
    later_tags: Option<Vec<(&'static str, &'static str)>>,
    /// `DescribeLogStreams` hands out page tokens `A`, `B`, `A`, … forever.
    cycling_tokens: bool,
}

impl Setup {
    /// `/ecs/staging/api-gateway`: two old streams (10 and 12 days) and a fresh one.
    fn staging() -> Self {
        Self {
            group: GROUP.to_owned(),
            protected: Some(false),
            tags: vec![("Environment", "staging")],
            streams: vec![
                stream("app/old-1", 10),
                stream("app/old-2", 12),
                stream("app/fresh-1", 0),
            ],
            page_size: 50,
            newer: Vec::new(),
            fail_delete: None,
            star_arn_only: false,
            later_tags: None,
            cycling_tokens: false,
        }
    }

    fn group(mut self, name: &str) -> Self {
        self.group = name.to_owned();
        self
    }

    fn tags(mut self, tags: &[(&'static str, &'static str)]) -> Self {
        self.tags = tags.to_vec();
        self
    }

    fn protected(mut self, protected: Option<bool>) -> Self {
        self.protected = protected;
        self
    }

    fn streams(mut self, streams: Vec<LogStream>) -> Self {
        self.streams = streams;
        self
    }
}

/// A mocked CloudWatch Logs holding one log group, and the rules that count its calls.
struct Logs {
    groups: Rule,
    tags: Rule,
    streams: Rule,
    filter: Rule,
    /// Throttles the deletion of `Setup::fail_delete`.
    refuse: Rule,
    delete: Rule,
    /// The streams deleted, in order.
    deleted: Arc<Mutex<Vec<String>>>,
    /// Each `FilterLogEvents` request's `startTime`.
    filter_starts: Arc<Mutex<Vec<i64>>>,
}

impl Logs {
    fn new(setup: Setup) -> Self {
        let deleted = Arc::new(Mutex::new(Vec::new()));
        let filter_starts = Arc::new(Mutex::new(Vec::new()));
        let group_arn = arn(&setup.group);
        let mut group = LogGroup::builder()
            .log_group_name(&setup.group)
            .arn(format!("{group_arn}:*"))
            .retention_in_days(30)
            .set_deletion_protection_enabled(setup.protected);
        if !setup.star_arn_only {
            group = group.log_group_arn(&group_arn);
        }
        let group = group.build();
        let name = setup.group.clone();
        let groups = mock!(Client::describe_log_groups)
            .match_requests(move |r| r.log_group_name_prefix() == Some(name.as_str()))
            .then_output(move || {
                DescribeLogGroupsOutput::builder()
                    .log_groups(group.clone())
                    .build()
            });
        let map = |tags: &[(&str, &str)]| -> HashMap<String, String> {
            tags.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let first = map(&setup.tags);
        let later = setup
            .later_tags
            .as_deref()
            .map_or_else(|| first.clone(), map);
        let reads = Arc::new(Mutex::new(0_usize));
        let tags = mock!(Client::list_tags_for_resource)
            .match_requests(move |r| r.resource_arn() == Some(group_arn.as_str()))
            .then_output(move || {
                let mut n = lock(&reads);
                *n += 1;
                let tags = if *n == 1 {
                    first.clone()
                } else {
                    later.clone()
                };
                ListTagsForResourceOutput::builder()
                    .set_tags(Some(tags))
                    .build()
            });
        let (all, size, cycling) = (setup.streams.clone(), setup.page_size, setup.cycling_tokens);
        let streams = mock!(Client::describe_log_streams).then_compute_output(move |r| {
            if cycling {
                let next = if r.next_token() == Some("A") {
                    "B"
                } else {
                    "A"
                };
                return DescribeLogStreamsOutput::builder()
                    .set_log_streams(Some(all.clone()))
                    .next_token(next)
                    .build();
            }
            let start: usize = r
                .next_token()
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let end = (start + size).min(all.len());
            DescribeLogStreamsOutput::builder()
                .set_log_streams(Some(all.iter().skip(start).take(size).cloned().collect()))
                .set_next_token((end < all.len()).then(|| format!("page-{end}")))
                .build()
        });
        let (newer, starts) = (setup.newer.clone(), filter_starts.clone());
        let filter = mock!(Client::filter_log_events).then_compute_output(move |r| {
            lock(&starts).push(r.start_time().unwrap_or_default());
            let hit = r
                .log_stream_names()
                .iter()
                .find(|n| newer.contains(&n.as_str()));
            FilterLogEventsOutput::builder()
                .set_events(hit.map(|n| {
                    vec![
                        FilteredLogEvent::builder()
                            .log_stream_name(n)
                            .timestamp(now_ms())
                            .message("served")
                            .build(),
                    ]
                }))
                .build()
        });
        // A rule that computes its answer cannot answer the SDK's retries (aws-smithy-mocks
        // replays them without the request), so the throttled deletion is a rule of its own.
        let fail = setup.fail_delete;
        let refuse = mock!(Client::delete_log_stream)
            .match_requests(move |r| fail.is_some() && r.log_stream_name() == fail)
            .then_error(|| {
                DeleteLogStreamError::generic(
                    ErrorMetadata::builder()
                        .code("ThrottlingException")
                        .message("Rate exceeded")
                        .build(),
                )
            });
        let record = deleted.clone();
        let delete = mock!(Client::delete_log_stream).then_compute_output(move |r| {
            assert_eq!(r.log_group_name(), Some(GROUP), "only the group asked for");
            lock(&record).push(r.log_stream_name().unwrap_or_default().to_owned());
            DeleteLogStreamOutput::builder().build()
        });
        Self {
            groups,
            tags,
            streams,
            filter,
            refuse,
            delete,
            deleted,
            filter_starts,
        }
    }

    fn client(&self) -> Client {
        mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::MatchAny,
            [
                &self.groups,
                &self.tags,
                &self.streams,
                &self.filter,
                &self.refuse,
                &self.delete
            ]
        )
    }

    /// DescribeLogGroups, ListTagsForResource, DescribeLogStreams, FilterLogEvents,
    /// DeleteLogStream (attempts, retries included).
    fn calls(&self) -> [usize; 5] {
        [
            self.groups.num_calls(),
            self.tags.num_calls(),
            self.streams.num_calls(),
            self.filter.num_calls(),
            self.refuse.num_calls() + self.delete.num_calls(),
        ]
    }

    fn deleted(&self) -> Vec<String> {
        lock(&self.deleted).clone()
    }
}

async fn call(logs: &Logs, mode: Mode, payload: Value) -> (Value, bool, Vec<guard::AuditRecord>) {
    let tool = CleanLogs::new(logs.client(), CleanSettings { max_streams: 100 });
    let out = invoke(tool, mode, direct(payload)).await;
    (out.report, out.is_error, out.audit)
}

fn args(group: &str, days: u32) -> Value {
    json!({"log_group": group, "older_than_days": days})
}

#[tokio::test]
async fn a_compliance_tag_added_mid_clean_stops_the_clean_at_the_next_recheck() {
    let mut setup = Setup::staging();
    setup.streams = (0..25_i64)
        .map(|i| stream(&format!("app/old-{i:02}"), 10 + i))
        .collect();
    setup.later_tags = Some(vec![("Environment", "staging"), ("Compliance", "SOX")]);
    let logs = Logs::new(setup);
    let (report, is_error, audit) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(is_error, "{report}");
    assert_eq!(report["error"], "denied", "{report}");
    assert_eq!(
        logs.deleted().len(),
        clean_logs::RECHECK_EVERY,
        "deletions stop at the first re-check after the group was marked"
    );
    let message = report["message"].as_str().unwrap();
    assert!(
        message.starts_with("stopped: deleted 10 of 25 old log streams"),
        "{message}"
    );
    assert!(
        message.contains("never_clean_compliance_log_group"),
        "{message}"
    );
    // The call check, the first resource check, and the re-check that denied: all audited.
    let outcomes: Vec<Outcome> = audit.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Allow, Outcome::Allow, Outcome::Deny]);
}

#[tokio::test]
async fn a_cycling_page_token_ends_the_scan_instead_of_hanging() {
    let mut setup = Setup::staging();
    setup.cycling_tokens = true;
    let logs = Logs::new(setup);
    let (report, is_error, _) = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        call(
            &logs,
            Mode::Enforce,
            json!({"log_group": GROUP, "older_than_days": 7, "dry_run": true}),
        ),
    )
    .await
    .expect("a cycling token must not hang the clean");
    assert!(!is_error, "{report}");
    assert_eq!(report["result"]["scan_complete"], false, "{report}");
    // A, B, then A again: the third page's token was seen before.
    assert_eq!(logs.calls()[2], 3);
}

#[tokio::test]
async fn old_streams_are_deleted_oldest_first_and_fresh_ones_kept() {
    let mut setup = Setup::staging();
    setup.streams.push(empty("app/empty-old", 40));
    setup.streams.push(empty("app/empty-new", 1));
    let logs = Logs::new(setup);
    let before = now_ms();
    let (report, is_error, audit) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(!is_error, "{report}");
    assert_eq!(
        logs.deleted(),
        ["app/empty-old", "app/old-2", "app/old-1"],
        "the empty stream counts from its creation; fresh ones stay"
    );
    assert_eq!(logs.calls(), [1, 1, 1, 1, 3]);
    let result = &report["result"];
    assert_eq!(result["deleted"], json!(logs.deleted()));
    assert_eq!(result["would_delete"], json!([]));
    assert_eq!(result["bytes_freed_reported"], 200);
    assert_eq!(result["remaining_old_streams"], 0);
    assert_eq!(result["scan_complete"], true);
    assert_eq!(result["out_of_time"], false);
    assert_eq!(result["max_streams"], 100);
    let cutoff = lock(&logs.filter_starts)[0];
    assert!((before - 7 * DAY_MS..=now_ms() - 7 * DAY_MS).contains(&cutoff));
    let message = report["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("deleted 3 old log streams of `{GROUP}`")),
        "{message}"
    );
    assert_eq!(
        report["guard"]["checks"][1]["policies"],
        json!(["clean_only_real_staging_dev_log_group"])
    );
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().all(|r| r.outcome == Outcome::Allow));
    assert_eq!(audit[1].resource, format!("Guard::LogGroup::\"{GROUP}\""));
}

#[tokio::test]
async fn the_default_age_is_thirty_days() {
    let logs = Logs::new(
        Setup::staging().streams(vec![stream("app/old-1", 10), stream("app/ancient", 31)]),
    );
    let (report, is_error, _) = call(&logs, Mode::Enforce, json!({"log_group": GROUP})).await;
    assert!(!is_error, "{report}");
    assert_eq!(logs.deleted(), ["app/ancient"]);
    assert_eq!(report["result"]["older_than_days"], 30);
}

#[tokio::test]
async fn tags_are_read_on_the_arn_without_the_trailing_star() {
    let mut setup = Setup::staging().tags(&[("Compliance", "SOC2")]);
    setup.star_arn_only = true;
    let logs = Logs::new(setup);
    let (report, _, _) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    // The tags rule answers only the ARN without `:*`: the Compliance tag was seen.
    assert_eq!(report["status"], "denied", "{report}");
    assert_eq!(logs.calls(), [1, 1, 0, 0, 0]);
}

#[tokio::test]
async fn a_call_the_call_check_denies_makes_no_aws_call() {
    for (tool, expected) in [
        // A target the policies do not know: no policy permits it.
        (
            "ops-tools___clean_logs",
            "unknown tool `ops-tools___clean_logs`",
        ),
        // Another tool's name: a misrouted call.
        ("terminate-instance___terminate_instance", "misrouted call"),
    ] {
        let logs = Logs::new(Setup::staging());
        let tool_impl = CleanLogs::new(logs.client(), CleanSettings { max_streams: 100 });
        let out = invoke(tool_impl, Mode::Enforce, from_gateway(args(GROUP, 7), tool)).await;
        assert!(out.is_error, "{tool}");
        assert_eq!(out.report["status"], "denied", "{}", out.report);
        let message = out.report["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
        assert_eq!(logs.calls(), [0, 0, 0, 0, 0], "{tool}");
        assert_eq!(out.audit.len(), 1);
    }
}

#[tokio::test]
async fn a_deletion_protected_group_is_refused_without_deleting() {
    let logs = Logs::new(Setup::staging().protected(Some(true)));
    let (report, is_error, audit) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(is_error);
    assert_eq!(report["status"], "denied");
    assert_eq!(report["guard"]["checks"][1]["check"], "resource");
    assert_eq!(
        report["guard"]["checks"][1]["policies"],
        json!(["never_clean_deletion_protected_log_group"])
    );
    assert_eq!(logs.calls(), [1, 1, 0, 0, 0]);
    assert!(logs.deleted().is_empty());
    assert_eq!(audit[1].outcome, Outcome::Deny);
}

#[tokio::test]
async fn compliance_audit_and_audit_named_groups_are_refused() {
    for (setup, policy) in [
        (
            Setup::staging().tags(&[("Environment", "production"), ("Compliance", "SOC2")]),
            "never_clean_compliance_log_group",
        ),
        (
            Setup::staging().tags(&[("Audit", "")]),
            "never_clean_compliance_log_group",
        ),
        (
            Setup::staging()
                .group("/aws/cloudtrail/audit-trail")
                .tags(&[]),
            "never_clean_audit_named_log_group",
        ),
    ] {
        let group = setup.group.clone();
        let logs = Logs::new(setup);
        let (report, is_error, _) = call(&logs, Mode::Enforce, args(&group, 7)).await;
        assert!(is_error, "{group}");
        assert_eq!(report["status"], "denied", "{report}");
        assert!(
            report["guard"]["checks"][1]["policies"]
                .as_array()
                .unwrap()
                .contains(&json!(policy)),
            "{report}"
        );
        assert_eq!(logs.calls()[2..], [0, 0, 0], "{group}: no stream touched");
    }
}

#[tokio::test]
async fn an_unreported_deletion_protection_flag_means_unprotected() {
    let logs = Logs::new(Setup::staging().protected(None));
    let (report, is_error, _) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(!is_error, "{report}");
    assert_eq!(report["status"], "ok");
}

#[tokio::test]
async fn the_cap_deletes_the_oldest_and_reports_how_many_remain() {
    let logs = Logs::new(Setup::staging().streams(vec![
        stream("app/a", 9),
        stream("app/b", 20),
        stream("app/c", 15),
        stream("app/fresh", 0),
    ]));
    let tool = CleanLogs::new(logs.client(), CleanSettings { max_streams: 2 });
    let out = invoke(tool, Mode::Enforce, direct(args(GROUP, 7))).await;
    assert!(!out.is_error, "{}", out.report);
    assert_eq!(logs.deleted(), ["app/b", "app/c"]);
    assert_eq!(out.report["result"]["remaining_old_streams"], 1);
    assert_eq!(out.report["result"]["max_streams"], 2);
    let message = out.report["message"].as_str().unwrap();
    assert!(
        message.ends_with("; 1 more old log stream remains beyond the cap of 2 per call"),
        "{message}"
    );
}

#[tokio::test]
async fn streams_are_read_across_every_page() {
    let mut setup = Setup::staging().streams(vec![
        stream("app/1-fresh", 1),
        stream("app/2-fresh", 2),
        stream("app/3-fresh", 3),
        stream("app/4-old", 8),
        stream("app/5-old", 9),
    ]);
    setup.page_size = 2;
    let logs = Logs::new(setup);
    let (report, is_error, _) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(!is_error, "{report}");
    assert_eq!(logs.calls()[2], 3, "three pages");
    assert_eq!(logs.deleted(), ["app/5-old", "app/4-old"]);
}

#[tokio::test]
async fn a_stream_whose_newer_events_cloudwatch_has_not_yet_reported_is_kept() {
    let mut setup = Setup::staging();
    setup.newer = vec!["app/old-1"];
    let logs = Logs::new(setup);
    let (report, is_error, _) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(!is_error, "{report}");
    assert_eq!(logs.deleted(), ["app/old-2"]);
    assert_eq!(
        report["result"]["kept_with_newer_events"],
        json!(["app/old-1"])
    );
    assert_eq!(logs.calls()[3], 2, "asked again about the rest");
}

#[tokio::test]
async fn out_of_time_it_stops_starting_deletions_and_reports_what_is_left() {
    let logs = Logs::new(Setup::staging());
    let tool = CleanLogs::new(logs.client(), CleanSettings { max_streams: 100 })
        .with_work_budget(Duration::ZERO);
    let out = invoke(tool, Mode::Enforce, direct(args(GROUP, 7))).await;
    assert!(!out.is_error, "{}", out.report);
    assert_eq!(logs.calls(), [1, 1, 1, 1, 0]);
    let result = &out.report["result"];
    assert_eq!(result["out_of_time"], true);
    assert_eq!(result["deleted"], json!([]));
    assert_eq!(result["remaining_old_streams"], 2);
    let message = out.report["message"].as_str().unwrap();
    assert!(
        message.contains("stopped early to answer before the function's timeout"),
        "{message}"
    );
}

#[tokio::test]
async fn a_failure_midway_says_exactly_what_was_already_deleted() {
    let mut setup = Setup::staging().streams(vec![
        stream("app/a", 30),
        stream("app/b", 20),
        stream("app/c", 10),
    ]);
    setup.fail_delete = Some("app/b");
    let logs = Logs::new(setup);
    let (report, is_error, _) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert!(is_error);
    assert_eq!(report["status"], "error");
    assert_eq!(report["error"], "throttled");
    assert!(report.get("result").is_none(), "never reported as success");
    assert_eq!(
        report["message"],
        format!(
            "partly done: deleted 1 of 3 old log streams of `{GROUP}` (`app/a`); then `app/b` could not be deleted (`logs:DeleteLogStream` failed (after the SDK's retries): ThrottlingException: Rate exceeded), so it and 1 more remain"
        )
    );
    assert_eq!(logs.deleted(), ["app/a"], "`app/c` was not attempted");
    assert!(logs.refuse.num_calls() >= 1);
}

#[tokio::test]
async fn a_missing_group_is_a_clear_error() {
    // The prefix matches another group only.
    let groups = mock!(Client::describe_log_groups).then_output(|| {
        DescribeLogGroupsOutput::builder()
            .log_groups(
                LogGroup::builder()
                    .log_group_name(format!("{GROUP}-v2"))
                    .deletion_protection_enabled(false)
                    .build(),
            )
            .build()
    });
    let delete =
        mock!(Client::delete_log_stream).then_output(|| DeleteLogStreamOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&groups, &delete]
    );
    let tool = CleanLogs::new(client, CleanSettings { max_streams: 100 });
    let report = invoke(tool, Mode::Enforce, direct(args(GROUP, 7)))
        .await
        .report;
    assert_eq!(report["error"], "not_found");
    assert_eq!(report["message"], format!("log group `{GROUP}` not found"));
    assert_eq!(groups.num_calls(), 1);
    assert_eq!(delete.num_calls(), 0);
}

#[tokio::test]
async fn throttling_and_access_denied_are_tool_errors_not_panics() {
    let groups = mock!(Client::describe_log_groups).then_error(|| {
        DescribeLogGroupsError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&groups]);
    let tool = CleanLogs::new(client, CleanSettings { max_streams: 100 });
    let throttled = invoke(tool, Mode::Enforce, direct(args(GROUP, 7)))
        .await
        .report;
    assert_eq!(throttled["error"], "throttled");
    assert!(
        throttled["message"]
            .as_str()
            .unwrap()
            .contains("`logs:DescribeLogGroups` failed (after the SDK's retries)")
    );

    let logs = Logs::new(Setup::staging());
    let denied = mock!(Client::list_tags_for_resource).then_error(|| {
        ListTagsForResourceError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not allowed")
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&logs.groups, &denied, &logs.streams, &logs.delete]
    );
    let tool = CleanLogs::new(client, CleanSettings { max_streams: 100 });
    let report = invoke(tool, Mode::Enforce, direct(args(GROUP, 7)))
        .await
        .report;
    assert_eq!(report["status"], "error");
    assert_eq!(report["error"], "access_denied");
    assert_eq!(logs.calls()[2..], [0, 0, 0], "no tags, no cleaning");
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_call() {
    for (payload, expected) in [
        (
            json!({"log_group": GROUP, "older_than_days": 7, "delete_group": true}),
            "unknown field `delete_group`",
        ),
        (
            json!({"log_group": GROUP, "older_than_days": 0}),
            "`older_than_days` is 0; it must be from 1 to 3653",
        ),
        (
            json!({"log_group": GROUP, "older_than_days": 3654}),
            "`older_than_days` is 3654",
        ),
        (
            json!({"log_group": GROUP, "older_than_days": "7"}),
            "invalid argument `older_than_days`",
        ),
        (
            json!({"log_group": GROUP, "older_than_days": -1}),
            "invalid argument `older_than_days`",
        ),
        (
            json!({"log_group": GROUP, "older_than_days": 7.5}),
            "invalid argument `older_than_days`",
        ),
        (
            json!({"log_group": GROUP, "dry_run": "yes"}),
            "invalid argument `dry_run`",
        ),
        (
            json!({"log_group": "/ecs/staging api"}),
            "`log_group` is `/ecs/staging api`, which is not a CloudWatch Logs log group name",
        ),
        (json!({"log_group": ""}), "`log_group` is ``, which is not"),
        (
            json!({"log_group": "a".repeat(513)}),
            "which is not a CloudWatch Logs log group name",
        ),
        (
            json!({"log_group": "/ecs/stagíng/api"}),
            "which is not a CloudWatch Logs log group name",
        ),
        (json!({"log_group": "/ecs/staging\u{200b}/api"}), "U+200B"),
        (json!({"log_group": "/ecs/\u{202e}gnigats"}), "U+202E"),
        (
            json!({"log_group": format!("{}:*", arn(GROUP))}),
            "an ARN; give the log group's name",
        ),
        (
            json!({"log_group": [GROUP]}),
            "invalid argument `log_group`",
        ),
        (json!({"older_than_days": 7}), "missing field `log_group`"),
        (json!("clean everything"), "must be a JSON object"),
    ] {
        let logs = Logs::new(Setup::staging());
        let (report, is_error, audit) = call(&logs, Mode::Enforce, payload.clone()).await;
        assert!(is_error, "{payload}");
        assert_eq!(report["error"], "invalid_input", "{payload}");
        assert!(
            report["message"].as_str().unwrap().contains(expected),
            "{payload}: {report}"
        );
        assert_eq!(logs.calls(), [0, 0, 0, 0, 0], "{payload}");
        // Refused before any policy was asked, and audited all the same.
        assert_eq!(audit.len(), 1, "{payload}");
        assert_eq!(audit[0].outcome, Outcome::Error, "{payload}");
    }
}

#[tokio::test]
async fn dry_run_lists_exactly_what_would_be_deleted_and_deletes_nothing() {
    let logs = Logs::new(Setup::staging());
    let mut payload = args(GROUP, 7);
    payload["dry_run"] = json!(true);
    let (report, is_error, _) = call(&logs, Mode::Enforce, payload).await;
    assert!(!is_error, "{report}");
    assert_eq!(logs.calls(), [1, 1, 1, 1, 0]);
    assert_eq!(
        report["result"]["would_delete"],
        json!(["app/old-2", "app/old-1"])
    );
    assert_eq!(report["result"]["deleted"], json!([]));
    let message = report["message"].as_str().unwrap();
    assert!(
        message.starts_with("dry run: 2 old log streams of"),
        "{message}"
    );
    assert!(message.ends_with("nothing was changed"), "{message}");

    // The real call deletes exactly that list.
    let (report, _, _) = call(&logs, Mode::Enforce, args(GROUP, 7)).await;
    assert_eq!(
        report["result"]["deleted"],
        json!(["app/old-2", "app/old-1"])
    );
}

#[tokio::test]
async fn log_only_on_the_audit_group_reports_would_deny_and_dry_run_deletes_nothing() {
    let audit_group = "/audit/production/compliance-trail";
    let logs = Logs::new(
        Setup::staging()
            .group(audit_group)
            .tags(&[("Environment", "production"), ("Compliance", "SOC2")]),
    );
    let payload = json!({"log_group": audit_group, "older_than_days": 7, "dry_run": true});
    let (report, is_error, audit) = call(&logs, Mode::LogOnly, payload).await;
    assert!(!is_error, "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(
        message.starts_with("LOG_ONLY: the guard would have denied"),
        "{message}"
    );
    assert!(
        message.contains("never_clean_compliance_log_group"),
        "{message}"
    );
    assert_eq!(report["guard"]["mode"], "LOG_ONLY");
    assert_eq!(
        report["result"]["would_delete"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        logs.calls()[4],
        0,
        "LOG_ONLY let it through; dry_run kept it harmless"
    );
    assert_eq!(audit[1].outcome, Outcome::WouldDeny);
}

#[tokio::test]
async fn a_malformed_cap_makes_every_call_a_configuration_error() {
    for (setting, expected) in [
        (
            "lots",
            "CLEAN_LOGS_MAX_STREAMS is `lots`, which is not a number",
        ),
        (
            "5000",
            "CLEAN_LOGS_MAX_STREAMS is 5000; it must be at most 1000",
        ),
        ("0", "CLEAN_LOGS_MAX_STREAMS is 0; it must be at least 1"),
    ] {
        let logs = Logs::new(Setup::staging());
        let lookup = |name: &str| (name == clean_logs::MAX_STREAMS_VAR).then(|| setting.to_owned());
        let error = CleanSettings::from_env(&Env::new(&lookup)).unwrap_err();
        let host = agentcore_target::testing::host::<CleanLogs>(Err(error), Mode::Enforce).0;
        for _ in 0..2 {
            let result = host.handle(direct(args(GROUP, 7))).await.unwrap();
            let report = agentcore_target::testing::report(&result);
            assert_eq!(report["error"], "configuration", "{report}");
            assert_eq!(
                report["message"],
                format!("the function is misconfigured, nothing was called: {expected}")
            );
        }
        assert_eq!(logs.calls(), [0, 0, 0, 0, 0]);
    }
}

#[test]
fn the_tool_schema_matches_the_parser_and_the_cedar_schema() {
    let schema = ToolSchema::parse(include_str!("../tool_schema.json")).unwrap();
    assert_eq!(schema.name, "clean_logs");
    let example = json!({"log_group": GROUP, "older_than_days": 7, "dry_run": false});
    let problems = schema.check_parser::<clean_logs::CleanInput>(&example);
    assert!(problems.is_empty(), "{problems:#?}");
    let (guard, _) = agentcore_target::testing::guard(Mode::Enforce);
    let problems = schema.check_cedar("clean-logs", guard.policy_sets().unwrap());
    assert!(problems.is_empty(), "{problems:#?}");
}
