use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::mpsc,
    thread,
    time::UNIX_EPOCH,
};

use super::*;
use crate::command::approve::through_endpoint;

const ID: &str = "restart_service-0123456789abcdef0123456789abcdef";

fn credentials() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token-example".to_owned()),
        None,
        "test",
    )
}

/// One request as the loopback listener read it.
#[derive(Debug)]
struct Seen {
    /// `GET /?request=… HTTP/1.1`.
    line: String,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A listener on 127.0.0.1 that answers each of `answers` in turn (status, JSON body), one
/// connection each, and reports what it was sent.
fn listener(answers: Vec<(u16, Value)>) -> (String, mpsc::Receiver<Seen>) {
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    let (sent, seen) = mpsc::channel();
    thread::spawn(move || {
        for (status, body) in answers {
            let (stream, _) = socket.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut bytes = vec![0; length];
            reader.read_exact(&mut bytes).unwrap();
            let body_text = body.to_string();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body_text}",
                body_text.len()
            )
            .unwrap();
            sent.send(Seen {
                line: line.trim_end().to_owned(),
                headers,
                body: String::from_utf8(bytes).unwrap(),
            })
            .unwrap();
        }
    });
    (url, seen)
}

/// `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/<date>/<region>/lambda/aws4_request,
/// SignedHeaders=…, Signature=<64 hex>`: the parts, checked.
fn assert_sigv4_for_lambda(authorization: &str, region: &str) -> (String, String) {
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .unwrap_or_else(|| panic!("not SigV4: {authorization}"));
    let parts: Vec<&str> = rest.split(", ").collect();
    assert_eq!(parts.len(), 3, "{authorization}");
    let scope: Vec<&str> = parts[0].split('/').collect();
    assert_eq!(scope[0], "AKIDEXAMPLE");
    assert_eq!(scope[1].len(), 8, "a date: {authorization}");
    assert_eq!(&scope[2..], [region, "lambda", "aws4_request"]);
    let signed = parts[1].strip_prefix("SignedHeaders=").unwrap();
    let signature = parts[2].strip_prefix("Signature=").unwrap();
    assert_eq!(signature.len(), 64);
    assert!(signature.chars().all(|c| c.is_ascii_hexdigit()));
    (signed.to_owned(), signature.to_owned())
}

#[test]
fn a_request_is_signed_with_sigv4_for_lambda_and_its_body_is_covered() {
    let uri: http::Uri = "https://abc.lambda-url.eu-west-1.on.aws/".parse().unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let sign = |body: &str| {
        signed_request(
            &http::Method::POST,
            uri.clone(),
            body.as_bytes().to_vec(),
            &credentials(),
            "eu-west-1",
            at,
        )
        .unwrap()
    };
    let request = sign(r#"{"request":"x","decision":"approve"}"#);
    let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
    let (signed, signature) = assert_sigv4_for_lambda(&header("authorization"), "eu-west-1");
    for name in ["host", "x-amz-date", "x-amz-security-token", "content-type"] {
        assert!(signed.split(';').any(|h| h == name), "{name} in {signed}");
    }
    assert_eq!(header("x-amz-date"), "20270115T080000Z");
    assert_eq!(header("x-amz-security-token"), "session-token-example");
    assert_eq!(header("host"), "abc.lambda-url.eu-west-1.on.aws");
    // Another decision is another signature: Lambda would refuse a body changed in transit.
    let other = sign(r#"{"request":"x","decision":"reject"}"#);
    let (_, other_signature) = assert_sigv4_for_lambda(
        other.headers()["authorization"].to_str().unwrap(),
        "eu-west-1",
    );
    assert_ne!(signature, other_signature);
}

#[tokio::test]
async fn show_and_decide_send_signed_requests_as_specified_to_the_function_url() {
    let (url, seen) = listener(vec![
        (
            200,
            json!({"summary": "Approval request …", "asked_by": "arn:aws:sts::1:assumed-role/agent-guard-oncall/alice", "status": "pending"}),
        ),
        (200, json!({"message": "approved", "status": "approved"})),
    ]);
    let endpoint = ApprovalEndpoint::new(&url, "us-east-1", credentials()).unwrap();
    let code = through_endpoint(&endpoint, ID, Verdict::Approve, true)
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);

    let get = seen.recv().unwrap();
    assert_eq!(get.line, format!("GET /?request={ID} HTTP/1.1"));
    assert_eq!(get.body, "");
    let (signed, _) = assert_sigv4_for_lambda(get.header("authorization").unwrap(), "us-east-1");
    assert!(
        signed.contains("host") && signed.contains("x-amz-date"),
        "{signed}"
    );

    let post = seen.recv().unwrap();
    assert_eq!(post.line, "POST / HTTP/1.1");
    assert_sigv4_for_lambda(post.header("authorization").unwrap(), "us-east-1");
    assert_eq!(
        post.header("x-amz-security-token"),
        Some("session-token-example")
    );
    assert_eq!(post.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body, json!({"request": ID, "decision": "approve"}));
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "nothing but the two fields"
    );
}

#[tokio::test]
async fn a_refusal_comes_back_as_the_endpoints_own_words() {
    let (url, _seen) = listener(vec![
        (
            403,
            json!({"error": "not_an_approver", "message": "`arn:aws:iam::1:user/bob` cannot approve"}),
        ),
        (403, json!({"Message": "Forbidden"})),
    ]);
    let endpoint = ApprovalEndpoint::new(&url, "us-east-1", credentials()).unwrap();
    for said in ["cannot approve", "Forbidden"] {
        match endpoint.decide(ID, Verdict::Approve).await {
            Err(CliError::EndpointRefused { status, message }) => {
                assert_eq!(status, 403);
                assert!(message.contains(said), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_signed_decision_never_goes_out_in_the_clear_or_to_a_made_up_url() {
    for url in [
        "http://abc.lambda-url.us-east-1.on.aws/",
        "https://abc.lambda-url.us-east-1.on.aws/?request=x",
        "not a url",
        "ftp://127.0.0.1/",
    ] {
        assert!(
            matches!(
                ApprovalEndpoint::new(url, "us-east-1", credentials()),
                Err(CliError::Endpoint { .. })
            ),
            "{url}"
        );
    }
    assert!(
        ApprovalEndpoint::new(
            "https://abc.lambda-url.us-east-1.on.aws/",
            "us-east-1",
            credentials()
        )
        .is_ok()
    );
    assert!(ApprovalEndpoint::new("http://127.0.0.1:9/", "us-east-1", credentials()).is_ok());
}

#[test]
fn only_plain_request_ids_go_into_a_signed_query() {
    for bad in ["", "a&b=c", "x y", "restart_service#approval#x"] {
        assert!(request_id(bad).is_err(), "{bad}");
    }
    assert_eq!(request_id(ID).unwrap(), ID);
}
