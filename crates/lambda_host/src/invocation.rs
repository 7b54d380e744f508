//! One invocation: the event a handler receives, why an invocation could not be read, and why
//! one failed around the handler.

use std::{future::Future, sync::Arc};

use http::HeaderMap;
use lambda_runtime::{Config, Context, Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::{
    Incoming, Malformed,
    client_context::{ClientContextError, client_context},
};

pub(crate) const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
pub(crate) const DEADLINE: &str = "lambda-runtime-deadline-ms";

/// Why an invocation could not be made into an event. The handler still answers it (see
/// [`crate::Incoming`]): whoever can invoke the function must never be able to make it fail
/// without an answer and a record.
#[derive(Debug, thiserror::Error)]
pub enum Malformation {
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

    /// The event body is not JSON this function can read: not JSON at all, a lone surrogate,
    /// nesting deeper than the parser's limit, a number out of range.
    #[error("the event is not readable JSON: {0}")]
    PayloadNotJson(#[source] serde_json::Error),
}

impl Malformation {
    /// A stable name for the problem (`InvalidClientContext`, `InvalidInvocation`,
    /// `InvalidPayload`), for records and callers to match on.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::ClientContext(_) => "InvalidClientContext",
            Self::NoDeadline | Self::Headers(_) | Self::UnreadableBody(_) => "InvalidInvocation",
            Self::PayloadNotJson(_) => "InvalidPayload",
        }
    }
}

/// Why an invocation failed after the handler was given it. Each becomes the invocation's
/// error, with a stable `errorType`; the function keeps serving.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvocationError {
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

/// What reached the function: the event a handler receives, or why it could not be built,
/// with as much of the context as could be read (always the request id).
pub(crate) fn incoming(
    headers: &HeaderMap,
    config: &Arc<Config>,
    request_id: &str,
    body: Result<Vec<u8>, Malformation>,
) -> Incoming {
    match body.and_then(|body| event(headers, config, request_id, &body)) {
        Ok(event) => Incoming::Event(event),
        Err(error) => Incoming::Malformed(Malformed {
            context: readable_context(headers, config, request_id),
            error,
        }),
    }
}

/// The context of an invocation that could not be read: without its client context (which
/// may be what is malformed), and at least the request id.
fn readable_context(headers: &HeaderMap, config: &Arc<Config>, request_id: &str) -> Context {
    let mut headers = headers.clone();
    headers.remove(CLIENT_CONTEXT);
    // `Context::new` panics without a deadline header.
    let read = headers
        .contains_key(DEADLINE)
        .then(|| Context::new(request_id, config.clone(), &headers).ok())
        .flatten();
    read.unwrap_or_else(|| {
        let mut context = Context::default();
        context.request_id = request_id.to_owned();
        context.env_config = config.clone();
        context
    })
}

/// Builds the event a handler receives; a malformed invocation becomes its error.
fn event(
    headers: &HeaderMap,
    config: &Arc<Config>,
    request_id: &str,
    body: &[u8],
) -> Result<LambdaEvent<Value>, Malformation> {
    let client_context = client_context(headers.get(CLIENT_CONTEXT).map(|v| v.as_bytes()))?;
    // `Context::new` would fail on it too, but with a message that hides which header.
    if !headers.contains_key(DEADLINE) {
        return Err(Malformation::NoDeadline);
    }
    // `lambda_runtime` parses this header strictly and would refuse what we just accepted.
    let mut headers = headers.clone();
    headers.remove(CLIENT_CONTEXT);
    let mut context =
        Context::new(request_id, config.clone(), &headers).map_err(Malformation::Headers)?;
    if let Some(mut cc) = client_context {
        context.client_context = match serde_json::from_value(cc.clone()) {
            Ok(parsed) => Some(parsed),
            // A `client` that does not have every mobile-SDK field: drop it, keep the rest.
            Err(_) => {
                if let Some(fields) = cc.as_object_mut() {
                    fields.remove("client");
                }
                Some(
                    serde_json::from_value(cc)
                        .map_err(|e| Malformation::ClientContext(ClientContextError::NotJson(e)))?,
                )
            }
        };
    }
    let payload = serde_json::from_slice(body).map_err(Malformation::PayloadNotJson)?;
    Ok(LambdaEvent::new(payload, context))
}

/// Runs the handler on its own task, so a panic fails this invocation only.
pub(crate) async fn call<F, Fut, R>(handler: &F, incoming: Incoming) -> Result<R, Diagnostic>
where
    F: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: Send + 'static,
{
    match tokio::spawn(handler(incoming)).await {
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    fn malformed(incoming: Incoming) -> Malformed {
        match incoming {
            Incoming::Malformed(m) => m,
            Incoming::Event(e) => panic!("read as an event: {:?}", e.payload),
        }
    }

    #[test]
    fn an_invocation_without_a_deadline_reaches_the_handler_as_malformed() {
        let m = malformed(incoming(
            &HeaderMap::new(),
            &Arc::new(Config::default()),
            "id",
            Ok(b"{}".to_vec()),
        ));
        assert!(matches!(m.error, Malformation::NoDeadline));
        assert_eq!(m.error.error_type(), "InvalidInvocation");
        assert_eq!(m.context.request_id, "id");
    }

    #[test]
    fn the_handler_sees_the_custom_map_even_with_a_partial_client() {
        let headers = headers(&[
            (DEADLINE, "1700000000000"),
            (
                CLIENT_CONTEXT,
                r#"{"client":{"appTitle":"x"},"custom":{"bedrockAgentCoreToolName":"a___b"}}"#,
            ),
        ]);
        let event = event(&headers, &Arc::new(Config::default()), "id", b"{}").unwrap();
        let cc = event.context.client_context.unwrap();
        assert_eq!(cc.custom["bedrockAgentCoreToolName"], "a___b");
    }

    #[test]
    fn a_malformed_client_context_reaches_the_handler_with_the_rest_of_its_context() {
        let headers = headers(&[
            (DEADLINE, "1700000000000"),
            (CLIENT_CONTEXT, r#"{"custom":null,"client":7}"#),
        ]);
        let m = malformed(incoming(
            &headers,
            &Arc::new(Config::default()),
            "id",
            Ok(b"{}".to_vec()),
        ));
        assert_eq!(m.error.error_type(), "InvalidClientContext");
        assert_eq!(
            m.error.to_string(),
            "malformed Lambda client context: `client` must be an object, got a number"
        );
        assert_eq!(m.context.request_id, "id");
        assert!(m.context.client_context.is_none());
        assert_eq!(m.context.deadline, 1_700_000_000_000);
    }

    #[test]
    fn payloads_serde_cannot_read_are_malformed_not_lost() {
        let headers = headers(&[(DEADLINE, "1700000000000")]);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for body in [
            &b"{oops"[..],
            br#"{"environment":"\ud800"}"#,
            br#"{"n":1e400}"#,
            deep.as_bytes(),
        ] {
            let m = malformed(incoming(
                &headers,
                &Arc::new(Config::default()),
                "id",
                Ok(body.to_vec()),
            ));
            assert_eq!(
                m.error.error_type(),
                "InvalidPayload",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_fails_its_invocation_with_the_panic_error_type() {
        let handler = |_: Incoming| async {
            if true {
                panic!("boom");
            }
            Ok::<Value, Diagnostic>(Value::Null)
        };
        let event = LambdaEvent::new(Value::Null, Context::default());
        let err = call(&handler, Incoming::Event(event)).await.unwrap_err();
        assert_eq!(err.error_type, "Panic");
    }
}
