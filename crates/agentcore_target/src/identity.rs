//! Which tool the gateway asked for, and the ids it sent: the AgentCore Lambda-target client
//! context (DESIGN.md §5).

use guard::{RequestIds, ToolName};
use lambda_host::Context;

/// The client-context key naming the tool, `<target>___<tool>`.
pub const TOOL_NAME_KEY: &str = "bedrockAgentCoreToolName";
/// The client-context key carrying AgentCore's request id.
pub const REQUEST_ID_KEY: &str = "bedrockAgentCoreAwsRequestId";
/// The client-context key carrying the MCP message id.
pub const MESSAGE_ID_KEY: &str = "bedrockAgentCoreMcpMessageId";

/// One invocation, identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The gateway tool name the call is checked under.
    pub tool: String,
    /// Lambda, AgentCore and MCP ids, for audit records.
    pub ids: RequestIds,
    /// Whether the gateway named the tool (false: a direct invoke, `sam local invoke`).
    pub from_gateway: bool,
}

/// Why an invocation cannot be served by this function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misrouted {
    /// The gateway named another tool.
    #[error("misrouted call: this function serves `{serves}`, the gateway asked for `{asked}`")]
    OtherTool {
        /// This function's tool.
        serves: String,
        /// The tool the gateway named.
        asked: String,
    },
    /// The tool name in the client context is not a gateway tool name.
    #[error("misrouted call: {0}")]
    BadName(String),
}

/// Reads the client context: the tool must be this function's `tool`; without a client
/// context (or one that names no tool) the call is `<target>___<tool>`. Keys are matched
/// without regard to case: preview-era gateways spelled them `bedrockagentcore…`.
pub fn identify(context: &Context, tool: &str, target: &str) -> Result<Invocation, Misrouted> {
    let custom = context.client_context.as_ref().map(|cc| &cc.custom);
    let value = |key: &str| {
        custom.and_then(|c| {
            c.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        })
    };
    let ids = RequestIds {
        lambda: Some(context.request_id.clone()).filter(|id| !id.is_empty()),
        agentcore: value(REQUEST_ID_KEY),
        mcp_message: value(MESSAGE_ID_KEY),
    };
    let Some(asked) = value(TOOL_NAME_KEY) else {
        return Ok(Invocation {
            tool: format!("{target}{}{tool}", guard::TOOL_SEPARATOR),
            ids,
            from_gateway: false,
        });
    };
    let name = ToolName::parse(&asked).map_err(|e| Misrouted::BadName(e.to_string()))?;
    if name.tool != tool {
        return Err(Misrouted::OtherTool {
            serves: tool.to_owned(),
            asked: asked.clone(),
        });
    }
    Ok(Invocation {
        tool: asked,
        ids,
        from_gateway: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(custom: &[(&str, &str)]) -> Context {
        let mut context = Context::default();
        context.request_id = "lambda-1".to_owned();
        let custom: serde_json::Map<String, serde_json::Value> = custom
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect();
        context.client_context =
            serde_json::from_value(serde_json::json!({ "custom": custom })).unwrap();
        context
    }

    #[test]
    fn without_a_client_context_the_call_is_this_functions_own_tool() {
        let inv = identify(&Context::default(), "clean_logs", "clean-logs").unwrap();
        assert_eq!(inv.tool, "clean-logs___clean_logs");
        assert!(!inv.from_gateway);
    }

    #[test]
    fn the_gateway_names_the_tool_and_the_ids() {
        let ctx = context(&[
            (TOOL_NAME_KEY, "ops-logs___clean_logs"),
            (REQUEST_ID_KEY, "ac-1"),
            ("bedrockagentcoreMcpMessageId", "7"),
        ]);
        let inv = identify(&ctx, "clean_logs", "clean-logs").unwrap();
        assert_eq!(inv.tool, "ops-logs___clean_logs");
        assert_eq!(inv.ids.lambda.as_deref(), Some("lambda-1"));
        assert_eq!(inv.ids.agentcore.as_deref(), Some("ac-1"));
        assert_eq!(inv.ids.mcp_message.as_deref(), Some("7"));
    }

    #[test]
    fn another_tool_is_misrouted() {
        let ctx = context(&[(
            "bedrockagentcoreToolName",
            "restart-service___restart_service",
        )]);
        let err = identify(&ctx, "terminate_instance", "terminate-instance").unwrap_err();
        assert_eq!(
            err.to_string(),
            "misrouted call: this function serves `terminate_instance`, the gateway asked for `restart-service___restart_service`"
        );
        let ctx = context(&[(TOOL_NAME_KEY, "terminate_instance")]);
        assert!(matches!(
            identify(&ctx, "terminate_instance", "terminate-instance"),
            Err(Misrouted::BadName(_))
        ));
    }
}
