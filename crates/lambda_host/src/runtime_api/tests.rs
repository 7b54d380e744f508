//! The loop against a scripted Runtime API on 127.0.0.1 that speaks raw HTTP/1.1, so it can
//! also drop connections and send what no HTTP server would.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::*;

/// What the scripted Runtime API does with the next request it receives, one connection each.
enum Reply {
    /// Closes the connection without a word.
    Drop,
    /// Answers with bytes that are not HTTP.
    Garbage,
    /// Answers with a head larger than the client's 1 MiB buffer.
    OversizedHeader,
    /// Answers with a status and no invocation.
    Status(u16),
    /// Answers `/next` with an invocation.
    Invocation {
        request_id: &'static str,
        invocation_id: Option<&'static str>,
        event: Value,
    },
    /// Answers `/next` with an invocation whose body is these bytes, JSON or not.
    RawInvocation {
        request_id: &'static str,
        body: &'static str,
    },
    /// Answers `/next` with an invocation whose body breaks off.
    TruncatedInvocation {
        request_id: &'static str,
        invocation_id: &'static str,
    },
    /// Accepts an answer (`/response` or `/error`).
    Accepted,
}

/// A request the scripted Runtime API received.
#[derive(Debug)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Fails when the event says `"fail": true`, else echoes it; answers a malformed invocation
/// with what was wrong.
async fn handler(incoming: Incoming) -> Result<Value, Diagnostic> {
    let event = match incoming {
        Incoming::Event(event) => event,
        Incoming::Malformed(m) => {
            return Ok(json!({ "refused": m.error.error_type(), "request": m.context.request_id }));
        }
    };
    if event.payload["fail"] == true {
        Err(crate::diagnostic("Refused", "the event asked to fail"))
    } else {
        Ok(json!({ "echo": event.payload }))
    }
}

/// Runs the loop against a Runtime API that follows `script`, until the script is done (or
/// 20 s pass), and returns the requests the loop made.
async fn run_against(script: Vec<Reply>) -> Vec<Seen> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint: Uri = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let runtime_api = async move {
        let mut seen = Vec::new();
        for reply in script {
            let (mut stream, _) = listener.accept().await.unwrap();
            seen.push(read_request(&mut stream).await);
            respond(&mut stream, reply).await;
        }
        seen
    };
    let config = Arc::new(Config::default());
    tokio::time::timeout(Duration::from_secs(20), async {
        tokio::select! {
            never = serve(endpoint, config, handler) => match never {},
            seen = runtime_api => seen,
        }
    })
    .await
    .expect("the loop did not get through the script in 20 s")
}

async fn read_request(stream: &mut TcpStream) -> Seen {
    let mut data = Vec::new();
    let mut chunk = [0; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the client closed before sending a request");
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(data[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap().split(' ');
    let (method, path) = (request_line.next().unwrap(), request_line.next().unwrap());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the client closed in the middle of a body");
        body.extend_from_slice(&chunk[..n]);
    }
    Seen {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
    }
}

async fn respond(stream: &mut TcpStream, reply: Reply) {
    let deadline = "Lambda-Runtime-Deadline-Ms: 4102444800000\r\n";
    let bytes = match reply {
        Reply::Drop => return,
        Reply::Garbage => b"\x00\x01this is not HTTP\r\n\r\n".to_vec(),
        Reply::OversizedHeader => {
            let huge = "x".repeat(2 * 1024 * 1024);
            format!("HTTP/1.1 200 OK\r\nX-Huge: {huge}\r\n\r\n").into_bytes()
        }
        Reply::Status(code) => {
            format!("HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Reply::Invocation {
            request_id,
            invocation_id,
            event,
        } => {
            let body = event.to_string();
            let invocation_id = invocation_id
                .map(|id| format!("Lambda-Runtime-Invocation-Id: {id}\r\n"))
                .unwrap_or_default();
            format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
                 {invocation_id}{deadline}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        Reply::RawInvocation { request_id, body } => format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
             {deadline}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
        Reply::TruncatedInvocation {
            request_id,
            invocation_id,
        } => format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {request_id}\r\n\
             Lambda-Runtime-Invocation-Id: {invocation_id}\r\n{deadline}\
             Content-Length: 100\r\nConnection: close\r\n\r\n{{\"cut\":"
        )
        .into_bytes(),
        Reply::Accepted => {
            let body = r#"{"status":"OK"}"#;
            format!(
                "HTTP/1.1 202 Accepted\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    };
    // The client may give up reading an oversized head before it is all written.
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn answers_echo_the_invocation_id_on_response_and_error() {
    let seen = run_against(vec![
        Reply::Invocation {
            request_id: "req-1",
            invocation_id: Some("inv-one"),
            event: json!({ "n": 1 }),
        },
        Reply::Accepted,
        Reply::Invocation {
            request_id: "req-2",
            invocation_id: Some("inv-two"),
            event: json!({ "fail": true }),
        },
        Reply::Accepted,
    ])
    .await;

    let response = &seen[1];
    assert_eq!(response.method, "POST");
    assert_eq!(
        response.path,
        "/2018-06-01/runtime/invocation/req-1/response"
    );
    assert_eq!(response.header(INVOCATION_ID), Some("inv-one"));
    assert_eq!(response.json(), json!({ "echo": { "n": 1 } }));

    let error = &seen[3];
    assert_eq!(error.path, "/2018-06-01/runtime/invocation/req-2/error");
    assert_eq!(error.header(INVOCATION_ID), Some("inv-two"));
    assert_eq!(error.header(FUNCTION_ERROR_TYPE), Some("Refused"));
    assert_eq!(error.json()["errorType"], "Refused");
}

#[tokio::test]
async fn without_an_invocation_id_from_the_runtime_api_none_is_sent_back() {
    let seen = run_against(vec![
        Reply::Invocation {
            request_id: "req-1",
            invocation_id: None,
            event: json!({ "n": 1 }),
        },
        Reply::Accepted,
    ])
    .await;
    assert_eq!(
        seen[1].path,
        "/2018-06-01/runtime/invocation/req-1/response"
    );
    assert_eq!(seen[1].header(INVOCATION_ID), None);
}

#[tokio::test]
async fn transport_failures_of_the_runtime_api_do_not_end_the_loop() {
    let started = Instant::now();
    let seen = run_against(vec![
        Reply::Drop,
        Reply::Garbage,
        Reply::OversizedHeader,
        Reply::Status(500),
        Reply::Invocation {
            request_id: "",
            invocation_id: None,
            event: json!({}),
        },
        Reply::Invocation {
            request_id: "req-after",
            invocation_id: Some("inv-after"),
            event: json!({ "n": 7 }),
        },
        Reply::Accepted,
    ])
    .await;

    assert!(
        seen[..6]
            .iter()
            .all(|s| s.method == "GET" && s.path == NEXT)
    );
    let answer = &seen[6];
    assert_eq!(
        answer.path,
        "/2018-06-01/runtime/invocation/req-after/response"
    );
    assert_eq!(answer.header(INVOCATION_ID), Some("inv-after"));
    assert_eq!(answer.json(), json!({ "echo": { "n": 7 } }));
    // Five failed polls back off 20 + 40 + 80 + 160 + 320 ms.
    assert!(started.elapsed() >= Duration::from_millis(620));
}

#[tokio::test]
async fn an_event_that_breaks_off_reaches_the_handler_and_the_loop_goes_on() {
    let seen = run_against(vec![
        Reply::TruncatedInvocation {
            request_id: "req-cut",
            invocation_id: "inv-cut",
        },
        Reply::Accepted,
        Reply::Invocation {
            request_id: "req-next",
            invocation_id: Some("inv-next"),
            event: json!({ "n": 2 }),
        },
        Reply::Accepted,
    ])
    .await;

    let answer = &seen[1];
    assert_eq!(
        answer.path,
        "/2018-06-01/runtime/invocation/req-cut/response"
    );
    assert_eq!(answer.header(INVOCATION_ID), Some("inv-cut"));
    assert_eq!(
        answer.json(),
        json!({ "refused": "InvalidInvocation", "request": "req-cut" })
    );
    assert_eq!(
        seen[3].path,
        "/2018-06-01/runtime/invocation/req-next/response"
    );
}

#[tokio::test]
async fn payloads_that_are_not_readable_json_are_answered_by_the_handler() {
    let mut script = Vec::new();
    for (request_id, body) in [
        ("req-surrogate", r#"{"environment":"\ud800"}"#),
        ("req-huge-number", r#"{"n":1e400}"#),
        ("req-not-json", "{oops"),
    ] {
        script.push(Reply::RawInvocation { request_id, body });
        script.push(Reply::Accepted);
    }
    let seen = run_against(script).await;
    for (answer, request_id) in
        seen.iter()
            .skip(1)
            .step_by(2)
            .zip(["req-surrogate", "req-huge-number", "req-not-json"])
    {
        assert_eq!(
            answer.path,
            format!("/2018-06-01/runtime/invocation/{request_id}/response")
        );
        assert_eq!(
            answer.json(),
            json!({ "refused": "InvalidPayload", "request": request_id })
        );
    }
}

#[test]
fn a_request_id_is_sent_as_one_path_segment_whatever_it_holds() {
    assert_eq!(
        path_segment("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
    );
    assert_eq!(path_segment("a/../b c?d"), "a%2F..%2Fb%20c%3Fd");
}

#[test]
fn backoff_doubles_from_20_ms_to_at_most_1_s_and_restarts_after_an_invocation() {
    let mut backoff = Backoff::default();
    let delays: Vec<u64> = (0..9)
        .map(|_| backoff.next_delay().as_millis() as u64)
        .collect();
    assert_eq!(delays, [20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    backoff.reset();
    assert_eq!(backoff.next_delay(), Duration::from_millis(20));
}
