//! Why a check could not reach a policy decision. Every one of these is a deny, reported as
//! an error and never as what the policies decided.

/// An error on the way to a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The policy files are broken; the guard refuses every call until they are fixed.
    #[error("the guard's policies failed to load, so every call is refused: {0}")]
    PoliciesNotLoaded(#[from] crate::policy::LoadError),

    /// No gateway ARN is configured, so the gateway policies cannot be linked.
    #[error(
        "GATEWAY_ARN is not set: the gateway policies are not linked to any gateway, \
         so every call check is refused"
    )]
    NoGatewayArn,

    /// `GATEWAY_AUTHORIZER_TYPE` names no authorizer type: which callers to expect is unknown,
    /// so the guard refuses every call.
    #[error(transparent)]
    UnknownAuthorizerType(#[from] crate::caller::UnknownAuthorizerType),

    /// The configured gateway ARN is not one.
    #[error(
        "GATEWAY_ARN `{0}` is not an AgentCore gateway ARN (`arn:aws:bedrock-agentcore:<region>:<account>:gateway/<id>`)"
    )]
    InvalidGatewayArn(String),

    /// The gateway templates could not be linked.
    #[error("linking the gateway policies to `{arn}` failed: {message}")]
    Link {
        /// The gateway ARN.
        arn: String,
        /// Cedar's message.
        message: String,
    },

    /// The tool name is not `<target>___<tool>`.
    #[error("`{name}` is not a gateway tool name: {reason}")]
    ToolName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The schema declares no such action.
    #[error("unknown tool `{0}`: the schema declares no such action")]
    UnknownTool(String),

    /// The arguments are not a JSON object.
    #[error("the arguments of `{tool}` must be a JSON object, got {got}")]
    InputNotObject {
        /// The tool.
        tool: String,
        /// The JSON type received.
        got: &'static str,
    },

    /// The arguments do not match the tool's schema (wrong type, unknown field, …).
    #[error("the arguments of `{tool}` do not match its schema: {message}")]
    InvalidInput {
        /// The tool.
        tool: String,
        /// Cedar's message.
        message: String,
    },

    /// The caller, the resource or the request does not match the schema.
    #[error("invalid {what}: {message}")]
    InvalidEntity {
        /// Which part of the request.
        what: EntityRole,
        /// Cedar's message.
        message: String,
    },

    /// The resource carries tag keys that differ only in case (`Environment` and
    /// `environment`): which one is meant cannot be known.
    #[error(
        "the resource's tags are ambiguous: {0} differ only in case, so it cannot be known \
         which one holds; refused"
    )]
    AmbiguousTags(String),

    /// A policy failed while being evaluated.
    #[error("policy evaluation failed: {0}")]
    Evaluation(String),

    /// The budget table could not be asked or the budgets could not be loaded: no slot could
    /// be reserved, so the call is refused (fail closed).
    #[error("the budget could not be checked, so the call is refused: {0}")]
    BudgetUnavailable(String),

    /// The stop switch could not be read: whether the operators stopped the tools is unknown,
    /// so the call is refused (fail closed).
    #[error("the stop switch could not be read, so the call is refused: {0}")]
    StopUnreadable(String),

    /// The request was refused before any policy was asked (a misrouted tool, a missing
    /// token, a body that is not a tool call).
    #[error("{0}")]
    Refused(String),

    /// Some policy needs the caller's identity, which this check is not told.
    #[error(
        "the decision depends on who is calling, which is unknown here \
         (policies {0} read the principal); denied to fail closed"
    )]
    CallerUnknown(String),
}

/// Which part of a Cedar request was invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityRole {
    /// The caller (principal).
    Caller,
    /// The real resource.
    Resource,
    /// The request as a whole.
    Request,
    /// An entity type name.
    EntityType,
}

impl std::fmt::Display for EntityRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Caller => "caller",
            Self::Resource => "resource",
            Self::Request => "request",
            Self::EntityType => "entity type",
        })
    }
}

/// An error's message followed by each of its causes, `: `-separated, so "entity does not
/// conform to the schema" says how (the top-level messages of Cedar and the AWS SDK alone are
/// terse).
///
/// ```
/// use std::{error::Error, fmt};
///
/// #[derive(Debug)]
/// struct Lookup(fmt::Error);
/// impl fmt::Display for Lookup {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("lookup failed")
///     }
/// }
/// impl Error for Lookup {
///     fn source(&self) -> Option<&(dyn Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let error = Lookup(fmt::Error);
/// let cause = "an error occurred when formatting an argument";
/// assert_eq!(guard::with_causes(&error), format!("lookup failed: {cause}"));
/// // The causes alone:
/// assert_eq!(error.source().map(guard::with_causes).as_deref(), Some(cause));
/// ```
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
