//! Helpers for testing tools: a guard over the shipped policies, events as the gateway and as
//! a direct invoke send them, and the report inside a result.

use std::sync::Arc;

use guard::{Guard, GuardConfig, MemoryAudit, Mode, PolicySources};

use crate::config::ConfigError;
use lambda_host::{Context, LambdaEvent};
use serde_json::Value;

use crate::{CallToolResult, Tool, ToolHost, identity::gateway_client_context};

/// The gateway ARN tests link the policies to.
pub const TEST_GATEWAY_ARN: &str = guard::EXAMPLE_GATEWAY_ARN;

/// The id of that gateway, as its client contexts name it.
pub const TEST_GATEWAY_ID: &str = "gw-xyz789";

/// A guard over the shipped policies in `mode`, and the sink its audit records go to.
pub fn guard(mode: Mode) -> (Arc<Guard>, MemoryAudit) {
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        mode,
        gateway_arn: Some(TEST_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
    (Arc::new(guard), audit)
}

/// A host for `tool` (or a tool whose settings failed) under the default target name, with a
/// guard in `mode`.
pub fn host<T: Tool>(tool: Result<T, ConfigError>, mode: Mode) -> (ToolHost<T>, MemoryAudit) {
    let (guard, audit) = guard(mode);
    // The tools' handler tests are about the other steps; budgets and the stop switch have
    // their own tests.
    let host = ToolHost::new(tool, guard, T::DEFAULT_TARGET)
        .with_budgets(crate::BudgetLedger::off())
        .with_stop(crate::StopSwitch::absent());
    (host, audit)
}

/// An event as a direct invoke sends it: no client context.
pub fn direct(payload: Value) -> LambdaEvent<Value> {
    let mut context = Context::default();
    context.request_id = "test-request".to_owned();
    LambdaEvent::new(payload, context)
}

/// An event as AgentCore Gateway sends it, naming `tool` (`<target>___<tool>`).
pub fn from_gateway(payload: Value, tool: &str) -> LambdaEvent<Value> {
    let mut event = direct(payload);
    event.context.client_context = serde_json::from_value(gateway_client_context(
        tool,
        TEST_GATEWAY_ID,
        "agentcore-request",
    ))
    .ok();
    event
}

/// The JSON report inside a result (`Value::Null` if there is none).
pub fn report(result: &CallToolResult) -> Value {
    result.report().unwrap_or(Value::Null)
}

/// What one invocation of a tool produced.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// The JSON report inside the result.
    pub report: Value,
    /// The result's `isError`.
    pub is_error: bool,
    /// The audit records the guard wrote.
    pub audit: Vec<guard::AuditRecord>,
}

/// Invokes `tool` once with `event`, under a guard in `mode` over the shipped policies.
pub async fn invoke<T: Tool>(tool: T, mode: Mode, event: LambdaEvent<Value>) -> Invoked {
    invoke_host(Ok(tool), mode, event).await
}

/// Invokes a host whose settings failed to read with `error`, once.
pub async fn invoke_misconfigured<T: Tool>(
    error: ConfigError,
    mode: Mode,
    event: LambdaEvent<Value>,
) -> Invoked {
    invoke_host::<T>(Err(error), mode, event).await
}

async fn invoke_host<T: Tool>(
    tool: Result<T, ConfigError>,
    mode: Mode,
    event: LambdaEvent<Value>,
) -> Invoked {
    let (host, audit) = host(tool, mode);
    let result = host.handle(event).await.unwrap_or_else(|d| CallToolResult {
        content: vec![crate::result::Content::Text {
            text: serde_json::json!({"status": "lambda_error", "message": d.error_message})
                .to_string(),
        }],
        is_error: true,
    });
    Invoked {
        report: report(&result),
        is_error: result.is_error,
        audit: audit.records(),
    }
}
