//! `clean_logs`: delete the old log streams of one CloudWatch Logs log group.
//!
//! Input → call check → the real log group (deletion protection, retention, tags) → resource
//! check → the streams whose last event (or, for an empty stream, creation) is older than the
//! cutoff, confirmed to hold no newer event → `DeleteLogStream` for each, oldest first, at most
//! `CLEAN_LOGS_MAX_STREAMS` per call. Never the group itself.

use std::time::{Duration, Instant, SystemTime};

use agentcore_target::{
    Access, ConfigError, Env, ErrorKind, Found, Recheck, ResourceFacts, Settings, Tool, ToolError,
    check_identifier,
};
use aws_sdk_cloudwatchlogs::Client;
use serde::{Deserialize, Serialize};

use crate::scan::{Scan, epoch_millis, reported_bytes};

mod delete;
mod report;
mod scan;
#[cfg(test)]
mod tests;

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

        self.delete(&group.name, &confirmed, &mut output, recheck, started)
            .await?;
        Ok(output)
    }

    // A failed clean may have deleted streams before it failed, so it keeps its budget slot
    // (its errors never say `changed_nothing`).
    fn dry_run(input: &CleanInput) -> bool {
        input.dry_run
    }

    fn acting_as(&self, config: &agentcore_target::SdkConfig) -> Option<Self> {
        Some(Self {
            logs: Client::new(config),
            settings: self.settings,
            budget: self.budget,
        })
    }

    // A clean that found nothing old enough deleted nothing: it uses up no budget.
    fn changed(out: &CleanOutput) -> bool {
        !out.deleted.is_empty()
    }

    fn summary(out: &CleanOutput) -> String {
        report::summary(out)
    }
}
