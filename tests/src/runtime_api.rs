//! A local Lambda Runtime API: what Lambda speaks to a function's bootstrap, on 127.0.0.1.
//!
//! Enough of it to drive a built function as Lambda does (`/next`, `/response`, `/error`), and
//! to send what Lambda's own front door would never let through — malformed client contexts,
//! payloads that are not JSON — to prove a function survives them.
//!
//! Like Lambda since July 2026, each invocation carries a fresh `Lambda-Runtime-Invocation-Id`
//! that its answer must echo. Stricter than Lambda, which skips the check for a runtime that
//! does not echo: here an answer without the id, or with another invocation's, is refused and
//! the invocation's answer becomes a `Harness` error, so every test notices.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Condvar, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use serde_json::Value;
use tiny_http::{Header, Method, Request, Response, Server};

const INVOCATION_ID: &str = "Lambda-Runtime-Invocation-Id";

/// How a function answered an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `/response`: the function's result.
    Response(Value),
    /// `/error`: an invocation error.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
}

impl Answer {
    /// The result, or a description of the error.
    pub fn response(self) -> Result<Value, String> {
        match self {
            Self::Response(v) => Ok(v),
            Self::Error {
                error_type,
                message,
            } => Err(format!("{error_type}: {message}")),
        }
    }
}

/// One queued invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The event body, as bytes (it need not be JSON).
    pub body: Vec<u8>,
    /// The raw `Lambda-Runtime-Client-Context` header, if any.
    pub client_context: Option<String>,
}

impl Invocation {
    /// A JSON event without a client context.
    pub fn json(payload: &Value) -> Self {
        Self {
            body: payload.to_string().into_bytes(),
            client_context: None,
        }
    }

    /// Adds a client context header.
    #[must_use]
    pub fn with_client_context(mut self, raw: impl Into<String>) -> Self {
        self.client_context = Some(raw.into());
        self
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, Invocation)>,
    /// The invocation id sent with each request id that awaits its answer.
    in_flight: HashMap<String, String>,
    answers: HashMap<String, Answer>,
    invocations_sent: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

/// A running local Runtime API. Stops when dropped.
pub struct RuntimeApi {
    address: String,
    shared: Arc<Shared>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> Result<Self, String> {
        let server = Server::http("127.0.0.1:0").map_err(|e| format!("runtime API: {e}"))?;
        let address = server
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .ok_or("runtime API: no TCP address")?;
        let server = Arc::new(server);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let (server, shared) = (server.clone(), shared.clone());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let shared = shared.clone();
                    // /next blocks until there is work: one thread per request.
                    std::thread::spawn(move || serve(request, &shared));
                }
            })
        };
        Ok(Self {
            address,
            shared,
            server,
            thread: Some(thread),
            next_id: AtomicU64::new(1),
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Queues an invocation and waits for its answer.
    pub fn invoke(&self, invocation: Invocation, timeout: Duration) -> Result<Answer, String> {
        let id = format!("req-{:08}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.lock().queue.push_back((id.clone(), invocation));
        self.shared.changed.notify_all();
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(answer) = state.answers.remove(&id) {
                return Ok(answer);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("no answer to `{id}` within {timeout:?}"));
            }
            state = match self.shared.changed.wait_timeout(state, deadline - now) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Invokes with a JSON payload and no client context.
    pub fn invoke_json(&self, payload: &Value) -> Result<Answer, String> {
        self.invoke(Invocation::json(payload), Duration::from_secs(60))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.changed.notify_all();
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut request: Request, shared: &Shared) {
    let path = request.url().to_owned();
    let method = request.method().clone();
    let mut body = Vec::new();
    if request.as_reader().read_to_end(&mut body).is_err() {
        let _ = request.respond(Response::empty(400));
        return;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["2018-06-01", "runtime", "invocation", "next"]) => next(request, shared),
        (
            Method::Post,
            [
                "2018-06-01",
                "runtime",
                "invocation",
                id,
                kind @ ("response" | "error"),
            ],
        ) => answered(request, shared, id, kind, &body),
        (Method::Post, ["2018-06-01", "runtime", "init", "error"]) => {
            let _ =
                request.respond(Response::from_string(r#"{"status":"OK"}"#).with_status_code(202));
        }
        _ => {
            let _ = request.respond(Response::empty(404));
        }
    }
}

/// `/response` or `/error` (`kind`) for request `id`: taken as its answer if it echoes the
/// invocation id it was sent; a `Harness` error if it echoes another.
fn answered(request: Request, shared: &Shared, id: &str, kind: &str, body: &[u8]) {
    let echoed = request
        .headers()
        .iter()
        .find(|h| h.field.equiv(INVOCATION_ID))
        .map(|h| h.value.as_str().to_owned());
    let expected = shared
        .state
        .lock()
        .ok()
        .and_then(|mut state| state.in_flight.remove(id));
    let Some(expected) = expected else {
        // Answered already, or never sent: nothing awaits it.
        let _ = request.respond(Response::from_string(
            r#"{"errorType":"InvalidRequestID","errorMessage":"no invocation awaits this answer"}"#,
        ).with_status_code(400));
        return;
    };
    if echoed.as_deref() != Some(expected.as_str()) {
        let echoed = echoed.map_or("none".to_owned(), |e| format!("`{e}`"));
        if let Ok(mut state) = shared.state.lock() {
            state.answers.insert(
                id.to_owned(),
                Answer::Error {
                    error_type: "Harness".to_owned(),
                    message: format!(
                        "the {kind} to `{id}` echoed invocation id {echoed}, not the `{expected}` it was sent"
                    ),
                },
            );
        }
        shared.changed.notify_all();
        let _ = request.respond(Response::from_string(
            r#"{"errorType":"InvalidInvocationID","errorMessage":"the invocation id does not match"}"#,
        ).with_status_code(400));
        return;
    }
    let answer = if kind == "response" {
        Answer::Response(serde_json::from_slice(body).unwrap_or(Value::Null))
    } else {
        let error: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |k: &str| {
            error
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        Answer::Error {
            error_type: text("errorType"),
            message: text("errorMessage"),
        }
    };
    if let Ok(mut state) = shared.state.lock() {
        state.answers.insert(id.to_owned(), answer);
    }
    shared.changed.notify_all();
    let _ = request.respond(Response::from_string(r#"{"status":"OK"}"#).with_status_code(202));
}

fn next(request: Request, shared: &Shared) {
    let Ok(mut state) = shared.state.lock() else {
        return;
    };
    let (id, invocation, invocation_id) = loop {
        if shared.stop.load(Ordering::Relaxed) {
            let _ = request.respond(Response::empty(500));
            return;
        }
        if let Some((id, invocation)) = state.queue.pop_front() {
            state.invocations_sent += 1;
            // Unlike the request id, never reused: what tells a late answer from a current one.
            let invocation_id = format!(
                "inv-{}-{:016x}",
                state.invocations_sent,
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            );
            state.in_flight.insert(id.clone(), invocation_id.clone());
            break (id, invocation, invocation_id);
        }
        state = match shared
            .changed
            .wait_timeout(state, Duration::from_millis(200))
        {
            Ok((state, _)) => state,
            Err(_) => return,
        };
    };
    drop(state);
    let deadline = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() + 30_000);
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("Lambda-Runtime-Aws-Request-Id", id.clone()),
        (INVOCATION_ID, invocation_id),
        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:local".to_owned(),
        ),
    ];
    if let Some(raw) = invocation.client_context {
        headers.push(("Lambda-Runtime-Client-Context", raw));
    }
    let mut response = Response::from_data(invocation.body);
    for (name, value) in headers {
        // A line break would end the header early and corrupt the response.
        let header = if value.contains(['\r', '\n']) {
            Err(())
        } else {
            Header::from_bytes(name.as_bytes(), value.as_bytes())
        };
        match header {
            Ok(h) => response.add_header(h),
            // Not expressible as an HTTP header: Lambda could not send it either.
            Err(()) => {
                if let Ok(mut state) = shared.state.lock() {
                    state.in_flight.remove(&id);
                    state.answers.insert(
                        id,
                        Answer::Error {
                            error_type: "Harness".to_owned(),
                            message: format!("`{name}` cannot be sent as an HTTP header"),
                        },
                    );
                }
                shared.changed.notify_all();
                let _ = request.respond(Response::empty(500));
                return;
            }
        }
    }
    let _ = request.respond(response);
}
