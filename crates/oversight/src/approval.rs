//! Approvals: a call the policies allow only with a person's OK waits in the budget table as
//! an [`ApprovalRequest`], bound to the exact call and the real resource by a digest over the
//! tool, the canonical arguments, the verified caller and the resource as read.
//!
//! - **Recorded** once ([`Approvals::record`]), pending, expiring after [`APPROVAL_LIFETIME`]
//!   (15 minutes) unless decided; a timeout is a refusal.
//! - **Decided** by a person ([`Approvals::decide`]) whose identity the caller of this crate
//!   got from AWS (STS), never from a typed field; one conditional write: only a pending,
//!   unexpired request, and never by the person who made the call ([`same_person`]): the
//!   condition holds the caller's person, so not even a direct write around the CLI passes.
//! - **Consumed** once ([`Approvals::consume`]): one conditional write that needs it approved,
//!   unexpired, unused and bound to the same digest, recomputed from the resource as read
//!   again. Two calls racing on one approval: DynamoDB applies one write, the other's
//!   condition fails, so exactly one proceeds.
//!
//! Keys: `<tool>#approval#<id>`, under the tool's own key prefix, so the table's
//! `dynamodb:LeadingKeys` condition confines each tool to its own requests as to its budgets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use guard::{Principal, ResourceFacts};
use serde_json::{Value, json};

mod policy;
mod store;

pub use policy::{APPROVER_ROLE_VAR, DEFAULT_APPROVER_ROLE, grant, may_approve, probe};
pub use store::{Approvals, usable};

/// The argument an agent names an approved request with when it calls again
/// (`"approval_id": "restart_service-…"`). Not part of what the approval binds: the digest is
/// over the other arguments.
pub const APPROVAL_ARGUMENT: &str = "approval_id";

/// How long a request waits for a decision, and an approval for its call.
pub const APPROVAL_LIFETIME: Duration = Duration::from_secs(15 * 60);

const TOOL: &str = "tool";
const ARGUMENTS: &str = "arguments";
const CALLER: &str = "caller";
const CALLER_PERSON: &str = "caller_person";
const RESOURCE: &str = "resource";
const DIGEST: &str = "digest";
const APPROVERS: &str = "approvers";
const WHY: &str = "why";
const CREATED_AT: &str = "created_at";
const STATUS: &str = "status";
const DECIDED_BY: &str = "decided_by";
const DECIDED_AT: &str = "decided_at";
const USED_AT: &str = "used_at";

/// Why an approval cannot be recorded, decided or used. Every one refuses the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// Not an approval request id (`<tool>-<32 hex digits>`).
    #[error("`{0}` is not an approval request id (`<tool>-<32 hex digits>`)")]
    MalformedId(String),
    /// No such request (never made, or swept long after it expired).
    #[error("approval request `{0}` does not exist")]
    NotFound(String),
    /// The person deciding is the caller the request is about.
    #[error(
        "`{approver}` cannot decide approval request `{id}`: it is about their own call \
         (caller `{caller}`); nobody approves their own call"
    )]
    SelfApproval {
        /// The request.
        id: String,
        /// Who tried to decide.
        approver: String,
        /// The caller of the call.
        caller: String,
    },
    /// The policies would not let the call run on this person's approval (another role,
    /// or a rule of theirs): nothing is recorded.
    #[error(
        "`{approver}` cannot approve request `{id}`: the policies would not let the call run \
         on an approval given in {}",
        in_role(.role)
    )]
    NotAnApprover {
        /// The request.
        id: String,
        /// Who tried to approve.
        approver: String,
        /// The role they approved in (empty for none).
        role: String,
    },
    /// The request is past its expiry.
    #[error("approval request `{0}` has expired; the agent must ask again")]
    Expired(String),
    /// The request is not in the state the action needs.
    #[error("approval request `{id}` is {status}, so it cannot be {action}")]
    Status {
        /// The request.
        id: String,
        /// Its status, in words (`rejected by … at …`).
        status: String,
        /// What was tried (`approved`, `used`).
        action: &'static str,
    },
    /// The call now differs from the call approved.
    #[error(
        "approval request `{id}` was approved for another call: {what} differs from what was \
         approved, so it cannot be used"
    )]
    Changed {
        /// The request.
        id: String,
        /// What differs: `the tool`, `the arguments`, `the caller`, `the resource as read`.
        what: String,
    },
    /// A request item that does not read back.
    #[error("approval request `{id}` is malformed in the table: {what}")]
    Malformed {
        /// The request.
        id: String,
        /// What is missing or unreadable.
        what: String,
    },
    /// The table could not be asked.
    #[error("approvals in table `{table}`: `{action}` failed: {message}")]
    Table {
        /// The table.
        table: String,
        /// The DynamoDB action.
        action: &'static str,
        /// What went wrong, with its causes.
        message: String,
    },
}

/// The call an approval is for: what its digest covers.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The tool (`restart_service`).
    pub tool: &'a str,
    /// The arguments, as sent (canonicalised for the digest).
    pub arguments: &'a Value,
    /// The verified caller, if known.
    pub caller: Option<&'a Principal>,
    /// The resource as read.
    pub resource: &'a ResourceFacts,
}

impl Call<'_> {
    /// SHA-256 over the canonical JSON of the tool, the arguments, the caller and the resource
    /// as read: any change in any of them is another digest.
    pub fn digest(&self) -> String {
        caller::arguments_digest(&self.bound())
    }

    fn bound(&self) -> Value {
        json!({
            TOOL: self.tool,
            ARGUMENTS: self.arguments,
            CALLER: self.caller,
            RESOURCE: self.resource,
        })
    }
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a person.
    Pending,
    /// Approved, not yet used.
    Approved {
        /// By whom (an IAM ARN).
        by: String,
    },
    /// Rejected.
    Rejected {
        /// By whom.
        by: String,
    },
    /// Approved and used by its call.
    Used {
        /// By whom it was approved.
        by: String,
    },
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved { .. } => "approved",
            Self::Rejected { .. } => "rejected",
            Self::Used { .. } => "used",
        }
    }

    fn words(&self) -> String {
        match self {
            Self::Pending => "pending".to_owned(),
            Self::Approved { by } => format!("approved by `{by}`"),
            Self::Rejected { by } => format!("rejected by `{by}`"),
            Self::Used { by } => format!("already used (approved by `{by}`)"),
        }
    }
}

/// A person's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The call may run, once.
    Approve,
    /// It may not.
    Reject,
}

/// A call waiting for, or holding, a person's OK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// `<tool>-<32 hex digits>`.
    pub id: String,
    /// The tool.
    pub tool: String,
    /// The canonical arguments.
    pub arguments: String,
    /// The caller (JSON of the verified principal, `null` when unknown).
    pub caller: String,
    /// The caller's person (see [`same_person`]); empty when unknown.
    pub caller_person: String,
    /// The resource as read (JSON).
    pub resource: String,
    /// The digest over all of them ([`Call::digest`]).
    pub digest: String,
    /// Who may approve, in words (from the policies).
    pub approvers: String,
    /// Why the policies ask a person.
    pub why: String,
    /// When it was made (seconds since the epoch).
    pub created_at: u64,
    /// When it expires (seconds since the epoch).
    pub expires_at: u64,
    /// Where it stands.
    pub status: Status,
}

impl ApprovalRequest {
    /// A new pending request for `call`, expiring [`APPROVAL_LIFETIME`] after `now`.
    pub fn new(call: &Call<'_>, approvers: &str, why: &str, now: SystemTime) -> Self {
        let created_at = epoch(now);
        Self {
            id: format!("{}-{}", call.tool, random_hex()),
            tool: call.tool.to_owned(),
            arguments: caller::canonical_json(call.arguments),
            caller: caller::canonical_json(&json!(call.caller)),
            caller_person: caller_person(call.caller),
            resource: caller::canonical_json(&json!(call.resource)),
            digest: call.digest(),
            approvers: approvers.to_owned(),
            why: why.to_owned(),
            created_at,
            expires_at: created_at.saturating_add(APPROVAL_LIFETIME.as_secs()),
            status: Status::Pending,
        }
    }

    /// The one screen a person reads before deciding, and the notification says.
    pub fn summary(&self) -> String {
        let expires = UNIX_EPOCH + Duration::from_secs(self.expires_at);
        format!(
            "Approval request {id}\n\
             \n\
             What:      `{tool}` with arguments {arguments}\n\
             On:        {resource}\n\
             Caller:    {caller}\n\
             Why a person is asked: {why}\n\
             Who may approve: {approvers}; never the caller\n\
             Status:    {status}; expires {expires} (a timeout is a refusal)\n\
             \n\
             Approve: guard approve {id}    Reject: guard reject {id}",
            id = self.id,
            tool = self.tool,
            arguments = self.arguments,
            resource = self.resource,
            caller = self.caller,
            why = self.why,
            approvers = self.approvers,
            status = self.status.words(),
            expires = humantime::format_rfc3339_seconds(expires),
        )
    }

    fn key(&self) -> String {
        key(&self.tool, &self.id)
    }
}

/// The table key of request `id`: `<tool>#approval#<id>`, the tool read from the id.
fn request_key(id: &str) -> Result<String, ApprovalError> {
    let malformed = || ApprovalError::MalformedId(id.to_owned());
    let (tool, hex) = id.rsplit_once('-').ok_or_else(malformed)?;
    let tool_ok = !tool.is_empty()
        && tool
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let hex_ok = hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    if tool_ok && hex_ok {
        Ok(key(tool, id))
    } else {
        Err(malformed())
    }
}

fn key(tool: &str, id: &str) -> String {
    format!("{tool}#approval#{id}")
}

/// The person behind an IAM ARN: a user's name, or an assumed-role session's name (the same
/// person in two roles is one person). Lowercased.
pub fn arn_person(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_lowercase()
}

/// The person behind a caller, as [`ApprovalRequest::caller_person`] holds it: empty when the
/// caller is unknown.
pub fn caller_person(caller: Option<&Principal>) -> String {
    caller.map(principal_person).unwrap_or_default()
}

/// The arguments an approval binds: all but [`APPROVAL_ARGUMENT`].
pub fn bound_arguments(arguments: &Value) -> Value {
    match arguments {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(name, _)| name.as_str() != APPROVAL_ARGUMENT)
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The person behind a caller: an OAuth caller's `sub`, an IAM caller's [`arn_person`].
fn principal_person(principal: &Principal) -> String {
    match principal {
        Principal::OAuthUser { id, .. } => id.to_lowercase(),
        Principal::IamEntity { id } => arn_person(id),
    }
}

/// Whether the approver (an IAM ARN) is the person the request's call was made by. Errs on
/// the side of "the same": a coincidental name is refused, never a real self-approval let by.
pub fn same_person(request: &ApprovalRequest, approver_arn: &str) -> bool {
    !request.caller_person.is_empty() && request.caller_person == arn_person(approver_arn)
}

/// `role `R`` or `no role`, for messages.
fn in_role(role: &str) -> String {
    if role.is_empty() {
        "no role".to_owned()
    } else {
        format!("role `{role}`")
    }
}

/// 128 random bits as 32 hex digits: an id nobody guesses.
fn random_hex() -> String {
    let mut bytes = [0_u8; 16];
    // INVARIANT: the system's random source does not fail on supported platforms; if it ever
    // did, the zero id collides with the first and `record`'s condition refuses it.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
