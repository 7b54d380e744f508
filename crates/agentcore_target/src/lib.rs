//! AgentCore Gateway Lambda targets: the protocol and the guarded pipeline the tools share.
//!
//! A tool implements [`Tool`] (its input type, its real-resource lookup, its operation); a
//! [`ToolHost`] runs every invocation through the same path (DESIGN.md §3): identify the call
//! from the AgentCore client context, parse the arguments strictly, ask the guard's call check,
//! read the real resource, ask the resource check, reserve a slot in the tool's budgets
//! (the `budget` crate's ledger), operate, and answer with an MCP [`CallToolResult`]. Deny at
//! the call check: no AWS call at all. Deny at the resource check: no mutating call.
//!
//! The public face: the [`Tool`] trait and its [`Access`], [`Found`], [`Recheck`]/[`Stop`];
//! [`ToolHost`] and [`serve`]; [`ToolError`]/[`ErrorKind`]; the AWS helpers every tool uses
//! ([`sdk_config`], [`tag_map`], [`read_pages`] within [`PageBounds`], [`Attempts`] on a
//! mutating call); strict input checks ([`check_identifier`], [`check_text`]); settings
//! ([`Settings`], [`Env`], [`ClusterMap`]); and the gateway's client context
//! ([`identify`], [`gateway_client_context`]). Test support (`testing`, `tool_schema`) is
//! behind the `test-util` feature.

mod aws;
mod callers;
mod config;
mod error;
mod identity;
mod input;
mod pipeline;
mod result;
mod serve;
mod session;
#[cfg(feature = "test-util")]
pub mod testing;
#[cfg(feature = "test-util")]
pub mod tool_schema;

pub use aws::{
    ATTEMPT_TIMEOUT, Attempts, Flow, OPERATION_TIMEOUT, PageBounds, PagesEnd, read_pages,
    sdk_config, tag_map,
};
pub use aws_config::SdkConfig;
pub use budget::{BudgetLedger, SingleUse};
pub use callers::{CALLER_VAR, CallerMode, CallerRefusal, Callers, split_assertion};
pub use config::{
    BUDGET_TABLE_VAR, BUDGETS_VAR, CLUSTERS_VAR, ClusterMap, ConfigError, Env, HostSettings,
    Settings, TARGET_NAME_VAR,
};
pub use error::{ErrorKind, Stop, ToolError};
pub use guard::ResourceFacts;
pub use identity::{
    GATEWAY_ID_KEY, Invocation, MESSAGE_ID_KEY, Misrouted, REQUEST_ID_KEY, TOOL_NAME_KEY,
    gateway_client_context, gateway_client_context_for, identify,
};
pub use input::{MAX_ARGUMENT_BYTES, MAX_NAME_BYTES, MAX_TEXT_BYTES, check_identifier, check_text};
pub use lambda_host::Error as ServeError;
pub use oversight::{APPROVAL_ARGUMENT, STOP_CACHE, StopSwitch};
pub use pipeline::{Access, Desk, Found, Recheck, Tool, ToolHost};
pub use result::{CallToolResult, CheckReport, Content, GuardReport, Report, Status};
pub use serve::serve;
pub use session::{
    APPROVED_ROLE_VAR, CALLER_ROLE_VAR, Session, SessionError, Sessions, source_identity,
};

#[cfg(test)]
mod guide {
    /// The README's "Guard your own tool" quotes the example tool verbatim, so the guide is
    /// the code the test command runs and cannot rot.
    #[test]
    fn the_readme_guide_quotes_the_example_tool_verbatim() {
        let readme = include_str!("../../../README.md");
        let example = include_str!("../examples/reboot_instance/main.rs");
        let policy = include_str!("../examples/reboot_instance/resource.cedar");
        let section = readme
            .split("## Guard your own tool")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .unwrap_or_default();
        let rust = section
            .split("```rust\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap_or_default();
        assert!(rust.len() > 500, "the guide shows the tool");
        assert!(
            example.contains(rust),
            "README's tool differs from the example"
        );
        assert!(
            section.contains(policy),
            "README's policy differs from the example"
        );
    }
}
