//! The poll loop: `/next`, the handler, then `/response` or `/error`, for ever.
//!
//! Nothing the Runtime API sends ends the loop. A request that fails in transport (refused or
//! dropped connection, a response that is not HTTP, a head over the client's 1 MiB buffer) or a
//! `/next` that is not an invocation is logged and polled again after a [`Backoff`]; an
//! invocation whose body or context cannot be read goes to the handler as
//! [`Incoming::Malformed`], which answers it like any other. Lambda restarts a sandbox
//! whose invocations time out, so a Runtime API that never recovers is still dealt with, by the
//! one party that can.

use std::{convert::Infallible, future::Future, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::BodyExt;
use lambda_runtime::{Config, Diagnostic};
use lambda_runtime_api_client::{BoxError, PooledClient, body::Body};
use serde::Serialize;
use tracing::Instrument;

use crate::{
    Incoming,
    invocation::{self, InvocationError, Malformation},
};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
/// Sent with each invocation since July 2026 and expected back on its `/response` or `/error`:
/// the Runtime API then refuses a late answer of a timed-out invocation instead of delivering it
/// to a newer one that reuses the request id.
pub(crate) const INVOCATION_ID: &str = "lambda-runtime-invocation-id";
const FUNCTION_ERROR_TYPE: &str = "lambda-runtime-function-error-type";

/// Why a poll of `/next` yielded no invocation that can be answered.
#[derive(Debug, thiserror::Error)]
enum PollError {
    /// The request could not be built (a malformed endpoint path).
    #[error("cannot build the request to the Runtime API: {0}")]
    Request(#[source] http::Error),

    /// No HTTP response: refused or dropped connection, a response that is not HTTP, a head
    /// larger than the client accepts.
    #[error("the Runtime API did not answer {NEXT}: {0}")]
    Transport(#[source] BoxError),

    /// An HTTP response that is not an invocation.
    #[error("the Runtime API answered {0} to {NEXT}")]
    Status(StatusCode),

    /// An invocation without a request id cannot be answered.
    #[error("the Runtime API sent an invocation without a request id; it cannot be answered")]
    NoRequestId,
}

/// An invocation as `/next` delivered it.
struct Next {
    to: Addressee,
    headers: HeaderMap,
    body: Result<Vec<u8>, Malformation>,
}

/// What an answer must carry to reach its invocation.
struct Addressee {
    request_id: String,
    /// Echoed as received; absent when the Runtime API predates it.
    invocation_id: Option<HeaderValue>,
}

/// Serves invocations from the Runtime API at `endpoint` with `handler`, for ever.
pub(crate) async fn serve<F, Fut, R>(endpoint: Uri, config: Arc<Config>, handler: F) -> Infallible
where
    F: Fn(Incoming) -> Fut,
    Fut: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: Serialize + Send + 'static,
{
    let client = PooledClient::builder().with_endpoint(endpoint).build();
    let mut backoff = Backoff::default();
    loop {
        let next = match next(&client).await {
            Ok(next) => next,
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::error!(retry_in_ms = delay.as_millis(), "{e}");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        backoff.reset();
        let Next { to, headers, body } = next;
        let span = tracing::info_span!("invocation", requestId = %to.request_id);
        let outcome = async {
            let incoming = invocation::incoming(&headers, &config, &to.request_id, body);
            let result = invocation::call(&handler, incoming).await?;
            let json = serde_json::to_vec(&result).map_err(InvocationError::ResponseNotJson)?;
            Ok::<_, Diagnostic>(json)
        }
        .instrument(span)
        .await;
        answer(&client, &to, outcome).await;
    }
}

/// Asks for the next invocation and reads it whole.
async fn next(client: &PooledClient) -> Result<Next, PollError> {
    let request = lambda_runtime_api_client::build_request()
        .method(Method::GET)
        .uri(NEXT)
        .body(Body::empty())
        .map_err(PollError::Request)?;
    let response = client.call(request).await.map_err(PollError::Transport)?;
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        return Err(PollError::Status(parts.status));
    }
    let request_id = parts
        .headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or(PollError::NoRequestId)?
        .to_owned();
    let invocation_id = parts
        .headers
        .get(INVOCATION_ID)
        .filter(|v| !v.is_empty())
        .cloned();
    let body = body
        .collect()
        .await
        .map(|collected| Vec::from(collected.to_bytes()))
        .map_err(|e| Malformation::UnreadableBody(e.into()));
    Ok(Next {
        to: Addressee {
            request_id,
            invocation_id,
        },
        headers: parts.headers,
        body,
    })
}

/// Posts the handler's result to `/response`, or its error to `/error`. Failing to deliver an
/// answer is logged, never fatal: the Runtime API times the invocation out.
async fn answer(client: &PooledClient, to: &Addressee, outcome: Result<Vec<u8>, Diagnostic>) {
    let request_id = &to.request_id;
    let request = match outcome {
        Ok(json) => answer_request(to, "response", json, None),
        Err(d) => {
            tracing::error!(requestId = %request_id, error_type = %d.error_type, "{}", d.error_message);
            let body = serde_json::json!({
                "errorType": d.error_type,
                "errorMessage": d.error_message,
            });
            answer_request(to, "error", body.to_string().into_bytes(), Some(&d))
        }
    };
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            tracing::error!(requestId = %request_id, "cannot answer the invocation: {e}");
            return;
        }
    };
    match client.call(request).await {
        Ok(reply) if reply.status().is_success() => {}
        // 410 Gone: the invocation timed out, or our invocation id is not the current one.
        Ok(reply) => {
            tracing::warn!(requestId = %request_id, status = %reply.status(), "the Runtime API refused the answer");
        }
        Err(e) => {
            tracing::error!(requestId = %request_id, "the answer did not reach the Runtime API: {e}");
        }
    }
}

fn answer_request(
    to: &Addressee,
    kind: &str,
    body: Vec<u8>,
    error: Option<&Diagnostic>,
) -> Result<Request<Body>, http::Error> {
    let mut request = lambda_runtime_api_client::build_request()
        .method(Method::POST)
        .uri(format!(
            "/2018-06-01/runtime/invocation/{}/{kind}",
            path_segment(&to.request_id)
        ));
    if let Some(id) = &to.invocation_id {
        request = request.header(INVOCATION_ID, id.clone());
    }
    if let Some(d) = error {
        request = request.header(FUNCTION_ERROR_TYPE, d.error_type.as_str());
    }
    request.body(Body::from(body))
}

/// The request id as one path segment: Lambda's are UUIDs, but one with `/`, `?` or a space
/// must still name this invocation, not another path.
fn path_segment(id: &str) -> String {
    let mut segment = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

/// The wait before polling again after a failed poll: doubling from [`Backoff::FIRST`] to at
/// most [`Backoff::MAX`], back to the first after any invocation arrives.
///
/// The Runtime API is on the sandbox's loopback and a failure is usually one reset connection
/// (for instance after the sandbox thaws), so the first retry comes almost at once. The cap
/// keeps a broken API from costing more than one log line and one connection attempt a second,
/// while a recovered one is noticed within a second, well inside any invocation's timeout. No
/// jitter: one client polls one local server, there is no herd to spread.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(20);
    const MAX: Duration = Duration::from_secs(1);

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(Self::MAX);
        delay
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

#[cfg(test)]
mod tests;
