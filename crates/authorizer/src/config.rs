//! How the authorizer is set up: which form it answers in and, for the API Gateway forms, which
//! tool each route is and how bearer tokens are verified.
//!
//! The form is an explicit switch, never guessed from an event's shape: an event that looks like
//! another form's is malformed for this one, and is denied as such.
//!
//! | variable | form | default | meaning |
//! |---|---|---|---|
//! | `AUTHORIZER_FORM` | all | `gateway-interceptor` | `gateway-interceptor`, `http-api` or `rest-api`; anything else denies every request |
//! | `GATEWAY_AUTHORIZER_TYPE` | interceptor | `CUSTOM_JWT` | the AgentCore Gateway's inbound auth: `CUSTOM_JWT` or `AUTHENTICATE_ONLY` (the gateway verified a JWT: callers are OAuth users), `AWS_IAM` (no token: every `tools/call` is refused); anything else denies every request |
//! | `AUTHORIZER_ROUTES` | API Gateway | — (required) | JSON object: route (`"POST /tools/terminate"`) → gateway tool name |
//! | `JWT_JWKS` / `JWT_JWKS_FILE` | API Gateway | — (one required) | the issuer's JSON Web Key Set, as JSON text or a file path |
//! | `JWT_ISSUER` | API Gateway | — (required) | the exact `iss` accepted |
//! | `JWT_AUDIENCE` | API Gateway | — | comma-separated `aud` values accepted |
//! | `JWT_ALLOWED_CLIENTS` | API Gateway | — | comma-separated `client_id` values accepted (Cognito access tokens) |
//!
//! At least one of `JWT_AUDIENCE` and `JWT_ALLOWED_CLIENTS` is required. Any missing or broken
//! API Gateway setting denies every request with a message that names it (fail closed).

use std::{collections::BTreeMap, fmt, path::Path};

use serde_json::Value;

use crate::verifier::{JwksError, JwtVerifier, VerifierError};

/// What the authorizer answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// An AgentCore Gateway REQUEST and RESPONSE interceptor (the default).
    GatewayInterceptor,
    /// An API Gateway HTTP API Lambda authorizer, payload format 2.0, simple responses.
    HttpApi,
    /// An API Gateway REST API `REQUEST` Lambda authorizer (IAM policy responses).
    RestApi,
}

impl Form {
    /// Reads `AUTHORIZER_FORM`: unset or empty is the gateway interceptor.
    pub fn from_setting(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim) {
            None | Some("" | "gateway-interceptor") => Ok(Self::GatewayInterceptor),
            Some("http-api") => Ok(Self::HttpApi),
            Some("rest-api") => Ok(Self::RestApi),
            Some(other) => Err(ConfigError::UnknownForm(other.to_owned())),
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GatewayInterceptor => "gateway-interceptor",
            Self::HttpApi => "http-api",
            Self::RestApi => "rest-api",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the AgentCore Gateway in front of the interceptor authenticates callers
/// (`GATEWAY_AUTHORIZER_TYPE`), and so what the interceptor may take the caller from.
///
/// The guard crate reads the same variable for the tools, which are never told the caller; the
/// interceptor reads it for itself because it decides what a bearer token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundAuth {
    /// `CUSTOM_JWT` (the default): the gateway verified the JWT and authorized the caller
    /// against its allowed audiences, clients and scopes.
    CustomJwt,
    /// `AUTHENTICATE_ONLY`: the gateway verified the JWT (signature, issuer, expiry) and leaves
    /// every authorization decision to the policy engine, the interceptor and the target. The
    /// caller is still a verified token's subject, so it is an `AgentCore::OAuthUser` built from
    /// the claims, exactly as with `CUSTOM_JWT`; this interceptor is then the only Cedar gate
    /// when no policy engine is attached.
    AuthenticateOnly,
    /// `AWS_IAM`: callers sign with SigV4 and the gateway passes the interceptor no verified
    /// token nor caller ARN. A bearer token that reaches us was checked by nobody, so none is
    /// trusted: every `tools/call` is refused.
    AwsIam,
}

impl InboundAuth {
    /// Reads `GATEWAY_AUTHORIZER_TYPE` exactly as AgentCore spells it: unset or empty is
    /// `CUSTOM_JWT`; any other spelling is refused (no trimming, no case folding).
    pub fn from_setting(value: Option<&str>) -> Result<Self, ConfigError> {
        match value {
            None | Some("") | Some("CUSTOM_JWT") => Ok(Self::CustomJwt),
            Some("AUTHENTICATE_ONLY") => Ok(Self::AuthenticateOnly),
            Some("AWS_IAM") => Ok(Self::AwsIam),
            Some(other) => Err(ConfigError::UnknownAuthorizerType(other.to_owned())),
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomJwt => "CUSTOM_JWT",
            Self::AuthenticateOnly => "AUTHENTICATE_ONLY",
            Self::AwsIam => "AWS_IAM",
        }
    }

    /// Whether the gateway verified a JWT before the interceptor runs, so that its claims may be
    /// read without verifying it again.
    pub fn verified_jwt(self) -> bool {
        matches!(self, Self::CustomJwt | Self::AuthenticateOnly)
    }
}

impl fmt::Display for InboundAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration problem. Each one denies every request it concerns, with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `AUTHORIZER_FORM` names no form.
    #[error(
        "unknown AUTHORIZER_FORM `{0}` (expected `gateway-interceptor`, `http-api` or \
         `rest-api`), so every request is denied"
    )]
    UnknownForm(String),

    /// `GATEWAY_AUTHORIZER_TYPE` names no inbound authorization type.
    #[error(
        "unknown GATEWAY_AUTHORIZER_TYPE `{0}` (expected `CUSTOM_JWT`, `AUTHENTICATE_ONLY` or \
         `AWS_IAM`), so every request is denied"
    )]
    UnknownAuthorizerType(String),

    /// A required variable is not set.
    #[error("{0} is not set, so every request is denied")]
    Missing(&'static str),

    /// `AUTHORIZER_ROUTES` is not a route → tool map.
    #[error("AUTHORIZER_ROUTES is invalid, so every request is denied: {0}")]
    Routes(#[from] RoutesError),

    /// The JWKS, issuer or audiences cannot make a verifier.
    #[error(transparent)]
    Verifier(#[from] VerifierError),

    /// Both `JWT_JWKS` and `JWT_JWKS_FILE` are set.
    #[error("JWT_JWKS and JWT_JWKS_FILE are both set: give the key set once")]
    TwoJwks,
}

/// Why `AUTHORIZER_ROUTES` is not a route → tool map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// Not a JSON object.
    #[error(
        "expected a JSON object of route → tool, like \
         {{\"POST /tools/terminate\": \"terminate-instance___terminate_instance\"}}: {0}"
    )]
    NotAnObject(String),

    /// A key that is not `<METHOD> /<path>`.
    #[error("`{0}` is not `<METHOD> /<path>`")]
    BadRoute(String),

    /// A route whose value is not a tool name.
    #[error("the tool of `{0}` must be a tool name")]
    BadTool(String),

    /// An empty object.
    #[error("it names no routes")]
    NoRoutes,
}

/// Routes of an API Gateway API and the gateway tool each one is.
///
/// Keys are `"<METHOD> <resource path>"` as API Gateway spells the route: an HTTP API's
/// `routeKey` (`"POST /tools/terminate"`, `"ANY /tools/{proxy+}"`, `"$default"`), or a REST
/// API's method and resource (`"POST /tools/terminate"`). An `ANY` route matches every method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes(BTreeMap<String, String>);

impl Routes {
    /// Reads `AUTHORIZER_ROUTES`: a JSON object of route → tool name.
    pub fn parse(json: &str) -> Result<Self, RoutesError> {
        let map: serde_json::Map<String, Value> =
            serde_json::from_str(json).map_err(|e| RoutesError::NotAnObject(e.to_string()))?;
        let mut routes = BTreeMap::new();
        for (route, tool) in map {
            let key = normalize(&route).ok_or_else(|| RoutesError::BadRoute(route.clone()))?;
            let tool = tool
                .as_str()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| RoutesError::BadTool(route.clone()))?;
            routes.insert(key, tool.trim().to_owned());
        }
        if routes.is_empty() {
            return Err(RoutesError::NoRoutes);
        }
        Ok(Self(routes))
    }

    /// The tool of an HTTP API route key (exactly as the event gives it).
    pub fn for_route_key(&self, route_key: &str) -> Option<&str> {
        let key = normalize(route_key)?;
        self.0
            .get(&key)
            .or_else(|| self.any(&key))
            .map(String::as_str)
    }

    /// The tool of a REST API method on a resource.
    pub fn for_method(&self, method: &str, resource: &str) -> Option<&str> {
        self.for_route_key(&format!("{method} {resource}"))
    }

    fn any(&self, key: &str) -> Option<&String> {
        let (_, path) = key.split_once(' ')?;
        self.0.get(&format!("ANY {path}"))
    }
}

/// `"post  /x"` → `"POST /x"`; `"$default"` stays; anything else is not a route.
fn normalize(route: &str) -> Option<String> {
    let route = route.trim();
    if route == "$default" {
        return Some(route.to_owned());
    }
    let (method, path) = route.split_once(char::is_whitespace)?;
    let path = path.trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{} {path}", method.to_ascii_uppercase()))
}

/// The authorizer's configuration. Every part is kept even when broken: a broken part denies the
/// requests that need it, with its message.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// `AUTHORIZER_FORM`.
    pub form: Result<Form, ConfigError>,
    /// `GATEWAY_AUTHORIZER_TYPE` (interceptor form).
    pub inbound: Result<InboundAuth, ConfigError>,
    /// `AUTHORIZER_ROUTES` (API Gateway forms).
    pub routes: Result<Routes, ConfigError>,
    /// `JWT_*` (API Gateway forms).
    pub verifier: Result<JwtVerifier, ConfigError>,
}

impl AuthorizerConfig {
    /// Reads the configuration from the process environment and logs whatever is wrong with it
    /// for the configured form.
    pub fn from_env() -> Self {
        let config = Self::from_lookup(|name| std::env::var(name).ok());
        for problem in config.problems() {
            tracing::error!(error = %problem, "authorizer configuration");
        }
        config
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let list = |name: &str| -> Vec<String> {
            set(name)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(ToOwned::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let form = Form::from_setting(lookup("AUTHORIZER_FORM").as_deref());
        let inbound = InboundAuth::from_setting(lookup("GATEWAY_AUTHORIZER_TYPE").as_deref());
        let routes = set("AUTHORIZER_ROUTES")
            .ok_or(ConfigError::Missing("AUTHORIZER_ROUTES"))
            .and_then(|json| Ok(Routes::parse(&json)?));
        let jwks = match (set("JWT_JWKS"), set("JWT_JWKS_FILE")) {
            (Some(_), Some(_)) => Err(ConfigError::TwoJwks),
            (Some(text), None) => Ok(text),
            (None, Some(path)) => read_jwks(Path::new(path.trim())),
            (None, None) => Err(ConfigError::Missing("JWT_JWKS (or JWT_JWKS_FILE)")),
        };
        let verifier = jwks.and_then(|jwks| {
            let issuer = set("JWT_ISSUER").ok_or(ConfigError::Missing("JWT_ISSUER"))?;
            Ok(JwtVerifier::new(
                &jwks,
                &issuer,
                list("JWT_AUDIENCE"),
                list("JWT_ALLOWED_CLIENTS"),
            )?)
        });
        Self {
            form,
            inbound,
            routes,
            verifier,
        }
    }

    /// What is wrong with the configuration, as far as the configured form needs it.
    pub fn problems(&self) -> Vec<&ConfigError> {
        match &self.form {
            Err(e) => vec![e],
            Ok(Form::GatewayInterceptor) => self.inbound.as_ref().err().into_iter().collect(),
            Ok(Form::HttpApi | Form::RestApi) => {
                [self.routes.as_ref().err(), self.verifier.as_ref().err()]
                    .into_iter()
                    .flatten()
                    .collect()
            }
        }
    }
}

fn read_jwks(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        VerifierError::from(JwksError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_defaults_to_the_interceptor_and_refuses_unknown_names() {
        assert_eq!(Form::from_setting(None), Ok(Form::GatewayInterceptor));
        assert_eq!(Form::from_setting(Some(" ")), Ok(Form::GatewayInterceptor));
        assert_eq!(Form::from_setting(Some("http-api")), Ok(Form::HttpApi));
        assert_eq!(Form::from_setting(Some("rest-api")), Ok(Form::RestApi));
        let err = Form::from_setting(Some("REST")).unwrap_err();
        assert!(err.to_string().contains("`REST`"), "{err}");
    }

    #[test]
    fn routes_match_method_and_path_with_any_as_a_fallback() {
        let routes = Routes::parse(
            r#"{"post /tools/terminate": "terminate-instance___terminate_instance",
                "ANY /tools/metrics": "get-metrics___get_metrics"}"#,
        )
        .unwrap();
        assert_eq!(
            routes.for_route_key("POST /tools/terminate"),
            Some("terminate-instance___terminate_instance")
        );
        assert_eq!(routes.for_method("GET", "/tools/terminate"), None);
        assert_eq!(
            routes.for_method("GET", "/tools/metrics"),
            Some("get-metrics___get_metrics")
        );
        assert_eq!(routes.for_route_key("$default"), None);
    }

    #[test]
    fn malformed_routes_are_refused_with_the_route_named() {
        for (json, reason) in [
            ("[]", "JSON object"),
            ("{}", "no routes"),
            (r#"{"/tools/x": "a___b"}"#, "`/tools/x`"),
            (r#"{"POST tools/x": "a___b"}"#, "`POST tools/x`"),
            (r#"{"POST /tools/x": 7}"#, "the tool of `POST /tools/x`"),
        ] {
            let err = Routes::parse(json).unwrap_err();
            assert!(err.to_string().contains(reason), "{json}: {err}");
        }
    }

    #[test]
    fn an_api_gateway_form_without_verification_reports_every_missing_part() {
        let env = |name: &str| (name == "AUTHORIZER_FORM").then(|| "http-api".to_owned());
        let config = AuthorizerConfig::from_lookup(env);
        let problems: Vec<String> = config.problems().iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("AUTHORIZER_ROUTES is not set"));
        assert!(problems[1].contains("JWT_JWKS"));
    }

    #[test]
    fn authenticate_only_is_a_gateway_authorizer_type_that_verified_a_jwt() {
        assert_eq!(InboundAuth::from_setting(None), Ok(InboundAuth::CustomJwt));
        assert_eq!(
            InboundAuth::from_setting(Some("")),
            Ok(InboundAuth::CustomJwt)
        );
        assert_eq!(
            InboundAuth::from_setting(Some("AUTHENTICATE_ONLY")),
            Ok(InboundAuth::AuthenticateOnly)
        );
        assert!(InboundAuth::AuthenticateOnly.verified_jwt());
        assert!(InboundAuth::CustomJwt.verified_jwt());
        assert!(!InboundAuth::AwsIam.verified_jwt());
    }

    #[test]
    fn a_gateway_authorizer_type_is_read_exactly_and_an_unknown_one_is_a_problem() {
        for spelling in [
            "authenticate_only",
            " AUTHENTICATE_ONLY",
            "CUSTOM_JWT ",
            "NONE",
        ] {
            let err = InboundAuth::from_setting(Some(spelling)).unwrap_err();
            assert!(err.to_string().contains("GATEWAY_AUTHORIZER_TYPE"), "{err}");
        }
        let env = |name: &str| (name == "GATEWAY_AUTHORIZER_TYPE").then(|| "OAUTH".to_owned());
        let config = AuthorizerConfig::from_lookup(env);
        assert_eq!(config.problems().len(), 1);
    }

    #[test]
    fn the_interceptor_needs_no_api_gateway_settings() {
        let config = AuthorizerConfig::from_lookup(|_| None);
        assert_eq!(config.form, Ok(Form::GatewayInterceptor));
        assert!(config.problems().is_empty());
    }

    #[test]
    fn the_jwks_is_given_once() {
        let env = |name: &str| match name {
            "JWT_JWKS" | "JWT_JWKS_FILE" => Some("x".to_owned()),
            _ => None,
        };
        let config = AuthorizerConfig::from_lookup(env);
        assert_eq!(config.verifier.unwrap_err(), ConfigError::TwoJwks);
    }
}
