//! How the authorizer is set up: which form it answers in, how it learns who is calling and,
//! for the API Gateway forms, which tool each route is.
//!
//! The form is an explicit switch, never guessed from an event's shape: an event that looks like
//! another form's is malformed for this one, and is denied as such.
//!
//! | variable | form | default | meaning |
//! |---|---|---|---|
//! | `AUTHORIZER_FORM` | all | `gateway-interceptor` | `gateway-interceptor`, `http-api` or `rest-api`; anything else denies every request |
//! | `GATEWAY_AUTHORIZER_TYPE` | all | `CUSTOM_JWT` | read by the guard's configuration ([`GuardConfig::authorizer_type`]), never here: `CUSTOM_JWT` or `AUTHENTICATE_ONLY` (the gateway verified the JWT), `NONE` (the interceptor verifies it with `JWT_*`), `AWS_IAM` (no token is trusted); anything else denies every request |
//! | `AUTHORIZER_ROUTES` | API Gateway | — (required) | JSON object: route (`"POST /tools/terminate"`) → gateway tool name |
//! | `JWT_JWKS` / `JWT_JWKS_FILE` | API Gateway; interceptor behind `NONE` | — (one required) | the issuer's JSON Web Key Set, as JSON text or a file path |
//! | `JWT_ISSUER` | the same | — (required) | the exact `iss` accepted |
//! | `JWT_AUDIENCE` | the same | — | comma-separated `aud` values accepted |
//! | `JWT_ALLOWED_CLIENTS` | the same | — | comma-separated `client_id` values accepted (Cognito access tokens) |
//! | `JWT_MAX_LIFETIME` | all | `24h` | the longest token lifetime accepted (`exp` − `iat`), a duration like `1h` or `90m` |
//! | `CALLER_SIGNING_KEY` | interceptor | — | the KMS key (id or ARN, exactly as the tools name it) that signs the caller assertion attached to every `tools/call` passed on ([`crate::signer`]); unset, calls pass without one (tools that require a caller refuse them) |
//! | `CALLER_ASSERTION_LIFETIME` | interceptor | `30s` | how long an assertion lives, 1 s to 60 s; anything else refuses every `tools/call` |
//!
//! At least one of `JWT_AUDIENCE` and `JWT_ALLOWED_CLIENTS` is required. Any missing or broken
//! setting denies every request that needs it with a message that names it (fail closed).
//! Behind a `CUSTOM_JWT` or `AUTHENTICATE_ONLY` gateway the interceptor reads the claims of the
//! token the gateway verified — unless `JWT_*` verification settings are given, which means:
//! verify here too.

use std::{fmt, path::Path};

use guard::{AuthorizerType, GuardConfig, UnknownAuthorizerType};

pub use crate::routes::{Routes, RoutesError};
use crate::{
    jwt::{self, ClaimRules},
    signer::{AssertionSettings, LifetimeError},
    verifier::{JwksError, JwtVerifier, VerifierError},
};

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

/// What the interceptor may take the caller of a request from, decided once from the gateway's
/// authorizer type and the `JWT_*` settings.
#[derive(Debug, Clone)]
pub enum Trust {
    /// `CUSTOM_JWT` or `AUTHENTICATE_ONLY` without `JWT_*` settings: the gateway verified the
    /// bearer JWT before any interceptor runs, so its claims are read (and checked for shape
    /// with these rules).
    GatewayVerified(ClaimRules),
    /// `NONE`, or `JWT_*` settings given: the interceptor verifies the token itself.
    VerifiedHere(Box<JwtVerifier>),
    /// `AWS_IAM`: callers sign with SigV4 and the gateway passes on neither a verified token nor
    /// a caller ARN. A bearer token that reaches us was checked by nobody: none is trusted.
    Nobody(AuthorizerType),
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

    /// `GATEWAY_AUTHORIZER_TYPE` names no authorizer type.
    #[error(transparent)]
    AuthorizerType(#[from] UnknownAuthorizerType),

    /// A required variable is not set.
    #[error("{0} is not set, so every request is denied")]
    Missing(&'static str),

    /// `JWT_*` verification settings are missing: each one that is, in words.
    #[error("{}, so every request is denied", .0.join("; "))]
    JwtSettingsMissing(Vec<&'static str>),

    /// `AUTHORIZER_ROUTES` is not a route → tool map.
    #[error("AUTHORIZER_ROUTES is invalid, so every request is denied: {0}")]
    Routes(#[from] RoutesError),

    /// The JWKS, issuer or audiences cannot make a verifier.
    #[error(transparent)]
    Verifier(#[from] VerifierError),

    /// Both `JWT_JWKS` and `JWT_JWKS_FILE` are set.
    #[error("JWT_JWKS and JWT_JWKS_FILE are both set: give the key set once")]
    TwoJwks,

    /// `JWT_MAX_LIFETIME` is not a duration.
    #[error(
        "JWT_MAX_LIFETIME `{}` is not a lifetime like `24h` or `90m` ({reason}), so every \
         request is denied",
        .value.escape_debug()
    )]
    MaxLifetime {
        /// The setting as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// `CALLER_ASSERTION_LIFETIME` is not a lifetime an assertion may have.
    #[error(transparent)]
    AssertionLifetime(#[from] LifetimeError),

    /// A `NONE` gateway without a working verifier: nobody would check the bearer token.
    #[error(
        "the gateway authenticates nobody (GATEWAY_AUTHORIZER_TYPE `NONE`), so this interceptor \
         must verify every bearer token itself, with the JWT_* settings: {0}"
    )]
    NoneNeedsVerification(Box<ConfigError>),
}

/// The authorizer's configuration. Every part is kept even when broken: a broken part denies the
/// requests that need it, with its message.
#[derive(Debug, Clone)]
pub struct AuthorizerConfig {
    /// `AUTHORIZER_FORM`.
    pub form: Result<Form, ConfigError>,
    /// `GATEWAY_AUTHORIZER_TYPE`, as the guard's configuration read it.
    pub authorizer_type: Result<AuthorizerType, UnknownAuthorizerType>,
    /// Where the interceptor takes callers from.
    pub trust: Result<Trust, ConfigError>,
    /// `AUTHORIZER_ROUTES` (API Gateway forms).
    pub routes: Result<Routes, ConfigError>,
    /// `JWT_*` (API Gateway forms; the interceptor when it verifies tokens itself).
    pub verifier: Result<JwtVerifier, ConfigError>,
    /// `CALLER_SIGNING_KEY` and `CALLER_ASSERTION_LIFETIME` (the interceptor): `None` when no
    /// key is configured.
    pub caller_assertions: Result<Option<AssertionSettings>, ConfigError>,
}

impl AuthorizerConfig {
    /// Reads the authorizer's own settings from the process environment, takes the gateway's
    /// authorizer type from `guard` (read once, by the guard's configuration), and logs whatever
    /// is wrong for the configured form.
    pub fn from_env(guard: &GuardConfig) -> Self {
        let config = Self::new(guard, |name| std::env::var(name).ok());
        for problem in config.problems() {
            tracing::error!(error = %problem, "authorizer configuration");
        }
        if let Ok(verifier) = &config.verifier {
            for skipped in verifier.skipped_keys() {
                tracing::warn!("JWKS: {skipped}");
            }
        }
        config
    }

    /// Reads the configuration through `lookup` (a map in tests), the guard's settings included:
    /// `GATEWAY_AUTHORIZER_TYPE` is read by [`GuardConfig::from_lookup`], the one reader of it.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let (guard, _) = GuardConfig::from_lookup(&lookup);
        Self::new(&guard, lookup)
    }

    /// The configuration for a guard configured by `guard`, the authorizer's own settings read
    /// through `lookup`.
    pub fn new(guard: &GuardConfig, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let form = Form::from_setting(lookup("AUTHORIZER_FORM").as_deref());
        let routes = set("AUTHORIZER_ROUTES")
            .ok_or(ConfigError::Missing("AUTHORIZER_ROUTES"))
            .and_then(|json| Ok(Routes::parse(&json)?));
        let jwt = JwtSettings::read(&set);
        let verifier = jwt.verifier();
        let trust = trust(&guard.authorizer_type, &jwt, &verifier);
        Self {
            form,
            authorizer_type: guard.authorizer_type.clone(),
            trust,
            routes,
            verifier,
            caller_assertions: AssertionSettings::read(&lookup).map_err(ConfigError::from),
        }
    }

    /// What is wrong with the configuration, as far as the configured form needs it.
    pub fn problems(&self) -> Vec<&ConfigError> {
        match &self.form {
            Err(e) => vec![e],
            Ok(Form::GatewayInterceptor) => [
                self.trust.as_ref().err(),
                self.caller_assertions.as_ref().err(),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Ok(Form::HttpApi | Form::RestApi) => {
                [self.routes.as_ref().err(), self.verifier.as_ref().err()]
                    .into_iter()
                    .flatten()
                    .collect()
            }
        }
    }
}

/// The `JWT_*` settings, as given.
struct JwtSettings {
    jwks: Option<String>,
    jwks_file: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    clients: Vec<String>,
    max_lifetime: Option<String>,
}

impl JwtSettings {
    fn read(set: &impl Fn(&str) -> Option<String>) -> Self {
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
        Self {
            jwks: set("JWT_JWKS"),
            jwks_file: set("JWT_JWKS_FILE"),
            issuer: set("JWT_ISSUER"),
            audiences: list("JWT_AUDIENCE"),
            clients: list("JWT_ALLOWED_CLIENTS"),
            max_lifetime: set("JWT_MAX_LIFETIME"),
        }
    }

    /// Whether any verification setting is given (`JWT_MAX_LIFETIME` bounds tokens whoever
    /// verifies them, so it is not one).
    fn verification_configured(&self) -> bool {
        self.jwks.is_some()
            || self.jwks_file.is_some()
            || self.issuer.is_some()
            || !self.audiences.is_empty()
            || !self.clients.is_empty()
    }

    fn rules(&self) -> Result<ClaimRules, ConfigError> {
        let Some(value) = &self.max_lifetime else {
            return Ok(ClaimRules::default());
        };
        let max_lifetime =
            jwt::parse_max_lifetime(value.trim()).map_err(|reason| ConfigError::MaxLifetime {
                value: value.clone(),
                reason,
            })?;
        Ok(ClaimRules { max_lifetime })
    }

    /// Every required verification setting that is not given, in words.
    fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !self.verification_configured() {
            missing.push("no JWT verification is configured");
        }
        if self.jwks.is_none() && self.jwks_file.is_none() {
            missing.push("JWT_JWKS (or JWT_JWKS_FILE) is not set");
        }
        if self.issuer.is_none() {
            missing.push("JWT_ISSUER is not set");
        }
        if self.audiences.is_empty() && self.clients.is_empty() {
            missing.push(
                "neither JWT_AUDIENCE nor JWT_ALLOWED_CLIENTS is set (set JWT_AUDIENCE or \
                 JWT_ALLOWED_CLIENTS: without either, any token the issuer ever signed would \
                 be accepted)",
            );
        }
        missing
    }

    fn verifier(&self) -> Result<JwtVerifier, ConfigError> {
        if self.jwks.is_some() && self.jwks_file.is_some() {
            return Err(ConfigError::TwoJwks);
        }
        let missing = self.missing();
        let (Some(issuer), true) = (&self.issuer, missing.is_empty()) else {
            return Err(ConfigError::JwtSettingsMissing(missing));
        };
        let jwks = match (&self.jwks, &self.jwks_file) {
            (Some(text), _) => text.clone(),
            (None, Some(path)) => read_jwks(Path::new(path.trim()))?,
            (None, None) => return Err(ConfigError::JwtSettingsMissing(missing)),
        };
        let verifier =
            JwtVerifier::new(&jwks, issuer, self.audiences.clone(), self.clients.clone())?;
        Ok(verifier.with_rules(self.rules()?))
    }
}

/// Where the interceptor takes callers from, by the gateway's authorizer type.
fn trust(
    authorizer_type: &Result<AuthorizerType, UnknownAuthorizerType>,
    jwt: &JwtSettings,
    verifier: &Result<JwtVerifier, ConfigError>,
) -> Result<Trust, ConfigError> {
    let verified_here = || verifier.clone().map(|v| Trust::VerifiedHere(Box::new(v)));
    match authorizer_type {
        Err(e) => Err(e.clone().into()),
        Ok(AuthorizerType::AwsIam) => Ok(Trust::Nobody(AuthorizerType::AwsIam)),
        Ok(AuthorizerType::None) => {
            verified_here().map_err(|e| ConfigError::NoneNeedsVerification(Box::new(e)))
        }
        // Explicit verification settings mean: verify, whatever the gateway did.
        Ok(AuthorizerType::CustomJwt | AuthorizerType::AuthenticateOnly)
            if jwt.verification_configured() =>
        {
            verified_here()
        }
        Ok(AuthorizerType::CustomJwt | AuthorizerType::AuthenticateOnly) => {
            jwt.rules().map(Trust::GatewayVerified)
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
mod tests;
