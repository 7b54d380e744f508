//! The AWS SDK configuration every tool builds its client from, tags as the guard reads them,
//! bounded walks through paginated listings, and what the attempts of one call did.

use std::{
    collections::{BTreeMap, HashSet},
    marker::PhantomData,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{Intercept, context::FinalizerInterceptorContextRef},
        result::SdkError,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::{config_bag::ConfigBag, error::metadata::ProvideErrorMetadata};

use crate::error::{ErrorKind, ToolError, classify};

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

/// What the attempts of one AWS call did, across the SDK's retries: attached to a mutating
/// call (`.customize().interceptor(attempts.clone())`), it tells afterwards whether every
/// attempt was refused before it could act.
///
/// The SDK reports only the last attempt's error. A first attempt that timed out or got a 500
/// may have acted (terminated the instance, started the deployment) even when the retries that
/// followed were throttled — so a budget slot is given back only when *no* attempt can have
/// acted. `E` is the operation's error type (`TerminateInstancesError`), whose code says
/// whether AWS refused the attempt.
pub struct Attempts<E> {
    log: Arc<Mutex<AttemptLog>>,
    error: PhantomData<fn() -> E>,
}

#[derive(Debug, Default, Clone, Copy)]
struct AttemptLog {
    made: u32,
    may_have_acted: bool,
}

impl<E> Attempts<E> {
    /// A log with no attempt yet.
    pub fn new() -> Self {
        Self {
            log: Arc::default(),
            error: PhantomData,
        }
    }

    /// At least one attempt was made, and AWS refused every one before it acted (not found,
    /// access denied, throttled, invalid, a conflicting state). A timeout, a dropped
    /// connection or a server error may have acted, and so does not count as refused.
    pub fn all_refused(&self) -> bool {
        let log = self.read();
        log.made > 0 && !log.may_have_acted
    }

    /// How many attempts were made.
    pub fn made(&self) -> u32 {
        self.read().made
    }

    fn read(&self) -> AttemptLog {
        match self.log.lock() {
            Ok(log) => *log,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

impl<E> Default for Attempts<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Clone for Attempts<E> {
    fn clone(&self) -> Self {
        Self {
            log: Arc::clone(&self.log),
            error: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Attempts<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let log = self.read();
        f.debug_struct("Attempts")
            .field("made", &log.made)
            .field("may_have_acted", &log.may_have_acted)
            .finish()
    }
}

impl<E> Intercept for Attempts<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn name(&self) -> &'static str {
        "Attempts"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Only an error AWS answered with a code that refuses before acting counts as refused;
        // no answer at all (a timeout, a dropped connection) may have acted.
        let refused = match context.output_or_error() {
            Some(Err(error)) => error
                .as_operation_error()
                .and_then(|e| e.downcast_ref::<E>())
                .and_then(ProvideErrorMetadata::code)
                .is_some_and(|code| refuses_before_acting(classify(code))),
            _ => false,
        };
        let mut log = match self.log.lock() {
            Ok(log) => log,
            Err(poisoned) => poisoned.into_inner(),
        };
        log.made = log.made.saturating_add(1);
        log.may_have_acted |= !refused;
        Ok(())
    }
}

// Beside `Attempts`, so that `error` needs nothing from here (one way: aws -> error).
impl ToolError {
    /// The error of a mutating AWS call made with `attempts` attached: it changed nothing only
    /// if AWS refused every attempt before acting.
    pub fn aws_attempted<E, R, A>(
        action: &str,
        err: &SdkError<E, R>,
        attempts: &Attempts<A>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let mut error = Self::aws(action, err);
        error.changed_nothing = attempts.all_refused() && refuses_before_acting(error.kind);
        error
    }
}

/// Error kinds AWS answers before doing anything.
pub(crate) fn refuses_before_acting(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::InvalidInput
            | ErrorKind::Configuration
            | ErrorKind::NotFound
            | ErrorKind::AccessDenied
            | ErrorKind::Throttled
            | ErrorKind::Conflict
    )
}
