//! `clean_logs`: delete the old log streams of one CloudWatch Logs log group.
//!
//! Input → call check → the real log group (deletion protection, retention, tags) → resource
//! check → the streams whose last event (or, for an empty stream, creation) is older than the
//! cutoff, confirmed to hold no newer event → `DeleteLogStream` for each, oldest first, at most
//! `CLEAN_LOGS_MAX_STREAMS` per call. Never the group itself.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant, SystemTime},
};

use agentcore_target::{
    Access, ConfigError, Env, ErrorKind, Flow, Found, PageBounds, PagesEnd, Recheck, ResourceFacts,
    Settings, Stop, Tool, ToolError, check_identifier, read_pages,
};
use aws_sdk_cloudwatchlogs::{Client, types::LogStream};
use serde::{Deserialize, Serialize};

/// `older_than_days` when the agent gives none.
pub const DEFAULT_OLDER_THAN_DAYS: u32 = 30;

/// The largest `older_than_days`: ten years, CloudWatch Logs' longest retention setting (3,653
/// days). Asking for more is asking about streams no retention setting would keep, and a
/// number that large is more likely a mistake than a plan.
pub const MAX_OLDER_THAN_DAYS: u32 = 3653;

/// The environment variable capping how many streams one call deletes.
pub const MAX_STREAMS_VAR: &str = "CLEAN_LOGS_MAX_STREAMS";

/// How many streams one call deletes unless `CLEAN_LOGS_MAX_STREAMS` says otherwise.
pub const DEFAULT_MAX_STREAMS: usize = 100;

/// The largest accepted `CLEAN_LOGS_MAX_STREAMS`: every deletion is one call to CloudWatch
/// Logs, made one after another; well beyond this many, [`WORK_BUDGET`] rather than the cap
/// would decide how many go in one call.
pub const MAX_STREAMS_LIMIT: usize = 1000;

/// How many `DescribeLogStreams` pages one call reads (50 streams each, the API's largest
/// page): 5,000 streams. A larger group is reported as not completely scanned rather than
/// risking the function's timeout.
pub const MAX_SCAN_PAGES: usize = 100;

/// How long one call may keep starting CloudWatch Logs calls. Past it, the call stops and
/// reports what it did and what is left, rather than being killed mid-way by the function's
/// timeout (60 s in template.yaml) with nothing reported: the budget leaves room for a last
/// call that takes the SDK's whole operation timeout (12 s) and for the answer.
pub const WORK_BUDGET: Duration = Duration::from_secs(40);

/// While deleting, the group's tags and protection are read and checked again after this many
/// deletions…
pub const RECHECK_EVERY: usize = 10;

/// …or after this long since the last check, whichever comes first: a group marked for
/// compliance mid-clean loses at most this much more.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Streams per `DescribeLogStreams` page: the API's maximum.
const STREAMS_PER_PAGE: i32 = 50;

/// The most streams one call reads.
const MAX_SCANNED_STREAMS: usize = MAX_SCAN_PAGES * STREAMS_PER_PAGE as usize;

/// `FilterLogEvents` takes at most 100 stream names.
const STREAMS_PER_FILTER: usize = 100;

/// `FilterLogEvents` may answer with no events and a token while it is still searching; this
/// many such pages for one batch of streams and the confirmation gives up (before anything is
/// deleted).
const MAX_EMPTY_FILTER_PAGES: usize = 20;

const SECONDS_PER_DAY: u64 = 86_400;

fn default_older_than_days() -> u32 {
    DEFAULT_OLDER_THAN_DAYS
}

/// The arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanInput {
    /// The log group, by name (`/ecs/staging/api-gateway`).
    pub log_group: String,
    /// Streams with no event for this many days are old: 1 to [`MAX_OLDER_THAN_DAYS`],
    /// default [`DEFAULT_OLDER_THAN_DAYS`].
    #[serde(default = "default_older_than_days")]
    pub older_than_days: u32,
    /// List exactly what would be deleted and change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// The log group as read before acting, with the cap this call works under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    name: String,
    max_streams: usize,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanOutput {
    /// The log group.
    pub log_group: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The age, in days, that makes a stream old.
    pub older_than_days: u32,
    /// Streams with no event since this instant (RFC 3339, UTC) are old.
    pub cutoff: String,
    /// The streams this call deleted, oldest first (none for a dry run).
    pub deleted: Vec<String>,
    /// With `dry_run`: exactly the streams a real call would delete now; otherwise empty.
    pub would_delete: Vec<String>,
    /// The sum of `storedBytes` CloudWatch Logs reported for those streams. AWS deprecated
    /// `storedBytes` for log streams in 2019 and reports 0 for them: approximate at best.
    pub bytes_freed_reported: i64,
    /// Old streams left for a later call because of the cap.
    pub remaining_old_streams: usize,
    /// Streams that looked old but hold an event newer than the cutoff (CloudWatch Logs
    /// updates `lastEventTimestamp` only eventually): kept.
    pub kept_with_newer_events: Vec<String>,
    /// False when the call did not read every stream of the group (more than
    /// [`MAX_SCAN_PAGES`] pages, or out of time): more old streams may exist than
    /// `remaining_old_streams` says.
    pub scan_complete: bool,
    /// True when the call stopped after [`WORK_BUDGET`] so as to answer in time; what it did
    /// not reach is in `remaining_old_streams` (or not scanned).
    pub out_of_time: bool,
    /// The most streams one call deletes (`CLEAN_LOGS_MAX_STREAMS`).
    pub max_streams: usize,
}

/// The tool's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanSettings {
    /// `CLEAN_LOGS_MAX_STREAMS`: the most streams one call deletes, 1 to
    /// [`MAX_STREAMS_LIMIT`], default [`DEFAULT_MAX_STREAMS`].
    pub max_streams: usize,
}

impl Default for CleanSettings {
    fn default() -> Self {
        Self {
            max_streams: DEFAULT_MAX_STREAMS,
        }
    }
}

impl Settings for CleanSettings {
    fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            max_streams: env.number(MAX_STREAMS_VAR, DEFAULT_MAX_STREAMS, 1, MAX_STREAMS_LIMIT)?,
        })
    }
}

/// The tool, holding its CloudWatch Logs client and its settings.
#[derive(Debug, Clone)]
pub struct CleanLogs {
    logs: Client,
    settings: CleanSettings,
    budget: Duration,
}

impl CleanLogs {
    /// The tool over `logs` with `settings`.
    pub fn new(logs: Client, settings: CleanSettings) -> Self {
        Self {
            logs,
            settings,
            budget: WORK_BUDGET,
        }
    }

    /// The same tool with another [`WORK_BUDGET`], for a function with another timeout.
    #[must_use]
    pub fn with_work_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }
}

impl Tool for CleanLogs {
    const NAME: &'static str = "clean_logs";
    const DEFAULT_TARGET: &'static str = "clean-logs";
    const ACCESS: Access = Access::Mutating;
    type Settings = CleanSettings;
    type Input = CleanInput;
    type Resource = LogGroup;
    type Output = CleanOutput;

    fn validate(input: &CleanInput) -> Result<(), ToolError> {
        let name = &input.log_group;
        if name.starts_with("arn:") {
            return Err(ToolError::invalid_input(format!(
                "`log_group` is `{name}`, an ARN; give the log group's name"
            )));
        }
        check_identifier(
            "log_group",
            name,
            512,
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'),
            "a CloudWatch Logs log group name (1 to 512 of `A-Z`, `a-z`, `0-9`, `.`, `-`, `_`, `/`, `#`)",
        )?;
        let days = input.older_than_days;
        if !(1..=MAX_OLDER_THAN_DAYS).contains(&days) {
            return Err(ToolError::invalid_input(format!(
                "`older_than_days` is {days}; it must be from 1 to {MAX_OLDER_THAN_DAYS} (ten years)"
            )));
        }
        Ok(())
    }

    async fn lookup(&self, input: &CleanInput) -> Result<Found<LogGroup>, ToolError> {
        let max_streams = self.settings.max_streams;
        let name = &input.log_group;
        let group = self.describe_group(name).await?;

        // An unset flag is a group nobody protected, as with AWS's other optional booleans
        // (and with emulators that predate the feature). A protected group reports `true`.
        let protected = group.deletion_protection_enabled().unwrap_or(false);

        // Tags live on the ARN without the trailing `:*`, the form ListTagsForResource takes
        // (moto answers the other form with no tags at all, which would hide a Compliance tag).
        let arn = group
            .log_group_arn()
            .or_else(|| group.arn().map(|a| a.strip_suffix(":*").unwrap_or(a)))
            .ok_or_else(|| {
                ToolError::new(
                    ErrorKind::Aws,
                    format!(
                        "CloudWatch Logs reported no ARN for `{name}`, so its tags cannot be read"
                    ),
                )
            })?;
        let tags = self
            .logs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| ToolError::aws("logs:ListTagsForResource", &e))?
            .tags
            .unwrap_or_default();

        let mut facts = ResourceFacts::new("Guard::LogGroup", name.clone())
            .attribute("name", name.clone())
            .attribute("deletion_protected", protected)
            .tags(tags);
        if let Some(days) = group.retention_in_days() {
            facts = facts.attribute("retention_in_days", i64::from(days));
        }
        Ok(Found {
            facts: Some(facts),
            resource: LogGroup {
                name: name.clone(),
                max_streams,
            },
        })
    }

    async fn operate(
        &self,
        input: &CleanInput,
        group: LogGroup,
        recheck: &Recheck<'_, Self>,
    ) -> Result<CleanOutput, ToolError> {
        let age = Duration::from_secs(u64::from(input.older_than_days) * SECONDS_PER_DAY);
        let cutoff = SystemTime::now()
            .checked_sub(age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let cutoff_ms = epoch_millis(cutoff);
        let started = Instant::now();
        let in_time = || started.elapsed() < self.budget;

        let Scan { mut old, complete } = self
            .old_streams(&group.name, cutoff_ms, started + self.budget)
            .await?;
        let beyond_cap = old.split_off(group.max_streams.min(old.len()));
        let (confirmed, kept) = self
            .confirm(&group.name, old, cutoff_ms, started + self.budget)
            .await?;
        let mut output = CleanOutput {
            log_group: group.name.clone(),
            dry_run: input.dry_run,
            older_than_days: input.older_than_days,
            cutoff: humantime::format_rfc3339_seconds(cutoff).to_string(),
            deleted: Vec::new(),
            would_delete: Vec::new(),
            bytes_freed_reported: 0,
            remaining_old_streams: beyond_cap.len(),
            kept_with_newer_events: kept,
            scan_complete: complete,
            out_of_time: !in_time(),
            max_streams: group.max_streams,
        };
        if input.dry_run {
            output.bytes_freed_reported = reported_bytes(&confirmed);
            output.would_delete = confirmed.into_iter().map(|s| s.name).collect();
            return Ok(output);
        }

        // The resource check that let this call in happened before the scan: the first
        // deletion is re-checked too once the scan has taken longer than the interval.
        let mut checked = started;
        for (done, stream) in confirmed.iter().enumerate() {
            if !in_time() {
                output.out_of_time = true;
                output.remaining_old_streams += confirmed.len() - done;
                break;
            }
            if (done > 0 && done % RECHECK_EVERY == 0) || checked.elapsed() >= RECHECK_INTERVAL {
                if let Err(stop) = recheck.confirm().await {
                    return Err(stopped(
                        &group.name,
                        &output.deleted,
                        confirmed.len(),
                        &stop,
                    ));
                }
                checked = Instant::now();
            }
            if let Err(e) = self
                .logs
                .delete_log_stream()
                .log_group_name(&group.name)
                .log_stream_name(&stream.name)
                .send()
                .await
            {
                let cause = ToolError::aws("logs:DeleteLogStream", &e);
                return Err(partly_done(
                    &group.name,
                    &output.deleted,
                    &stream.name,
                    confirmed.len(),
                    &cause,
                ));
            }
            output.deleted.push(stream.name.clone());
            output.bytes_freed_reported = output
                .bytes_freed_reported
                .saturating_add(stream.stored_bytes);
        }
        Ok(output)
    }

    // A failed clean may have deleted streams before it failed, so it keeps its budget slot
    // (its errors never say `changed_nothing`).
    fn dry_run(input: &CleanInput) -> bool {
        input.dry_run
    }

    // A clean that found nothing old enough deleted nothing: it uses up no budget.
    fn changed(out: &CleanOutput) -> bool {
        !out.deleted.is_empty()
    }

    fn summary(out: &CleanOutput) -> String {
        let group = &out.log_group;
        let days = out.older_than_days;
        let mut notes = String::new();
        if out.remaining_old_streams > 0 {
            let remain = match out.remaining_old_streams {
                1 => "1 more old log stream remains".to_owned(),
                n => format!("{n} more old log streams remain"),
            };
            notes.push_str(&format!(
                "; {remain} beyond the cap of {} per call",
                out.max_streams
            ));
        }
        if !out.scan_complete {
            notes.push_str(&format!(
                "; not every stream was read (more than {MAX_SCANNED_STREAMS}, or time ran out), so more old ones may remain"
            ));
        }
        if out.out_of_time {
            notes.push_str("; stopped early to answer before the function's timeout");
        }
        if !out.kept_with_newer_events.is_empty() {
            notes.push_str(&format!(
                "; kept {} that looked old but hold newer events",
                out.kept_with_newer_events.len()
            ));
        }
        let handled = if out.dry_run {
            out.would_delete.len()
        } else {
            out.deleted.len()
        };
        match (out.dry_run, handled) {
            (true, 0) => format!(
                "dry run: no log stream of `{group}` is older than {days} days (no event since {}); nothing would be deleted{notes}",
                out.cutoff
            ),
            (true, n) => format!(
                "dry run: {} of `{group}` (no event since {}) would be deleted{notes}; nothing was changed",
                streams(n),
                out.cutoff
            ),
            (false, 0) => format!(
                "no log stream of `{group}` is older than {days} days (no event since {}); nothing to do{notes}",
                out.cutoff
            ),
            (false, n) => format!(
                "deleted {} of `{group}` (no event since {}, {days} days){notes}",
                streams(n),
                out.cutoff
            ),
        }
    }
}

/// The reads and checks `operate` and `lookup` rely on.
impl CleanLogs {
    /// The log group named exactly `name`. `DescribeLogGroups` matches by prefix, so every
    /// page is searched for the exact name.
    async fn describe_group(
        &self,
        name: &str,
    ) -> Result<aws_sdk_cloudwatchlogs::types::LogGroup, ToolError> {
        let pages = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .into_paginator()
            .send();
        let bounds = PageBounds {
            max_pages: MAX_SCAN_PAGES,
            deadline: Some(Instant::now() + self.budget),
        };
        let mut found = None;
        let end = read_pages(
            pages,
            bounds,
            |p| p.next_token(),
            |page| {
                found = page
                    .log_groups
                    .unwrap_or_default()
                    .into_iter()
                    .find(|g| g.log_group_name() == Some(name));
                if found.is_some() {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
        )
        .await
        .map_err(|e| ToolError::aws("logs:DescribeLogGroups", &e))?;
        match (found, end) {
            (Some(group), _) => Ok(group),
            (None, PagesEnd::Complete) => Err(ToolError::not_found(format!(
                "log group `{name}` not found"
            ))),
            (None, end) => Err(ToolError::new(
                ErrorKind::Aws,
                format!(
                    "`logs:DescribeLogGroups` did not finish listing groups named like `{name}` ({end:?}); nothing was changed"
                ),
            )),
        }
    }

    /// Every old stream of `group`, oldest first, reading at most [`MAX_SCAN_PAGES`] pages
    /// and, after the first, only before `deadline`.
    async fn old_streams(
        &self,
        group: &str,
        cutoff_ms: i64,
        deadline: Instant,
    ) -> Result<Scan, ToolError> {
        let mut old = Vec::new();
        let pages = self
            .logs
            .describe_log_streams()
            .log_group_name(group)
            .limit(STREAMS_PER_PAGE)
            .into_paginator()
            .send();
        let bounds = PageBounds {
            max_pages: MAX_SCAN_PAGES,
            deadline: Some(deadline),
        };
        let end = read_pages(
            pages,
            bounds,
            |p| p.next_token(),
            |page| {
                old.extend(
                    page.log_streams()
                        .iter()
                        .filter_map(|s| OldStream::read(s, cutoff_ms)),
                );
                Flow::Continue
            },
        )
        .await
        .map_err(|e| ToolError::aws("logs:DescribeLogStreams", &e))?;
        old.sort_by(|a, b| (a.last_activity, &a.name).cmp(&(b.last_activity, &b.name)));
        Ok(Scan {
            old,
            complete: end.is_complete(),
        })
    }

    /// Asks CloudWatch Logs itself whether `streams` hold any event at or after the cutoff:
    /// `lastEventTimestamp` is updated only eventually, and a stream that has just received
    /// events must not be deleted on a stale timestamp. Returns the streams confirmed old and
    /// the names of those that are not. (An event written after this check, before the
    /// deletion, is lost with its stream: CloudWatch Logs has no conditional delete.)
    async fn confirm(
        &self,
        group: &str,
        streams: Vec<OldStream>,
        cutoff_ms: i64,
        deadline: Instant,
    ) -> Result<(Vec<OldStream>, Vec<String>), ToolError> {
        let mut newer: BTreeSet<String> = BTreeSet::new();
        for chunk in streams.chunks(STREAMS_PER_FILTER) {
            let mut pending: Vec<String> = chunk.iter().map(|s| s.name.clone()).collect();
            // Each round either ends the chunk or removes one stream from it.
            while !pending.is_empty() {
                let pages = self
                    .logs
                    .filter_log_events()
                    .log_group_name(group)
                    .set_log_stream_names(Some(pending.clone()))
                    .start_time(cutoff_ms)
                    .limit(1)
                    .into_paginator()
                    .send();
                let bounds = PageBounds {
                    max_pages: MAX_EMPTY_FILTER_PAGES,
                    deadline: Some(deadline),
                };
                let mut hit: Option<String> = None;
                let end = read_pages(
                    pages,
                    bounds,
                    |p| p.next_token(),
                    |page| {
                        hit = page
                            .events()
                            .iter()
                            .find_map(|e| e.log_stream_name())
                            .map(ToOwned::to_owned);
                        if hit.is_some() {
                            Flow::Stop
                        } else {
                            Flow::Continue
                        }
                    },
                )
                .await
                .map_err(|e| ToolError::aws("logs:FilterLogEvents", &e))?;
                let Some(hit) = hit else {
                    if end == PagesEnd::Complete {
                        break;
                    }
                    return Err(ToolError::new(
                        ErrorKind::Timeout,
                        format!(
                            "`logs:FilterLogEvents` had not finished checking the old streams of `{group}` for newer events within {MAX_EMPTY_FILTER_PAGES} pages and the work budget; nothing was deleted"
                        ),
                    ));
                };
                let before = pending.len();
                pending.retain(|p| *p != hit);
                if pending.len() == before {
                    return Err(ToolError::new(
                        ErrorKind::Aws,
                        format!(
                            "`logs:FilterLogEvents` answered with an event of `{hit}`, a stream it was not asked about; nothing was deleted from `{group}`"
                        ),
                    ));
                }
                // Ask again about the rest, from the start: one event per stream is enough.
                newer.insert(hit);
            }
        }
        let (kept, confirmed): (Vec<OldStream>, Vec<OldStream>) =
            streams.into_iter().partition(|s| newer.contains(&s.name));
        Ok((confirmed, kept.into_iter().map(|s| s.name).collect()))
    }
}

/// The old streams of a group, as far as one call reads.
struct Scan {
    old: Vec<OldStream>,
    complete: bool,
}

/// A stream older than the cutoff.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OldStream {
    name: String,
    /// Its last event, or its creation when it holds none (epoch milliseconds).
    last_activity: i64,
    stored_bytes: i64,
}

impl OldStream {
    /// `stream` if it is older than `cutoff_ms`. A stream that reports neither a last event
    /// nor a creation time is of unknown age, and is kept.
    fn read(stream: &LogStream, cutoff_ms: i64) -> Option<Self> {
        let name = stream.log_stream_name()?;
        // The newest of the last event's own timestamp and the last ingestion: events may
        // carry any timestamp (backdated by whoever writes them), but a stream that received
        // anything recently is in use.
        let last_activity = match (stream.last_event_timestamp(), stream.last_ingestion_time()) {
            (Some(event), Some(ingested)) => event.max(ingested),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => stream.creation_time()?,
        };
        (last_activity < cutoff_ms).then(|| Self {
            name: name.to_owned(),
            last_activity,
            stored_bytes: stored_bytes(stream),
        })
    }
}

#[expect(
    deprecated,
    reason = "a log stream's storedBytes is deprecated (AWS reports 0), but it is the only size CloudWatch Logs reports, and the result says how little it means"
)]
fn stored_bytes(stream: &LogStream) -> i64 {
    stream.stored_bytes().unwrap_or(0)
}

fn reported_bytes(streams: &[OldStream]) -> i64 {
    streams
        .iter()
        .fold(0, |sum, s| sum.saturating_add(s.stored_bytes))
}

fn epoch_millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The error for a deletion that failed after `deleted` had been deleted: it says exactly
/// what is gone, so a half-done clean is never mistaken for success or for nothing.
fn partly_done(
    group: &str,
    deleted: &[String],
    failed: &str,
    total: usize,
    cause: &ToolError,
) -> ToolError {
    let message = if deleted.is_empty() {
        format!(
            "nothing was deleted: `{failed}`, the first of {} of `{group}`, could not be deleted ({})",
            streams(total),
            cause.message
        )
    } else {
        let names: Vec<String> = deleted.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "partly done: deleted {} of {} old log streams of `{group}` ({}); then `{failed}` could not be deleted ({}), so it and {} more remain",
            deleted.len(),
            total,
            names.join(", "),
            cause.message,
            total.saturating_sub(deleted.len()).saturating_sub(1)
        )
    };
    ToolError::new(cause.kind, message)
}

/// The error for a clean that a re-check stopped: what was deleted before, and why it stopped.
fn stopped(group: &str, deleted: &[String], total: usize, stop: &Stop) -> ToolError {
    let done = if deleted.is_empty() {
        "nothing was deleted".to_owned()
    } else {
        let names: Vec<String> = deleted.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "deleted {} of {} old log streams of `{group}` ({}) before",
            deleted.len(),
            total,
            names.join(", ")
        )
    };
    ToolError::stopped(
        stop.clone(),
        format!(
            "stopped: {done} a re-check of the group denied going on ({}); the rest remain",
            stop.reason()
        ),
    )
}

fn streams(n: usize) -> String {
    if n == 1 {
        "1 old log stream".to_owned()
    } else {
        format!("{n} old log streams")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, created: Option<i64>, last_event: Option<i64>) -> LogStream {
        LogStream::builder()
            .log_stream_name(name)
            .set_creation_time(created)
            .set_last_event_timestamp(last_event)
            .build()
    }

    #[test]
    fn a_stream_is_as_old_as_its_last_event_or_its_creation_when_empty() {
        let cutoff = 1_000;
        assert!(OldStream::read(&stream("old", Some(10), Some(999)), cutoff).is_some());
        assert!(OldStream::read(&stream("fresh", Some(10), Some(1_000)), cutoff).is_none());
        // Created long ago but written to since: its last event decides.
        assert!(OldStream::read(&stream("busy", Some(10), Some(5_000)), cutoff).is_none());
        assert!(OldStream::read(&stream("empty-old", Some(10), None), cutoff).is_some());
        assert!(OldStream::read(&stream("empty-new", Some(2_000), None), cutoff).is_none());
        assert!(OldStream::read(&stream("undated", None, None), cutoff).is_none());
    }

    #[test]
    fn a_stream_ingested_recently_is_not_old_whatever_its_events_say() {
        let cutoff = 1_000;
        let backdated = LogStream::builder()
            .log_stream_name("backdated")
            .creation_time(10)
            .last_event_timestamp(20)
            .last_ingestion_time(5_000)
            .build();
        assert!(OldStream::read(&backdated, cutoff).is_none());
        let ingested_only = LogStream::builder()
            .log_stream_name("ingested")
            .creation_time(10)
            .last_ingestion_time(5_000)
            .build();
        assert!(OldStream::read(&ingested_only, cutoff).is_none());
    }

    #[test]
    fn a_partial_failure_names_everything_already_deleted() {
        let cause = ToolError::new(ErrorKind::Throttled, "`logs:DeleteLogStream` failed: x");
        let err = partly_done("/g", &["a".to_owned(), "b".to_owned()], "c", 4, &cause);
        assert_eq!(err.kind, ErrorKind::Throttled);
        assert_eq!(
            err.message,
            "partly done: deleted 2 of 4 old log streams of `/g` (`a`, `b`); then `c` could not be deleted (`logs:DeleteLogStream` failed: x), so it and 1 more remain"
        );
        let err = partly_done("/g", &[], "a", 1, &cause);
        assert!(
            err.message
                .starts_with("nothing was deleted: `a`, the first of 1 old log stream of `/g`")
        );
    }
}
