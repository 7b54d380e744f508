//! The gateway's Cedar policies, enforced in front of the tools by this project itself.
//!
//! One Lambda function, three forms chosen by `AUTHORIZER_FORM` (see [`config`]):
//!
//! - [`interceptor`] (default): an AgentCore Gateway REQUEST and RESPONSE interceptor. It asks
//!   the same call check AgentCore Policy asks, with the same entities, against the same policy
//!   files, so a team gets the same decisions with or without the managed policy engine — in
//!   LOG_ONLY trials, with the engine detached, or in a region without it — and a second,
//!   independent gate before the tools. Every `tools/call` it passes on carries a caller
//!   assertion signed with a KMS key the agent never holds ([`signer`], `CALLER_SIGNING_KEY`),
//!   so the tool decides with the real caller;
//! - [`apigw`]: an API Gateway HTTP API or REST API Lambda authorizer, deciding whether the
//!   caller may call the route's tool at all; the tool's own guard decides the arguments.
//!
//! Every decision and every refusal writes one audit record through the guard (DESIGN.md §7),
//! and nothing that arrives — a missing token, a body that is not JSON-RPC, a broken
//! configuration — makes the function crash: it denies, and says why.
//!
//! ```
//! use std::sync::Arc;
//! use authorizer::{Authorizer, AuthorizerConfig};
//! use guard::{EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, MemoryAudit, PolicySources};
//! use lambda_host::{Context, LambdaEvent};
//! use serde_json::json;
//!
//! let config = GuardConfig { gateway_arn: Some(EXAMPLE_GATEWAY_ARN.into()), ..GuardConfig::default() };
//! let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(MemoryAudit::new()));
//! let authorizer = Authorizer::new(guard, AuthorizerConfig::from_lookup(|_| None));
//!
//! // A tools/call that arrived without its headers: refused, never passed on.
//! let event = json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"body": {
//!     "jsonrpc": "2.0", "id": 1, "method": "tools/call",
//!     "params": {"name": "restart-service___restart_service",
//!                "arguments": {"environment": "staging", "service": "api"}}}}}});
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let answer = runtime
//!     .block_on(authorizer.handle(LambdaEvent::new(event, Context::default())))
//!     .unwrap();
//! let error = &answer["mcp"]["transformedGatewayResponse"]["body"]["error"];
//! assert_eq!(error["code"], -32002);
//! assert!(error["message"].as_str().unwrap().contains("passRequestHeaders"));
//! ```

pub mod apigw;
pub mod config;
pub mod headers;
pub mod interceptor;
pub mod jwks;
pub mod jwt;
mod rejection;
pub mod routes;
pub mod shown;
pub mod signer;
pub mod token;
pub mod verifier;

use guard::{Guard, GuardConfig, RequestIds, ToolCall, UNKNOWN_TOOL};
use lambda_host::{Diagnostic, Incoming, LambdaEvent, Malformed};
use serde_json::Value;

pub use config::{AuthorizerConfig, ConfigError, Form, Routes, RoutesError, Trust};
pub use guard::{AuthorizerType, UnknownAuthorizerType};
pub use interceptor::RequestError;
pub use jwt::ClaimRules;
pub use shown::Shown;
pub use signer::{AssertionSettings, CallerSigner, KmsSigner};
pub use token::{Rejection, TokenError};
pub use verifier::{JwksError, JwtVerifier, VerifierError};

/// The authorizer: a guard, a configuration and the signer of caller assertions, built once
/// per process.
#[derive(Debug)]
pub struct Authorizer {
    guard: Guard,
    config: AuthorizerConfig,
    signer: Option<CallerSigner>,
}

impl Authorizer {
    /// An authorizer deciding with `guard` in the form `config` names, without a signer
    /// (see [`Self::with_signer`]).
    pub fn new(guard: Guard, config: AuthorizerConfig) -> Self {
        Self {
            guard,
            config,
            signer: None,
        }
    }

    /// This authorizer, signing caller assertions with `signer` when `CALLER_SIGNING_KEY` is
    /// configured. A configured key without a signer refuses every call it would pass on.
    #[must_use]
    pub fn with_signer(mut self, signer: CallerSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The authorizer of a Lambda function: the process's settings read once — the guard's
    /// ([`GuardConfig::from_env`], `GATEWAY_AUTHORIZER_TYPE` among them) and the authorizer's
    /// own — and handed to the guard and the authorizer alike; with a [`KmsSigner`] for
    /// `CALLER_SIGNING_KEY` from the standard SDK configuration, when one is set.
    pub async fn from_env() -> Self {
        let (guard_config, warnings) = GuardConfig::from_env();
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        let config = AuthorizerConfig::from_env(&guard_config);
        let key = match &config.caller_assertions {
            Ok(Some(settings)) => Some(settings.key_id.clone()),
            Ok(None) if config.form == Ok(Form::GatewayInterceptor) => {
                tracing::warn!(
                    "CALLER_SIGNING_KEY is not set: tool calls pass on without a caller \
                     assertion, and tools that require a caller will refuse calls"
                );
                None
            }
            _ => None,
        };
        let authorizer = Self::new(Guard::from_config(&guard_config), config);
        match key {
            Some(key) => authorizer.with_signer(CallerSigner::Kms(KmsSigner::from_env(key).await)),
            None => authorizer,
        }
    }

    /// The guard decisions are taken by.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Answers whatever reached the function: an event is handled; an invocation that could
    /// not be read (a payload serde cannot read, a malformed client context) is refused in the
    /// configured form and audited, never left to fail without an answer.
    pub async fn answer(&self, incoming: Incoming) -> Result<Value, Diagnostic> {
        match incoming {
            Incoming::Event(event) => self.handle(event).await,
            Incoming::Malformed(malformed) => self.refuse_malformed(&malformed),
        }
    }

    fn refuse_malformed(&self, malformed: &Malformed) -> Result<Value, Diagnostic> {
        let ids = RequestIds::from_lambda(&malformed.context.request_id);
        let reason = format!(
            "the invocation could not be read ({}): {}",
            malformed.error.error_type(),
            malformed.error
        );
        let call = ToolCall {
            tool: UNKNOWN_TOOL,
            input: &Value::Null,
            principal: None,
            ids: &ids,
        };
        let decision = self.guard.refuse(&call, reason);
        match &self.config.form {
            Ok(Form::GatewayInterceptor) => Ok(interceptor::deny(&Value::Null, &decision)),
            Ok(Form::HttpApi) => serde_json::to_value(apigw::http_refusal(decision))
                .map_err(|e| lambda_host::diagnostic("InvalidResponse", e)),
            Ok(Form::RestApi) => Ok(apigw::rest_refusal(decision)),
            Err(e) => Err(lambda_host::diagnostic("InvalidConfiguration", e)),
        }
    }

    /// Answers one invocation in the configured form.
    ///
    /// Only an unknown `AUTHORIZER_FORM` is an invocation error: the response shape is then
    /// unknown, and an error is a denial in every form (API Gateway answers 500, the AgentCore
    /// Gateway fails the request). It is audited like any refusal.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let ids = RequestIds::from_lambda(&event.context.request_id);
        let setup = apigw::Setup {
            authorizer_type: &self.config.authorizer_type,
            routes: &self.config.routes,
            verifier: &self.config.verifier,
        };
        match &self.config.form {
            Ok(Form::GatewayInterceptor) => {
                let setup = interceptor::Setup {
                    authorizer_type: &self.config.authorizer_type,
                    trust: &self.config.trust,
                    vouching: interceptor::Vouching {
                        settings: &self.config.caller_assertions,
                        signer: self.signer.as_ref(),
                    },
                };
                let request_id = &event.context.request_id;
                Ok(interceptor::intercept(&self.guard, setup, &event.payload, request_id).await)
            }
            Ok(Form::HttpApi) => {
                let response = apigw::http_api(&self.guard, setup, &event.payload, &ids);
                serde_json::to_value(response)
                    .map_err(|e| lambda_host::diagnostic("InvalidResponse", e))
            }
            Ok(Form::RestApi) => Ok(apigw::rest_api(&self.guard, setup, &event.payload, &ids)),
            Err(e) => {
                let call = ToolCall {
                    tool: UNKNOWN_TOOL,
                    input: &Value::Null,
                    principal: None,
                    ids: &ids,
                };
                self.guard.refuse(&call, e.to_string());
                Err(lambda_host::diagnostic("InvalidConfiguration", e))
            }
        }
    }
}
