//! The Lambda Runtime API loop the functions run on.
//!
//! `lambda_runtime` 1.5 parses the `Lambda-Runtime-Client-Context` header inside its poll loop:
//! a header with `"client": null`, `"custom": null`, a non-string `custom` value, or text that is
//! not JSON ends the loop, the process exits and the invocation never answers. Anyone allowed to
//! invoke a function directly could crash it at will. This loop reads that header itself: a
//! malformed one fails *that* invocation with a clear error, and the function keeps serving.
//!
//! Nor does the Runtime API itself end the loop: a dropped connection, a response that is not
//! HTTP or an oversized header is logged and polling resumes after a bounded backoff. An
//! invocation whose event or client context cannot be read still reaches the handler, as
//! [`Incoming::Malformed`]: the handler answers it (a refusal) and records it, so whatever a
//! caller sends gets an answer and an audit record, never a bare runtime error. Each answer echoes the invocation's
//! `Lambda-Runtime-Invocation-Id`, so a late answer of a timed-out invocation is never taken for
//! a newer one's. Only configuration that makes the Runtime API unreachable by construction
//! (`AWS_LAMBDA_RUNTIME_API` unset or not an address) ends [`run`], before the first poll.
//!
//! Handlers take an [`Incoming`]: an ordinary `lambda_runtime` [`LambdaEvent`] (so they read
//! and test like any other, `LambdaEvent::new(payload, Context::default())`), or a
//! [`Malformed`] invocation. The handler runs on its own task: a panic fails its invocation,
//! not the function.
//!
//! Logs are JSON lines ([`init_tracing`]), whatever `AWS_LAMBDA_LOG_FORMAT` says: text a caller
//! sent (an argument name holding a newline and a forged record) stays inside one escaped
//! string, and can never become a line of its own.

mod client_context;
mod invocation;
mod runtime_api;

use std::{future::Future, sync::Arc};

use serde::Serialize;
use serde_json::Value;

pub use client_context::{ClientContextError, JsonType, Member, client_context};
pub use invocation::Malformation;
pub use lambda_runtime::{Context, Diagnostic, LambdaEvent};

/// What reached the function.
#[derive(Debug)]
pub enum Incoming {
    /// An event, with its context.
    Event(LambdaEvent<Value>),
    /// An invocation that could not be read as an event. It must still be answered and
    /// recorded: the handler refuses it.
    Malformed(Malformed),
}

/// An invocation whose event or context could not be read.
#[derive(Debug)]
pub struct Malformed {
    /// What could be read of its context: always the request id; the deadline when sent; never
    /// the client context (which may be what is malformed).
    pub context: Context,
    /// Why it could not be read.
    pub error: Malformation,
}

/// Why [`run`] could not start serving: the Runtime API's address is missing or malformed.
/// Nothing else ends it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `AWS_LAMBDA_RUNTIME_API` is not set: not running under Lambda or an emulator of it.
    #[error(
        "AWS_LAMBDA_RUNTIME_API is not set: this program runs as an AWS Lambda function \
         (locally: `cargo lambda watch`)"
    )]
    RuntimeApiNotSet,

    /// `AWS_LAMBDA_RUNTIME_API` is not valid Unicode.
    #[error("AWS_LAMBDA_RUNTIME_API is not valid Unicode")]
    RuntimeApiNotUnicode,

    /// `AWS_LAMBDA_RUNTIME_API` is neither `host:port` nor a URL.
    #[error("AWS_LAMBDA_RUNTIME_API `{value}` is not host:port or a URL: {reason}")]
    RuntimeApiInvalid {
        /// The variable's value.
        value: String,
        /// Why it does not parse.
        reason: http::uri::InvalidUri,
    },

    /// `AWS_LAMBDA_RUNTIME_API` is a URL without a host.
    #[error("AWS_LAMBDA_RUNTIME_API `{value}` names no host")]
    RuntimeApiWithoutHost {
        /// The variable's value.
        value: String,
    },
}

/// Sets up `tracing` as `lambda_runtime` does (level from `AWS_LAMBDA_LOG_LEVEL`, else
/// `RUST_LOG`, else INFO; no timestamps, Lambda adds them), but always as JSON lines: the
/// text format writes a message's newlines as they are, so a caller's text in a message could
/// start a line of its own (a forged audit record). The template sets `LogFormat: JSON`, so
/// deployed logs agree; run locally, they are JSON too.
pub fn init_tracing() {
    use lambda_runtime::tracing::subscriber::{
        self,
        filter::{EnvFilter, LevelFilter},
    };
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    // A second initialisation (tests) keeps the first subscriber.
    let _ = subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Polls the Runtime API (`AWS_LAMBDA_RUNTIME_API`) for invocations and answers each with
/// `handler`'s result, or with its [`Diagnostic`] as an invocation error. Every invocation
/// reaches `handler`, readable or not ([`Incoming`]).
///
/// Returns only when `AWS_LAMBDA_RUNTIME_API` is unusable; once polling has begun it never
/// returns (Lambda ends the sandbox).
pub async fn run<F, Fut, R>(handler: F) -> Result<(), Error>
where
    F: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: Serialize + Send + 'static,
{
    let endpoint = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|e| match e {
            std::env::VarError::NotPresent => Error::RuntimeApiNotSet,
            std::env::VarError::NotUnicode(_) => Error::RuntimeApiNotUnicode,
        })
        .and_then(|api| runtime_api_endpoint(&api))
        .inspect_err(|e| tracing::error!("{e}"))?;
    let config = Arc::new(invocation::config_from_env());
    match runtime_api::serve(endpoint, config, handler).await {}
}

/// Lambda sets `AWS_LAMBDA_RUNTIME_API` to `host:port`; local emulators such as
/// `cargo lambda watch` give a full URL with a path prefix (`http://127.0.0.1:9000/.rt/fn`),
/// which must be kept.
fn runtime_api_endpoint(api: &str) -> Result<http::Uri, Error> {
    let url = if api.contains("://") {
        api.to_owned()
    } else {
        format!("http://{api}")
    };
    let uri: http::Uri = url.parse().map_err(|reason| Error::RuntimeApiInvalid {
        value: api.to_owned(),
        reason,
    })?;
    if uri.authority().is_none() {
        return Err(Error::RuntimeApiWithoutHost {
            value: api.to_owned(),
        });
    }
    Ok(uri)
}

/// An invocation error of `error_type` with a message.
pub fn diagnostic(error_type: &str, message: impl std::fmt::Display) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: message.to_string(),
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
    }

    #[test]
    fn a_runtime_api_address_without_a_host_or_that_does_not_parse_is_a_typed_error() {
        assert!(matches!(
            runtime_api_endpoint("http://"),
            Err(Error::RuntimeApiInvalid { .. } | Error::RuntimeApiWithoutHost { .. })
        ));
        assert!(matches!(
            runtime_api_endpoint("a b:1"),
            Err(Error::RuntimeApiInvalid { ref value, .. }) if value == "a b:1"
        ));
    }
}
