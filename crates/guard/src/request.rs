//! What a check is asked about: the tool call, its request ids, the real resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{caller::Principal, value::uid_string};

/// Request identifiers carried into audit records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestIds {
    /// The Lambda request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda: Option<String>,
    /// AgentCore's request id (`bedrockAgentCoreAwsRequestId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentcore: Option<String>,
    /// The MCP message id (`bedrockAgentCoreMcpMessageId`, or the JSON-RPC id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_message: Option<String>,
}

impl RequestIds {
    /// The ids of a Lambda invocation known only by its request id (an empty id, as a
    /// hand-made invocation may carry, is none).
    pub fn from_lambda(request_id: &str) -> Self {
        Self {
            lambda: Some(request_id.to_owned()).filter(|id| !id.is_empty()),
            ..Self::default()
        }
    }
}

/// One tool call, as the gateway sees it.
#[derive(Debug, Clone, Copy)]
pub struct ToolCall<'a> {
    /// The gateway tool name, `<target>___<tool>`, unparsed: a malformed name is itself a
    /// decision (an error deny), recorded like any other.
    pub tool: &'a str,
    /// The tool's arguments, a JSON object: `context.input`.
    pub input: &'a Value,
    /// The caller, when known (the gateway interceptor knows it; a tool Lambda does not).
    pub principal: Option<&'a Principal>,
    /// Ids for the audit record.
    pub ids: &'a RequestIds,
}

/// The real resource a tool is about to touch, as read from AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFacts {
    /// Its Cedar entity type in the resource schema (`Guard::Ec2Instance`).
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Its id (instance id, service ARN, log group name).
    pub id: String,
    /// Its real AWS tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The facts that matter, typed as the schema declares them.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

impl ResourceFacts {
    /// Facts about a resource of `entity_type` with id `id`, no tags or attributes yet.
    pub fn new(entity_type: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            entity_type: entity_type.into(),
            id: id.into(),
            tags: BTreeMap::new(),
            attributes: Map::new(),
        }
    }

    /// Adds one attribute.
    #[must_use]
    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }

    /// Sets the tags.
    #[must_use]
    pub fn tags(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Self {
        self.tags = tags.into_iter().collect();
        self
    }

    /// `Type::"id"`, as Cedar prints the entity.
    pub fn uid_string(&self) -> String {
        uid_string(&self.entity_type, &self.id)
    }
}
