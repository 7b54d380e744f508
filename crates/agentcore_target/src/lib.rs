//! AgentCore Gateway Lambda targets: the protocol and the guarded pipeline the tools share.
//!
//! A tool implements [`Tool`] (its input type, its real-resource lookup, its operation); a
//! [`ToolHost`] runs every invocation through the same path (DESIGN.md §3): identify the call
//! from the AgentCore client context, parse the arguments strictly, ask the guard's call check,
//! read the real resource, ask the resource check, reserve a slot in the tool's budgets
//! ([`budget`]), operate, and answer with an MCP
//! `CallToolResult`. Deny at the call check: no AWS call at all. Deny at the resource check:
//! no mutating call.

pub mod aws;
pub mod budget;
pub mod config;
pub mod error;
pub mod identity;
pub mod input;
pub mod pipeline;
pub mod result;
#[cfg(feature = "test-util")]
pub mod testing;
#[cfg(feature = "test-util")]
pub mod tool_schema;

pub use budget::BudgetLedger;
pub use config::{ConfigError, Settings};
pub use error::{ErrorKind, ToolError};
pub use pipeline::{Access, Found, Recheck, Stop, Tool, ToolHost};
pub use result::CallToolResult;

/// Runs a tool as a Lambda function: tracing, the AWS SDK configuration, the tool's settings
/// from the environment, the tool `make` builds from both, the guard from the environment,
/// then the runtime loop. A tool's `main` is one call.
pub async fn serve<T: Tool>(
    make: impl FnOnce(&aws_config::SdkConfig, T::Settings) -> T,
) -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let sdk = aws::sdk_config().await;
    let tool = config::from_process_env::<T::Settings>().map(|settings| make(&sdk, settings));
    if let Err(e) = &tool {
        tracing::error!(error = %e, "the function is misconfigured: every call is refused");
    }
    let guard = std::sync::Arc::new(guard::Guard::from_env());
    // Budgets over time are counted in DynamoDB; unset or broken settings refuse every
    // counted call rather than run without them. A read-only tool is counted only when a
    // budget names it: otherwise it needs no table (the template gives it none).
    let budgets = if BudgetLedger::counts(T::NAME, T::ACCESS) {
        BudgetLedger::from_env(&sdk, &guard)
    } else {
        BudgetLedger::off()
    };
    let host = std::sync::Arc::new(ToolHost::from_env(tool, guard).with_budgets(budgets));
    lambda_host::run(move |incoming| {
        let host = host.clone();
        async move { host.answer(incoming).await }
    })
    .await
}

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
