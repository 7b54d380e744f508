//! The Lambda Runtime API loop the functions run on.
//!
//! `lambda_runtime` 1.5 parses the `Lambda-Runtime-Client-Context` header inside its poll loop:
//! a header with `"client": null`, `"custom": null`, a non-string `custom` value, or text that is
//! not JSON ends the loop, the process exits and the invocation never answers. Anyone allowed to
//! invoke a function directly could crash it at will. This loop reads that header itself: a
//! malformed one fails *that* invocation with a clear error, and the function keeps serving.
//!
//! Handlers are ordinary `lambda_runtime` handlers over [`LambdaEvent`]s, so they read and test
//! like any other (`LambdaEvent::new(payload, Context::default())`). The handler runs on its own
//! task: a panic fails its invocation, not the function.

use std::{future::Future, sync::Arc};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use lambda_runtime::Config;
use lambda_runtime_api_client::{PooledClient, body::Body};
use serde::Serialize;
use serde_json::{Map, Value};
use tracing::Instrument;

pub use lambda_runtime::{Context, Diagnostic, Error, LambdaEvent};

/// Sets up `tracing` the way `lambda_runtime` does, honouring `AWS_LAMBDA_LOG_FORMAT` and
/// `AWS_LAMBDA_LOG_LEVEL`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const DEADLINE: &str = "lambda-runtime-deadline-ms";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// Polls the Runtime API (`AWS_LAMBDA_RUNTIME_API`) for invocations and answers each with
/// `handler`'s result, or with its [`Diagnostic`] as an invocation error.
///
/// Returns only when the Runtime API itself fails; Lambda then restarts the sandbox.
pub async fn run<F, Fut, R>(handler: F) -> Result<(), Error>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: Serialize + Send + 'static,
{
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| {
        "AWS_LAMBDA_RUNTIME_API is not set: this program runs as an AWS Lambda function \
         (locally: `cargo lambda watch`)"
    })?;
    let endpoint = runtime_api_endpoint(&api)?;
    let client = PooledClient::builder().with_endpoint(endpoint).build();
    let config = Arc::new(config_from_env());

    loop {
        let next = client
            .call(request(Method::GET, NEXT, Body::empty())?)
            .await?;
        let (parts, body) = next.into_parts();
        let body = body.collect().await?.to_bytes();
        if !parts.status.is_success() {
            return Err(format!("the Runtime API answered {} to {NEXT}", parts.status).into());
        }
        let Some(request_id) = header(&parts.headers, REQUEST_ID) else {
            tracing::error!("an invocation without a request id cannot be answered; skipped");
            continue;
        };
        let span = tracing::info_span!("invocation", requestId = %request_id);
        let outcome = async {
            let event = event(&parts.headers, &config, &request_id, &body)?;
            call(&handler, event).await
        }
        .instrument(span)
        .await;

        let reply = match outcome.and_then(|value| {
            serde_json::to_vec(&value).map_err(|e| diagnostic("InvalidResponse", e))
        }) {
            Ok(json) => request(
                Method::POST,
                &format!("/2018-06-01/runtime/invocation/{request_id}/response"),
                Body::from(json),
            ),
            Err(d) => {
                tracing::error!(requestId = %request_id, error_type = %d.error_type, "{}", d.error_message);
                error_request(&request_id, &d)
            }
        };
        match reply {
            Ok(reply) => {
                let answer = client.call(reply).await?;
                if answer.status() != StatusCode::ACCEPTED && !answer.status().is_success() {
                    tracing::warn!(requestId = %request_id, status = %answer.status(), "the Runtime API refused the answer");
                }
            }
            Err(e) => tracing::error!(requestId = %request_id, "cannot answer the invocation: {e}"),
        }
    }
}

/// Lambda sets `AWS_LAMBDA_RUNTIME_API` to `host:port`; local emulators such as
/// `cargo lambda watch` give a full URL with a path prefix (`http://127.0.0.1:9000/.rt/fn`),
/// which must be kept.
fn runtime_api_endpoint(api: &str) -> Result<http::Uri, String> {
    let url = if api.contains("://") {
        api.to_owned()
    } else {
        format!("http://{api}")
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("AWS_LAMBDA_RUNTIME_API `{api}` is not host:port or a URL: {e}"))?;
    if uri.authority().is_none() {
        return Err(format!("AWS_LAMBDA_RUNTIME_API `{api}` names no host"));
    }
    Ok(uri)
}

/// Builds the event a handler receives; a malformed invocation becomes its error.
fn event(
    headers: &HeaderMap,
    config: &Arc<Config>,
    request_id: &str,
    body: &[u8],
) -> Result<LambdaEvent<Value>, Diagnostic> {
    let malformed = |e: String| {
        diagnostic(
            "InvalidClientContext",
            format!("malformed Lambda client context: {e}"),
        )
    };
    let client_context =
        client_context(headers.get(CLIENT_CONTEXT).map(|v| v.as_bytes())).map_err(malformed)?;
    if !headers.contains_key(DEADLINE) {
        return Err(diagnostic(
            "InvalidInvocation",
            "the invocation has no deadline header",
        ));
    }
    let mut headers = headers.clone();
    headers.remove(CLIENT_CONTEXT);
    let mut context = Context::new(request_id, config.clone(), &headers).map_err(|e| {
        diagnostic(
            "InvalidInvocation",
            format!("malformed invocation headers: {e}"),
        )
    })?;
    if let Some(mut cc) = client_context {
        context.client_context = match serde_json::from_value(cc.clone()) {
            Ok(parsed) => Some(parsed),
            // A `client` that does not have every mobile-SDK field: drop it, keep the rest.
            Err(_) => {
                if let Some(fields) = cc.as_object_mut() {
                    fields.remove("client");
                }
                Some(serde_json::from_value(cc).map_err(|e| malformed(e.to_string()))?)
            }
        };
    }
    let payload = serde_json::from_slice(body)
        .map_err(|e| diagnostic("InvalidPayload", format!("the event is not JSON: {e}")))?;
    Ok(LambdaEvent::new(payload, context))
}

/// Runs the handler on its own task, so a panic fails this invocation only.
async fn call<F, Fut, R>(handler: &F, event: LambdaEvent<Value>) -> Result<R, Diagnostic>
where
    F: Fn(LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: Send + 'static,
{
    match tokio::spawn(handler(event)).await {
        Ok(result) => result,
        Err(e) => Err(diagnostic("Panic", format!("the handler failed: {e}"))),
    }
}

/// Reads a client context the way the AgentCore Gateway sends it, refusing anything malformed
/// with a reason instead of ending the process.
///
/// `client`, `custom` and `environment` may each be absent or `null`; `custom` and
/// `environment` must otherwise be objects of strings. `client` (mobile SDK details nobody here
/// reads) is kept when well formed and dropped otherwise. The result is the JSON form of
/// `lambda_runtime`'s `ClientContext`.
pub fn client_context(raw: Option<&[u8]>) -> Result<Option<Value>, String> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let value: Value = match serde_json::from_slice(raw) {
        Ok(value) => value,
        // Lambda's Runtime API sends the JSON; `cargo lambda watch` sends it base64-encoded, as
        // the Invoke API receives it.
        Err(e) => BASE64
            .decode(raw.trim_ascii())
            .ok()
            .and_then(|decoded| serde_json::from_slice(&decoded).ok())
            .ok_or_else(|| format!("not JSON ({e})"))?,
    };
    let Value::Object(fields) = value else {
        return Err("not a JSON object".to_owned());
    };
    let strings = |name: &str| -> Result<Value, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(Value::Object(Map::new())),
            Some(Value::Object(map)) => {
                if let Some((k, v)) = map.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!("`{name}.{k}` must be a string, got {}", kind(v)));
                }
                Ok(Value::Object(map.clone()))
            }
            Some(other) => Err(format!("`{name}` must be an object, got {}", kind(other))),
        }
    };
    let mut normalized = Map::new();
    normalized.insert("custom".to_owned(), strings("custom")?);
    normalized.insert("environment".to_owned(), strings("environment")?);
    match fields.get("client") {
        Some(client @ Value::Object(_)) => {
            normalized.insert("client".to_owned(), client.clone());
        }
        None | Some(Value::Null) => {}
        Some(other) => return Err(format!("`client` must be an object, got {}", kind(other))),
    }
    Ok(Some(Value::Object(normalized)))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An invocation error of `error_type` with a message.
pub fn diagnostic(error_type: &str, message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: message.to_string(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(ToOwned::to_owned)
}

fn request(method: Method, path: &str, body: Body) -> Result<Request<Body>, Error> {
    Ok(lambda_runtime_api_client::build_request()
        .method(method)
        .uri(path)
        .body(body)?)
}

fn error_request(request_id: &str, d: &Diagnostic) -> Result<Request<Body>, Error> {
    let body = serde_json::to_vec(&serde_json::json!({
        "errorType": d.error_type,
        "errorMessage": d.error_message,
    }))?;
    Ok(lambda_runtime_api_client::build_request()
        .method(Method::POST)
        .uri(format!("/2018-06-01/runtime/invocation/{request_id}/error"))
        .header("lambda-runtime-function-error-type", d.error_type.as_str())
        .body(Body::from(body))?)
}

/// The function's configuration, without `lambda_runtime`'s panics on missing variables
/// (a local runtime API may not set them all).
fn config_from_env() -> Config {
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

    #[test]
    fn the_runtime_api_may_be_host_port_or_a_url_with_a_path() {
        let lambda = runtime_api_endpoint("127.0.0.1:9001").unwrap();
        assert_eq!(lambda.to_string(), "http://127.0.0.1:9001/");
        let cargo_lambda = runtime_api_endpoint("http://127.0.0.1:9000/.rt/fn").unwrap();
        assert_eq!(cargo_lambda.authority().unwrap().as_str(), "127.0.0.1:9000");
        assert_eq!(cargo_lambda.path(), "/.rt/fn");
        assert!(runtime_api_endpoint("http://").is_err());
    }

    #[test]
    fn reads_the_agentcore_client_context() {
        let raw = br#"{"custom":{"bedrockAgentCoreToolName":"terminate-instance___terminate_instance","bedrockAgentCoreMessageVersion":"1.0"},"client":null,"environment":null}"#;
        let cc = client_context(Some(raw)).unwrap().unwrap();
        assert_eq!(
            cc["custom"]["bedrockAgentCoreToolName"],
            "terminate-instance___terminate_instance"
        );
    }

    #[test]
    fn a_base64_client_context_is_read_as_cargo_lambda_sends_it() {
        let encoded = BASE64.encode(br#"{"custom":{"bedrockAgentCoreToolName":"a___b"}}"#);
        let cc = client_context(Some(encoded.as_bytes())).unwrap().unwrap();
        assert_eq!(cc["custom"]["bedrockAgentCoreToolName"], "a___b");
        let not_json = BASE64.encode(b"not json");
        assert!(client_context(Some(not_json.as_bytes())).is_err());
    }

    #[test]
    fn absent_and_empty_client_contexts_are_none() {
        assert_eq!(client_context(None), Ok(None));
        assert_eq!(client_context(Some(b"")), Ok(None));
    }

    #[test]
    fn null_members_are_empty_not_errors() {
        let cc = client_context(Some(br#"{"client":null,"custom":null}"#))
            .unwrap()
            .unwrap();
        assert_eq!(cc["custom"], serde_json::json!({}));
    }

    #[test]
    fn malformed_client_contexts_are_refused_with_a_reason() {
        for (raw, reason) in [
            (&b"not json"[..], "not JSON"),
            (b"[1]", "not a JSON object"),
            (
                br#"{"custom":{"bedrockAgentCoreToolName":7}}"#,
                "`custom.bedrockAgentCoreToolName` must be a string, got a number",
            ),
            (
                br#"{"custom":"x"}"#,
                "`custom` must be an object, got a string",
            ),
            (br#"{"client":5}"#, "`client` must be an object"),
            (
                br#"{"environment":{"a":null}}"#,
                "`environment.a` must be a string, got null",
            ),
        ] {
            let err = client_context(Some(raw)).unwrap_err();
            assert!(err.contains(reason), "{err}");
        }
    }

    #[test]
    fn an_invocation_without_a_deadline_is_refused_not_a_panic() {
        let headers = HeaderMap::new();
        let err = event(&headers, &Arc::new(Config::default()), "id", b"{}").unwrap_err();
        assert_eq!(err.error_type, "InvalidInvocation");
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
    fn a_payload_that_is_not_json_is_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(DEADLINE, "1700000000000".parse().unwrap());
        let err = event(&headers, &Arc::new(Config::default()), "id", b"{oops").unwrap_err();
        assert_eq!(err.error_type, "InvalidPayload");
    }
}
