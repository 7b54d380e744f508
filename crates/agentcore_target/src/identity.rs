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
/// The client-context key naming the gateway that called.
pub const GATEWAY_ID_KEY: &str = "bedrockAgentCoreGatewayId";

/// The client context AgentCore Gateway sends a Lambda target, as JSON: the `custom` map
/// naming `tool` (`<target>___<tool>`) and the gateway `gateway_id`, with request and message
/// ids. For clients and tests that call a target the way the gateway does.
pub fn gateway_client_context(tool: &str, gateway_id: &str, request_id: &str) -> serde_json::Value {
    gateway_client_context_for(tool, gateway_id, request_id, "1")
}

/// [`gateway_client_context`] for the MCP request `mcp_message_id` (the JSON-RPC `id` as
/// text): what a caller assertion is bound to.
pub fn gateway_client_context_for(
    tool: &str,
    gateway_id: &str,
    request_id: &str,
    mcp_message_id: &str,
) -> serde_json::Value {
    serde_json::json!({
        "custom": {
            TOOL_NAME_KEY: tool,
            GATEWAY_ID_KEY: gateway_id,
            "bedrockAgentCoreTargetId": "target-1",
            REQUEST_ID_KEY: request_id,
            MESSAGE_ID_KEY: mcp_message_id,
            "bedrockAgentCoreMessageVersion": "1.0",
        }
    })
}

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
    /// The client context spells one key several ways with different values.
    #[error(
        "misrouted call: the client context gives `{key}` {count} different values ({values}); \
         refused rather than guess which one the gateway meant"
    )]
    Conflicting {
        /// The key, as AgentCore documents it.
        key: &'static str,
        /// How many different values.
        count: usize,
        /// The values, quoted.
        values: String,
    },
    /// Another gateway called than the one this function's policies are linked to.
    #[error(
        "misrouted call: gateway `{called}` called, but this function serves gateway `{serves}`"
    )]
    OtherGateway {
        /// The gateway id in `GATEWAY_ARN`.
        serves: String,
        /// The gateway id in the client context.
        called: String,
    },
}

/// Reads the client context: the tool must be this function's `tool`, and the gateway, when
/// named, must be `gateway_id` (the one in `GATEWAY_ARN`); without a client context (or one
/// that names no tool) the call is `<target>___<tool>`. Keys are matched without regard to
/// case, since preview-era gateways spelled them `bedrockagentcore…`; every spelling present
/// is read, and spellings that disagree are refused (the client context is a hash map: taking
/// the first would make the outcome depend on hash order).
pub fn identify(
    context: &Context,
    tool: &str,
    target: &str,
    gateway_id: Option<&str>,
) -> Result<Invocation, Misrouted> {
    let custom = context.client_context.as_ref().map(|cc| &cc.custom);
    let value = |key: &'static str| -> Result<Option<String>, Misrouted> {
        let mut values: Vec<&String> = custom
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .collect();
        values.sort();
        values.dedup();
        match values.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).clone())),
            many => Err(Misrouted::Conflicting {
                key,
                count: many.len(),
                values: many
                    .iter()
                    .map(|v| format!("{:?}", v))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    };
    let ids = RequestIds {
        agentcore: value(REQUEST_ID_KEY)?,
        mcp_message: value(MESSAGE_ID_KEY)?,
        ..RequestIds::from_lambda(&context.request_id)
    };
    if let (Some(called), Some(serves)) = (value(GATEWAY_ID_KEY)?, gateway_id)
        && called != serves
    {
        return Err(Misrouted::OtherGateway {
            serves: serves.to_owned(),
            called,
        });
    }
    let Some(asked) = value(TOOL_NAME_KEY)? else {
        return Ok(Invocation {
            tool: ToolName::join(target, tool),
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
        let inv = identify(&Context::default(), "clean_logs", "clean-logs", None).unwrap();
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
        let inv = identify(&ctx, "clean_logs", "clean-logs", Some("gw-1")).unwrap();
        assert_eq!(inv.tool, "ops-logs___clean_logs");
        assert_eq!(inv.ids.lambda.as_deref(), Some("lambda-1"));
        assert_eq!(inv.ids.agentcore.as_deref(), Some("ac-1"));
        assert_eq!(inv.ids.mcp_message.as_deref(), Some("7"));
    }

    #[test]
    fn tool_name_keys_that_disagree_are_refused_whatever_the_hash_order() {
        let ctx = context(&[
            (TOOL_NAME_KEY, "clean-logs___clean_logs"),
            ("bedrockagentcoreToolName", "other___clean_logs"),
        ]);
        for _ in 0..20 {
            let err = identify(&ctx, "clean_logs", "clean-logs", None).unwrap_err();
            assert!(
                matches!(err, Misrouted::Conflicting { count: 2, .. }),
                "{err}"
            );
        }
        // The same value under two spellings is one value.
        let ctx = context(&[
            (TOOL_NAME_KEY, "clean-logs___clean_logs"),
            ("BEDROCKAGENTCORETOOLNAME", "clean-logs___clean_logs"),
        ]);
        assert!(identify(&ctx, "clean_logs", "clean-logs", None).is_ok());
    }

    #[test]
    fn another_gateway_is_misrouted() {
        let ctx = context(&[
            (TOOL_NAME_KEY, "clean-logs___clean_logs"),
            (GATEWAY_ID_KEY, "gw-other"),
        ]);
        let err = identify(&ctx, "clean_logs", "clean-logs", Some("gw-1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "misrouted call: gateway `gw-other` called, but this function serves gateway `gw-1`"
        );
    }

    #[test]
    fn another_tool_is_misrouted() {
        let ctx = context(&[(
            "bedrockagentcoreToolName",
            "restart-service___restart_service",
        )]);
        let err = identify(&ctx, "terminate_instance", "terminate-instance", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "misrouted call: this function serves `terminate_instance`, the gateway asked for `restart-service___restart_service`"
        );
        let ctx = context(&[(TOOL_NAME_KEY, "terminate_instance")]);
        assert!(matches!(
            identify(&ctx, "terminate_instance", "terminate-instance", None),
            Err(Misrouted::BadName(_))
        ));
    }
}
