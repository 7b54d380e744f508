//! Who is calling: the caller as AgentCore Policy models it, and the kind of caller a gateway
//! authenticates when the caller itself is unknown.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use crate::value::uid_string;

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

    /// `Type::"id"`, as Cedar prints the entity (`AgentCore::OAuthUser::"agent-7"`).
    pub fn uid_string(&self) -> String {
        uid_string(self.entity_type(), self.id())
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(p.uid_string(), r#"AgentCore::OAuthUser::"alice""#);
        assert!(serde_json::from_str::<Principal>(r#"{"type":"Root","id":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<Principal>(r#"{"type":"IamEntity","id":"x","tags":{}}"#)
                .is_err()
        );
    }
}
