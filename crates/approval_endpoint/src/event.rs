//! What a Lambda function URL event asks: who asks (only as AWS verified them) and what.

use std::collections::BTreeMap;

use base64::Engine;
use oversight::Verdict;
use serde::Deserialize;
use serde_json::Value;

use crate::answer::Refusal;

/// The most bytes a POST body may hold: `{"request": ID, "decision": …}` needs about 100.
pub const MAX_BODY_BYTES: usize = 1024;

/// The most characters a request id may have (`<tool>-<32 hex digits>`); a longer one is
/// refused before it is looked up or written to a record.
pub const MAX_ID_CHARS: usize = 128;

/// The most characters of an identity ARN (IAM's own limit for a role session ARN is lower).
const MAX_ARN_CHARS: usize = 2048;

/// What the approver asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `GET ?request=ID`: the request's summary and status.
    Show {
        /// The request.
        id: String,
    },
    /// `POST {"request": ID, "decision": …}`: a decision.
    Decide {
        /// The request.
        id: String,
        /// Approve or reject.
        verdict: Verdict,
    },
}

impl Ask {
    /// The request asked about.
    pub fn id(&self) -> &str {
        match self {
            Self::Show { id } | Self::Decide { id, .. } => id,
        }
    }
}

/// The parts of a function URL event the endpoint reads. Not `deny_unknown_fields`: AWS adds
/// fields to the envelope; the approver's own input (the query and the body) is read strictly.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UrlEvent {
    #[serde(default)]
    query_string_parameters: Option<BTreeMap<String, String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

/// The body of a POST, strictly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    request: String,
    decision: Word,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Word {
    Approve,
    Reject,
}

/// Who asks: `requestContext.authorizer.iam.userArn`, which Lambda sets after verifying the
/// request's SigV4 signature, and nothing else. Absent, empty or not an IAM or STS ARN: nobody.
pub fn approver(event: &Value) -> Result<&str, Refusal> {
    let arn = event
        .pointer("/requestContext/authorizer/iam/userArn")
        .and_then(Value::as_str)
        .ok_or(Refusal::Unauthenticated)?;
    let iam = arn.starts_with("arn:")
        && (arn.contains(":iam::") || arn.contains(":sts::"))
        && arn.len() <= MAX_ARN_CHARS
        && !arn.chars().any(char::is_control);
    if iam {
        Ok(arn)
    } else {
        Err(Refusal::Unauthenticated)
    }
}

/// The HTTP method, as the event says it (for the record, and to route).
pub fn method(event: &Value) -> Option<&str> {
    event
        .pointer("/requestContext/http/method")
        .and_then(Value::as_str)
}

/// What the event asks, strictly: GET with exactly `request`; POST with no query and a JSON
/// body of exactly `request` and `decision`, at most [`MAX_BODY_BYTES`].
pub fn ask(event: &Value) -> Result<Ask, Refusal> {
    let url: UrlEvent =
        serde_json::from_value(event.clone()).map_err(|e| Refusal::NotAnEvent(e.to_string()))?;
    let query = url.query_string_parameters.unwrap_or_default();
    match method(event) {
        Some("GET") => {
            if let Some(name) = query.keys().find(|name| name.as_str() != "request") {
                return Err(Refusal::UnknownParameter(shortened(name)));
            }
            let id = query.get("request").ok_or(Refusal::NoRequestId)?;
            Ok(Ask::Show {
                id: request_id(id)?,
            })
        }
        Some("POST") => {
            if let Some(name) = query.keys().next() {
                return Err(Refusal::UnknownParameter(shortened(name)));
            }
            let body = body(url.body.as_deref().unwrap_or(""), url.is_base64_encoded)?;
            let decision = decision(&body)?;
            Ok(Ask::Decide {
                id: request_id(&decision.request)?,
                verdict: match decision.decision {
                    Word::Approve => Verdict::Approve,
                    Word::Reject => Verdict::Reject,
                },
            })
        }
        other => Err(Refusal::Method(shortened(other.unwrap_or("")))),
    }
}

/// The body's bytes: decoded when Lambda sent it base64-encoded, at most [`MAX_BODY_BYTES`]
/// either way (checked before decoding too, so a huge body is never decoded).
fn body(text: &str, base64_encoded: bool) -> Result<Vec<u8>, Refusal> {
    // Base64 is 4 characters per 3 bytes.
    let raw_limit = if base64_encoded {
        MAX_BODY_BYTES.div_ceil(3).saturating_mul(4)
    } else {
        MAX_BODY_BYTES
    };
    if text.len() > raw_limit {
        return Err(Refusal::BodyTooLarge);
    }
    let bytes = if base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| Refusal::BadBody(format!("the body is not valid base64: {e}")))?
    } else {
        text.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Refusal::BodyTooLarge);
    }
    Ok(bytes)
}

/// The body as a [`DecisionBody`]: a JSON object (serde would also take a positional array)
/// of exactly its fields.
fn decision(body: &[u8]) -> Result<DecisionBody, Refusal> {
    let bad = |e: serde_json::Error| Refusal::BadBody(e.to_string());
    match serde_json::from_slice::<Value>(body).map_err(bad)? {
        object @ Value::Object(_) => serde_json::from_value(object).map_err(bad),
        other => Err(Refusal::BadBody(format!(
            "a JSON object is expected, not `{}`",
            shortened(&other.to_string())
        ))),
    }
}

/// A request id as given, if it is short enough to look up and to record; its form
/// (`<tool>-<32 hex digits>`) is checked by the table's key rules ([`oversight::Approvals`]).
fn request_id(id: &str) -> Result<String, Refusal> {
    if id.is_empty() {
        Err(Refusal::NoRequestId)
    } else if id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        Err(Refusal::BadRequestId)
    } else {
        Ok(id.to_owned())
    }
}

/// Caller text quoted in a message: at most 64 characters.
pub(crate) fn shortened(text: &str) -> String {
    let mut short: String = text.chars().take(64).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
