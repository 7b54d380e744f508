//! What a check is asked about: the tool call, its caller, the real resource.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::GuardError;

/// A gateway tool name, `<target>___<tool>` (three underscores), split at the first `___`.
///
/// This is the name AgentCore Gateway gives a tool and the id of its Cedar action
/// (`AgentCore::Action::"<target>___<tool>"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolName<'a> {
    /// The full name, as the gateway spells it.
    pub full: &'a str,
    /// The gateway target (`terminate-instance`).
    pub target: &'a str,
    /// The tool within the target (`terminate_instance`).
    pub tool: &'a str,
}

/// The separator between target and tool in a gateway tool name.
pub const TOOL_SEPARATOR: &str = "___";

impl<'a> ToolName<'a> {
    /// Splits `target___tool` at the first `___`; both parts must be non-empty.
    pub fn parse(full: &'a str) -> Result<Self, GuardError> {
        let invalid = |reason: &str| GuardError::ToolName {
            name: full.to_owned(),
            reason: reason.to_owned(),
        };
        let (target, tool) = full
            .split_once(TOOL_SEPARATOR)
            .ok_or_else(|| invalid("expected `<target>___<tool>` (three underscores)"))?;
        if target.is_empty() {
            return Err(invalid("the target name before `___` is empty"));
        }
        if tool.is_empty() {
            return Err(invalid("the tool name after `___` is empty"));
        }
        Ok(Self { full, target, tool })
    }
}

impl fmt::Display for ToolName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.full)
    }
}

/// Who is calling, as AgentCore Policy models it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Principal {
    /// An OAuth caller: `AgentCore::OAuthUser::"<jwt sub>"`, every other claim a string tag.
    OAuthUser {
        /// The JWT `sub` claim.
        id: String,
        /// The JWT claims, as strings.
        #[serde(default)]
        tags: BTreeMap<String, String>,
    },
    /// An IAM caller: `AgentCore::IamEntity::"<caller arn>"`; no tags.
    IamEntity {
        /// The caller's IAM ARN.
        id: String,
    },
}

impl Principal {
    /// The Cedar entity type name.
    pub fn entity_type(&self) -> &'static str {
        match self {
            Self::OAuthUser { .. } => CallerType::OAuthUser.entity_type(),
            Self::IamEntity { .. } => CallerType::IamEntity.entity_type(),
        }
    }

    /// The entity id.
    pub fn id(&self) -> &str {
        match self {
            Self::OAuthUser { id, .. } | Self::IamEntity { id } => id,
        }
    }
}

/// The kind of caller a gateway authenticates, used when the caller itself is unknown.
///
/// A tool Lambda is not told who called it; it knows only how its gateway authenticates
/// ([`AuthorizerType::caller_type`]). Its checks run with an unknown principal of that type: a
/// policy that needs the caller's identity or tags cannot be decided there, and such a decision
/// is a deny (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum CallerType {
    /// `AgentCore::OAuthUser` (a gateway that authenticates bearer JWTs).
    #[default]
    OAuthUser,
    /// `AgentCore::IamEntity` (gateway authorizer `AWS_IAM`).
    IamEntity,
}

impl CallerType {
    /// The Cedar entity type name.
    pub fn entity_type(self) -> &'static str {
        match self {
            Self::OAuthUser => "AgentCore::OAuthUser",
            Self::IamEntity => "AgentCore::IamEntity",
        }
    }
}

/// How the AgentCore Gateway in front of the tools authenticates its callers
/// (`GATEWAY_AUTHORIZER_TYPE`, spelled as AgentCore spells the gateway's authorizer type).
///
/// Read once, by [`crate::GuardConfig`]: the tools take their caller type from it, the
/// authorizer what a bearer token on a request is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum AuthorizerType {
    /// `CUSTOM_JWT` (the default): the gateway verified the caller's JWT and authorized it
    /// against its allowed audiences, clients and scopes.
    #[default]
    CustomJwt,
    /// `AUTHENTICATE_ONLY`: the gateway verified the JWT (signature, issuer, expiry) and leaves
    /// every authorization decision to the policy engine, the interceptor and the target.
    AuthenticateOnly,
    /// `AWS_IAM`: callers sign with SigV4; no bearer token is verified by anyone.
    AwsIam,
    /// `NONE`: the gateway authenticates nobody and hands authentication to its interceptor,
    /// which must verify the bearer token itself.
    None,
}

/// A `GATEWAY_AUTHORIZER_TYPE` that names no authorizer type. Never replaced by a default: a
/// guard configured with it refuses every call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown GATEWAY_AUTHORIZER_TYPE `{}` (expected `CUSTOM_JWT`, `AUTHENTICATE_ONLY`, \
     `AWS_IAM` or `NONE`, spelled exactly), so every call is refused",
    .0.escape_debug()
)]
pub struct UnknownAuthorizerType(pub String);

impl AuthorizerType {
    /// Every authorizer type, in the order the documentation lists them.
    pub const ALL: [Self; 4] = [
        Self::CustomJwt,
        Self::AuthenticateOnly,
        Self::AwsIam,
        Self::None,
    ];

    /// Reads a `GATEWAY_AUTHORIZER_TYPE` value exactly as AgentCore spells it: unset or empty is
    /// `CUSTOM_JWT`; any other spelling — other case, surrounding space, a look-alike letter —
    /// is unknown. A near-miss is a typo or a trick, and guessing what it meant could hand a
    /// caller a trust it was not given.
    pub fn from_setting(value: Option<&str>) -> Result<Self, UnknownAuthorizerType> {
        match value {
            None | Some("") => Ok(Self::CustomJwt),
            Some(v) => Self::ALL
                .into_iter()
                .find(|t| t.as_str() == v)
                .ok_or_else(|| UnknownAuthorizerType(v.to_owned())),
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomJwt => "CUSTOM_JWT",
            Self::AuthenticateOnly => "AUTHENTICATE_ONLY",
            Self::AwsIam => "AWS_IAM",
            Self::None => "NONE",
        }
    }

    /// The kind of caller behind this gateway: a bearer JWT's subject for every type but
    /// `AWS_IAM` (with `NONE` the interceptor verifies the JWT; the caller is still its subject).
    pub fn caller_type(self) -> CallerType {
        match self {
            Self::CustomJwt | Self::AuthenticateOnly | Self::None => CallerType::OAuthUser,
            Self::AwsIam => CallerType::IamEntity,
        }
    }
}

impl fmt::Display for AuthorizerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
        format!("{}::{}", self.entity_type, Value::String(self.id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_name_splits_at_the_first_triple_underscore() {
        let name = ToolName::parse("terminate-instance___terminate_instance").unwrap();
        assert_eq!(name.target, "terminate-instance");
        assert_eq!(name.tool, "terminate_instance");
        let name = ToolName::parse("a___b___c").unwrap();
        assert_eq!((name.target, name.tool), ("a", "b___c"));
    }

    #[test]
    fn tool_name_rejects_two_underscores_and_missing_parts() {
        for bad in [
            "terminate-instance__terminate_instance",
            "terminate_instance",
            "___terminate_instance",
            "terminate-instance___",
            "",
        ] {
            let err = ToolName::parse(bad).unwrap_err();
            assert!(matches!(err, GuardError::ToolName { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn authorizer_types_are_read_exactly_and_an_unknown_one_is_an_error() {
        assert_eq!(
            AuthorizerType::from_setting(None),
            Ok(AuthorizerType::CustomJwt)
        );
        assert_eq!(
            AuthorizerType::from_setting(Some("")),
            Ok(AuthorizerType::CustomJwt)
        );
        for t in AuthorizerType::ALL {
            assert_eq!(AuthorizerType::from_setting(Some(t.as_str())), Ok(t));
        }
        for near_miss in [
            " AWS_IAM",
            "CUSTOM_JWT ",
            "none",
            "None",
            "NONE\u{200b}",
            "OAUTH",
            " ",
        ] {
            let err = AuthorizerType::from_setting(Some(near_miss)).unwrap_err();
            assert_eq!(err, UnknownAuthorizerType(near_miss.to_owned()));
        }
        let err = AuthorizerType::from_setting(Some("NONE\u{200b}")).unwrap_err();
        assert!(err.to_string().contains(r"`NONE\u{200b}`"), "{err}");
    }

    #[test]
    fn only_an_aws_iam_gateway_has_iam_callers() {
        let types: Vec<_> = AuthorizerType::ALL
            .map(AuthorizerType::caller_type)
            .to_vec();
        assert_eq!(
            types,
            [
                CallerType::OAuthUser,
                CallerType::OAuthUser,
                CallerType::IamEntity,
                CallerType::OAuthUser
            ]
        );
    }

    #[test]
    fn principal_reads_the_case_file_shape() {
        let p: Principal =
            serde_json::from_str(r#"{"type":"OAuthUser","id":"alice","tags":{"scope":"ops"}}"#)
                .unwrap();
        assert_eq!(p.entity_type(), "AgentCore::OAuthUser");
        assert!(serde_json::from_str::<Principal>(r#"{"type":"Root","id":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<Principal>(r#"{"type":"IamEntity","id":"x","tags":{}}"#)
                .is_err()
        );
    }
}
