//! What the endpoint answers: a function URL response with a JSON body, and why a request is
//! refused, each reason with its HTTP status.

use std::collections::BTreeMap;

use oversight::ApprovalError;
use serde::Serialize;
use serde_json::{Value, json};

use crate::event::{MAX_BODY_BYTES, MAX_ID_CHARS};

/// Why the endpoint refused a request. Each has an HTTP status ([`Refusal::status`]) and a
/// stable name ([`Refusal::kind`]) for the answer and the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No identity AWS verified: not a request through the function URL with `AWS_IAM`.
    #[error(
        "no verified IAM identity: the approval endpoint answers only requests AWS \
         authenticated through its function URL (AuthType AWS_IAM, SigV4-signed)"
    )]
    Unauthenticated,
    /// A method other than GET and POST.
    #[error(
        "method `{0}` is not allowed: GET `?request=ID` shows a request, POST \
         `{{\"request\": ID, \"decision\": \"approve\"|\"reject\"}}` decides it"
    )]
    Method(String),
    /// The event does not have the shape of a function URL event.
    #[error("not a Lambda function URL event: {0}")]
    NotAnEvent(String),
    /// A query parameter the endpoint does not know.
    #[error("unknown query parameter `{0}`: GET takes only `request`, POST none")]
    UnknownParameter(String),
    /// No request id given.
    #[error("no approval request named: GET `?request=ID`, or POST `{{\"request\": ID, …}}`")]
    NoRequestId,
    /// A request id too long, or with control characters.
    #[error("the request id is not one: at most {MAX_ID_CHARS} characters, no control characters")]
    BadRequestId,
    /// A POST body over [`MAX_BODY_BYTES`].
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    /// A POST body that is not exactly `{"request": ID, "decision": "approve"|"reject"}`.
    #[error(
        "the body must be exactly {{\"request\": ID, \"decision\": \"approve\"|\"reject\"}}: {0}"
    )]
    BadBody(String),
    /// The approval could not be shown or decided.
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    /// The decision's audit record could not be written: nothing was decided.
    #[error("the decision's audit record could not be written, so nothing was decided: {0}")]
    Audit(String),
    /// The function is not set up to reach the approvals.
    #[error("the approval endpoint is misconfigured: {0}")]
    Misconfigured(String),
}

impl Refusal {
    /// The HTTP status: 400 bad input, 403 who asks may not, 404 no such request, 405 wrong
    /// method, 409 the request is no longer pending, 500 the endpoint's own failure.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 403,
            Self::Method(_) => 405,
            Self::NotAnEvent(_)
            | Self::UnknownParameter(_)
            | Self::NoRequestId
            | Self::BadRequestId
            | Self::BodyTooLarge
            | Self::BadBody(_) => 400,
            Self::Approval(e) => match e {
                ApprovalError::MalformedId(_) => 400,
                ApprovalError::NotFound(_) => 404,
                ApprovalError::SelfApproval { .. } | ApprovalError::NotAnApprover { .. } => 403,
                ApprovalError::Expired(_)
                | ApprovalError::Status { .. }
                | ApprovalError::Changed { .. } => 409,
                ApprovalError::Malformed { .. } | ApprovalError::Table { .. } => 500,
            },
            Self::Audit(_) | Self::Misconfigured(_) => 500,
        }
    }

    /// A stable name for the answer's `error` and the record.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Method(_) => "method_not_allowed",
            Self::NotAnEvent(_) => "not_a_function_url_event",
            Self::UnknownParameter(_) => "unknown_parameter",
            Self::NoRequestId => "no_request_id",
            Self::BadRequestId | Self::Approval(ApprovalError::MalformedId(_)) => {
                "malformed_request_id"
            }
            Self::BodyTooLarge => "body_too_large",
            Self::BadBody(_) => "bad_body",
            Self::Approval(e) => match e {
                ApprovalError::NotFound(_) => "not_found",
                ApprovalError::SelfApproval { .. } => "self_approval",
                ApprovalError::NotAnApprover { .. } => "not_an_approver",
                ApprovalError::Expired(_) => "expired",
                ApprovalError::Status { .. } | ApprovalError::Changed { .. } => "not_pending",
                ApprovalError::Malformed { .. } => "malformed_request",
                ApprovalError::MalformedId(_) | ApprovalError::Table { .. } => "table",
            },
            Self::Audit(_) => "audit_failed",
            Self::Misconfigured(_) => "misconfigured",
        }
    }
}

/// A function URL response: status, JSON content type, the body as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The HTTP status.
    pub status_code: u16,
    /// `content-type: application/json`.
    pub headers: BTreeMap<&'static str, &'static str>,
    /// The JSON answer.
    pub body: String,
    /// Always false: the body is text.
    pub is_base64_encoded: bool,
}

impl Response {
    /// `status` with `body`.
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status_code: status,
            headers: BTreeMap::from([("content-type", "application/json")]),
            body: body.to_string(),
            is_base64_encoded: false,
        }
    }

    /// The refusal's status, with `{"error": kind, "message": why}`.
    pub fn refused(refusal: &Refusal) -> Self {
        Self::json(
            refusal.status(),
            &json!({"error": refusal.kind(), "message": refusal.to_string()}),
        )
    }

    /// The body, read back as JSON (tests, the CLI's view of it).
    pub fn body_json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}
