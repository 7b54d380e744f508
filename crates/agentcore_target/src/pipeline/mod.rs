//! The request path every tool follows (DESIGN.md §3): identify and parse, call check,
//! real-resource lookup, resource check, budget, operate, report. A tool supplies the domain
//! steps ([`Tool`]); the order, the checks and the reporting live here once ([`ToolHost`]).

mod approval;
mod caller;
mod checks;
mod host;
mod recheck;

use std::future::Future;

use guard::ResourceFacts;
use serde::{Serialize, de::DeserializeOwned};

use crate::{config::Settings, error::ToolError};

pub use approval::Desk;
pub use host::ToolHost;
pub use recheck::Recheck;

/// Whether a tool changes anything. Declared by each tool, never inferred: only a read-only
/// tool may go without a resource check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only; the call check alone may guard it.
    ReadOnly,
    /// Changes AWS resources; every call must pass the resource check on the real resource.
    Mutating,
}

/// What a tool found when it looked up the real resource.
#[derive(Debug, Clone)]
pub struct Found<R> {
    /// The resource as the resource check sees it. `None` only for a [`Access::ReadOnly`]
    /// tool that touches no resource; a mutating tool that finds no facts is refused.
    pub facts: Option<ResourceFacts>,
    /// Whatever the operation needs from the lookup.
    pub resource: R,
}

/// The domain of one tool. Implementations hold their AWS clients and settings.
pub trait Tool: Send + Sync + 'static {
    /// The tool's name within its gateway target (`terminate_instance`).
    const NAME: &'static str;
    /// The gateway target name unless `GATEWAY_TARGET_NAME` says otherwise.
    const DEFAULT_TARGET: &'static str;
    /// Whether the tool changes anything.
    const ACCESS: Access;

    /// The tool's settings, read from the environment once at start.
    type Settings: Settings;

    /// The arguments; the serde derive must `deny_unknown_fields`.
    type Input: DeserializeOwned + Send + Sync;
    /// What the lookup hands to the operation.
    type Resource: Send;
    /// What the operation returns.
    type Output: Serialize + Send;

    /// Checks what types cannot (formats, ranges). No AWS call.
    fn validate(input: &Self::Input) -> Result<(), ToolError>;

    /// Reads the real resource (tags, state, protection flags). No mutation.
    fn lookup(
        &self,
        input: &Self::Input,
    ) -> impl Future<Output = Result<Found<Self::Resource>, ToolError>> + Send;

    /// Performs the operation, or with `dry_run` reports what it would do and changes nothing.
    /// An operation made of many changes asks `recheck` between them, so that a resource that
    /// became protected meanwhile stops it.
    fn operate(
        &self,
        input: &Self::Input,
        resource: Self::Resource,
        recheck: &Recheck<'_, Self>,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send
    where
        Self: Sized;

    /// One sentence about a result, for a person.
    fn summary(output: &Self::Output) -> String;

    /// Whether the call is a dry run: it changes nothing, so it counts against no budget.
    /// Without an override every call counts, which can only make a budget stricter.
    fn dry_run(_input: &Self::Input) -> bool {
        false
    }

    /// Whether a successful operation changed anything. One that did not (the instance was
    /// already terminated, no stream was old enough) gives its budget slots back: budgets
    /// count operations that changed something, so no-ops cannot use one up. Without an
    /// override every operation counts, which can only make a budget stricter. (A failed
    /// operation gives its slots back only when [`ToolError::changed_nothing`] says so.)
    fn changed(_output: &Self::Output) -> bool {
        true
    }

    /// The same tool making its AWS calls with `config`: the role session its mutations are
    /// made in, as the caller (`CALLER_ROLE_ARN`). `None` for a tool that cannot; with a role
    /// configured, its mutating calls are then refused.
    fn acting_as(&self, _config: &crate::SdkConfig) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests;
