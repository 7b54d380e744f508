//! Reading a group and its old streams: the reads and checks `lookup` and `operate` rely on.

use std::{
    collections::BTreeSet,
    time::{Instant, SystemTime},
};

use agentcore_target::{ErrorKind, Flow, PageBounds, PagesEnd, ToolError, read_pages};
use aws_sdk_cloudwatchlogs::types::LogStream;

use crate::{
    CleanLogs, MAX_EMPTY_FILTER_PAGES, MAX_SCAN_PAGES, STREAMS_PER_FILTER, STREAMS_PER_PAGE,
};

/// The reads and checks `operate` and `lookup` rely on.
impl CleanLogs {
    /// The log group named exactly `name`. `DescribeLogGroups` matches by prefix, so every
    /// page is searched for the exact name.
    pub(crate) async fn describe_group(
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
    pub(crate) async fn old_streams(
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
    pub(crate) async fn confirm(
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
pub(crate) struct Scan {
    pub(crate) old: Vec<OldStream>,
    pub(crate) complete: bool,
}

/// A stream older than the cutoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OldStream {
    pub(crate) name: String,
    /// Its last event, or its creation when it holds none (epoch milliseconds).
    pub(crate) last_activity: i64,
    pub(crate) stored_bytes: i64,
}

impl OldStream {
    /// `stream` if it is older than `cutoff_ms`. A stream that reports neither a last event
    /// nor a creation time is of unknown age, and is kept.
    pub(crate) fn read(stream: &LogStream, cutoff_ms: i64) -> Option<Self> {
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

pub(crate) fn reported_bytes(streams: &[OldStream]) -> i64 {
    streams
        .iter()
        .fold(0, |sum, s| sum.saturating_add(s.stored_bytes))
}

pub(crate) fn epoch_millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
