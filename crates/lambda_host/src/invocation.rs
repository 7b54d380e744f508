//! One invocation: the event a handler receives, and why an invocation failed before or around
//! the handler.

use std::{future::Future, sync::Arc};

use http::HeaderMap;
use lambda_runtime::{Config, Context, Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::client_context::{ClientContextError, client_context};

pub(crate) const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
pub(crate) const DEADLINE: &str = "lambda-runtime-deadline-ms";

/// Why an invocation failed outside the handler. Each becomes the invocation's error, with a
/// stable `errorType`; the function keeps serving.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvocationError {
    /// The client context header is malformed.
    #[error("malformed Lambda client context: {0}")]
    ClientContext(#[from] ClientContextError),

    /// The Runtime API sent no deadline, so the handler could not know its budget.
    #[error("the invocation has no deadline header")]
    NoDeadline,

    /// `lambda_runtime` could not read the invocation headers.
    #[error("malformed invocation headers: {0}")]
    Headers(#[source] lambda_runtime::Error),

    /// The event body broke off or could not be read.
    #[error("the event could not be read from the Runtime API: {0}")]
    UnreadableBody(#[source] lambda_runtime::Error),

    /// The event body is not JSON.
    #[error("the event is not JSON: {0}")]
    PayloadNotJson(#[source] serde_json::Error),

    /// The handler's result cannot be serialized.
    #[error("the result cannot be serialized: {0}")]
    ResponseNotJson(#[source] serde_json::Error),

    /// The handler panicked (or was cancelled).
    #[error("the handler failed: {0}")]
    Panic(#[source] tokio::task::JoinError),
}

impl InvocationError {
    /// The `errorType` the Runtime API records: stable, so callers and alarms can match it.
    fn error_type(&self) -> &'static str {
        match self {
            Self::ClientContext(_) => "InvalidClientContext",
            Self::NoDeadline | Self::Headers(_) | Self::UnreadableBody(_) => "InvalidInvocation",
            Self::PayloadNotJson(_) => "InvalidPayload",
            Self::ResponseNotJson(_) => "InvalidResponse",
            Self::Panic(_) => "Panic",
        }
    }
}

impl From<InvocationError> for Diagnostic {
    fn from(e: InvocationError) -> Self {
        crate::diagnostic(e.error_type(), &e)
    }
}

/// Builds the event a handler receives; a malformed invocation becomes its error.
pub(crate) fn event(
    headers: &HeaderMap,
    config: &Arc<Config>,
    request_id: &str,
    body: &[u8],
) -> Result<LambdaEvent<Value>, InvocationError> {
    let client_context = client_context(headers.get(CLIENT_CONTEXT).map(|v| v.as_bytes()))?;
    // `Context::new` would fail on it too, but with a message that hides which header.
    if !headers.contains_key(DEADLINE) {
        return Err(InvocationError::NoDeadline);
    }
    // `lambda_runtime` parses this header strictly and would refuse what we just accepted.
    let mut headers = headers.clone();
    headers.remove(CLIENT_CONTEXT);
    let mut context =
        Context::new(request_id, config.clone(), &headers).map_err(InvocationError::Headers)?;
    if let Some(mut cc) = client_context {
        context.client_context =
            match serde_json::from_value(cc.clone()) {
                Ok(parsed) => Some(parsed),
                // A `client` that does not have every mobile-SDK field: drop it, keep the rest.
                Err(_) => {
                    if let Some(fields) = cc.as_object_mut() {
                        fields.remove("client");
                    }
                    Some(serde_json::from_value(cc).map_err(|e| {
                        InvocationError::ClientContext(ClientContextError::NotJson(e))
                    })?)
                }
            };
    }
    let payload = serde_json::from_slice(body).map_err(InvocationError::PayloadNotJson)?;
    Ok(LambdaEvent::new(payload, context))
}

/// Runs the handler on its own task, so a panic fails this invocation only.
pub(crate) async fn call<F, Fut, R>(handler: &F, event: LambdaEvent<Value>) -> Result<R, Diagnostic>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: Send + 'static,
{
    match tokio::spawn(handler(event)).await {
        Ok(result) => result,
        Err(e) => Err(InvocationError::Panic(e).into()),
    }
}

/// The function's configuration, without `lambda_runtime`'s panics on missing variables
/// (a local runtime API may not set them all).
pub(crate) fn config_from_env() -> Config {
    let var = |name| std::env::var(name).unwrap_or_default();
    Config {
        function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
        memory: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").parse().unwrap_or(0),
        version: var("AWS_LAMBDA_FUNCTION_VERSION"),
        log_stream: var("AWS_LAMBDA_LOG_STREAM_NAME"),
        log_group: var("AWS_LAMBDA_LOG_GROUP_NAME"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_type(e: InvocationError) -> String {
        Diagnostic::from(e).error_type
    }

    #[test]
    fn an_invocation_without_a_deadline_is_refused_not_a_panic() {
        let err = event(&HeaderMap::new(), &Arc::new(Config::default()), "id", b"{}").unwrap_err();
        assert!(matches!(err, InvocationError::NoDeadline));
        assert_eq!(error_type(err), "InvalidInvocation");
    }

    #[test]
    fn the_handler_sees_the_custom_map_even_with_a_partial_client() {
        let mut headers = HeaderMap::new();
        headers.insert(DEADLINE, "1700000000000".parse().unwrap());
        headers.insert(
            CLIENT_CONTEXT,
            r#"{"client":{"appTitle":"x"},"custom":{"bedrockAgentCoreToolName":"a___b"}}"#
                .parse()
                .unwrap(),
        );
        let event = event(&headers, &Arc::new(Config::default()), "id", b"{}").unwrap();
        let cc = event.context.client_context.unwrap();
        assert_eq!(cc.custom["bedrockAgentCoreToolName"], "a___b");
    }

    #[test]
    fn a_malformed_client_context_is_an_invalid_client_context_error() {
        let mut headers = HeaderMap::new();
        headers.insert(DEADLINE, "1700000000000".parse().unwrap());
        headers.insert(
            CLIENT_CONTEXT,
            r#"{"custom":null,"client":7}"#.parse().unwrap(),
        );
        let err = event(&headers, &Arc::new(Config::default()), "id", b"{}").unwrap_err();
        let diagnostic = Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "InvalidClientContext");
        assert_eq!(
            diagnostic.error_message,
            "malformed Lambda client context: `client` must be an object, got a number"
        );
    }

    #[test]
    fn a_payload_that_is_not_json_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(DEADLINE, "1700000000000".parse().unwrap());
        let err = event(&headers, &Arc::new(Config::default()), "id", b"{oops").unwrap_err();
        assert_eq!(error_type(err), "InvalidPayload");
    }

    #[tokio::test]
    async fn a_panicking_handler_fails_its_invocation_with_the_panic_error_type() {
        let handler = |_: LambdaEvent<Value>| async {
            if true {
                panic!("boom");
            }
            Ok::<Value, Diagnostic>(Value::Null)
        };
        let event = LambdaEvent::new(Value::Null, Context::default());
        let err = call(&handler, event).await.unwrap_err();
        assert_eq!(err.error_type, "Panic");
    }
}
