//! The AWS SDK configuration every tool builds its client from, tags as the guard reads them,
//! and bounded walks through paginated listings.

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use aws_smithy_async::future::pagination_stream::PaginationStream;

/// How long one attempt of an AWS call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an AWS call may take, retries included; inside the function's 30 s timeout, so a
/// slow AWS answer is a clear tool error rather than a killed invocation.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The standard chain (region, credentials, `AWS_ENDPOINT_URL`), standard retries, and the
/// timeouts above.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

/// Tags as the resource check reads them, from any SDK's `(key, value)` pairs; a tag without a
/// key is no tag, a tag without a value has the empty value.
pub fn tag_map<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(key, value)| Some((key?.to_owned(), value.unwrap_or_default().to_owned())))
        .collect()
}

/// How far one walk through an AWS listing may go.
#[derive(Debug, Clone, Copy)]
pub struct PageBounds {
    /// The most pages read.
    pub max_pages: usize,
    /// No page is requested after this instant (the invocation's work budget); the first page
    /// always is.
    pub deadline: Option<Instant>,
}

/// Why a walk through pages ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagesEnd {
    /// The last page was read.
    Complete,
    /// The caller had what it needed.
    Stopped,
    /// [`PageBounds::max_pages`] pages were read and more remain.
    PageCap,
    /// The deadline passed with pages left.
    OutOfTime,
    /// AWS handed back a page token it had handed out before: the listing loops.
    RepeatedToken,
}

impl PagesEnd {
    /// Whether every page was read (or the caller stopped by choice).
    pub fn is_complete(self) -> bool {
        matches!(self, Self::Complete | Self::Stopped)
    }
}

/// What to do after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next page.
    Continue,
    /// Stop here.
    Stop,
}

/// Drives an SDK paginator (`into_paginator().send()`) within `bounds`, handing each page to
/// `on_page`. The SDK stops on a token repeated back to back; `next_token` lets this also stop
/// on one repeated from further back, so a cycling listing ends instead of hanging.
pub async fn read_pages<O, E>(
    mut pages: PaginationStream<Result<O, E>>,
    bounds: PageBounds,
    next_token: impl Fn(&O) -> Option<&str>,
    mut on_page: impl FnMut(O) -> Flow,
) -> Result<PagesEnd, E> {
    let mut seen: HashSet<String> = HashSet::new();
    for read in 0..bounds.max_pages {
        if read > 0 && bounds.deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(PagesEnd::OutOfTime);
        }
        let Some(page) = pages.next().await else {
            return Ok(PagesEnd::Complete);
        };
        let page = page?;
        let token = next_token(&page)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if on_page(page) == Flow::Stop {
            return Ok(PagesEnd::Stopped);
        }
        let Some(token) = token else {
            return Ok(PagesEnd::Complete);
        };
        if !seen.insert(token) {
            return Ok(PagesEnd::RepeatedToken);
        }
    }
    Ok(PagesEnd::PageCap)
}
