//! The request path: who asks (as AWS verified them) → what they ask → the request as
//! recorded → for a decision: not their own call, still pending, the policies' say for an
//! approval, the audit record, then the one conditional write. Every request ends in one
//! [`EndpointRecord`].

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use guard::{ControlAction, ControlRecord, Guard, GuardConfig};
use lambda_host::{Diagnostic, Incoming};
use oversight::{
    ApprovalError, ApprovalRequest, Approvals, Status, Verdict, may_approve, same_person,
};
use serde_json::{Value, json};

use crate::{
    answer::{Refusal, Response},
    audit::{EndpointRecord, Journal, Outcome, Stdout},
    event::{self, Ask},
};

/// How long one attempt of a DynamoDB call may take, and the call with its retries: well
/// inside the function's timeout, so a slow table is a clear 500 rather than a killed
/// invocation.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// Why the endpoint cannot reach the approvals at all: every request is refused (500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misconfigured {
    /// `BUDGET_TABLE` is not set.
    #[error("BUDGET_TABLE is not set: the approval requests are kept in the budget table")]
    NoTable,
}

/// The approval endpoint: the approvals, the policies that say who may approve, and where the
/// audit lines go.
pub struct Endpoint {
    approvals: Result<Approvals, Misconfigured>,
    guard: Guard,
    journal: Arc<dyn Journal>,
}

/// A request served: what became of it, and the answer.
struct Served {
    outcome: Outcome,
    body: Value,
}

impl Endpoint {
    /// The endpoint over `approvals`, asking `guard`'s policies who may approve, auditing to
    /// `journal`.
    pub fn new(
        approvals: Result<Approvals, Misconfigured>,
        guard: Guard,
        journal: Arc<dyn Journal>,
    ) -> Self {
        Self {
            approvals,
            guard,
            journal,
        }
    }

    /// The endpoint of the Lambda function: the policies loaded as the tools load theirs
    /// (`GuardConfig` from the environment, the policies compiled in), the approvals in
    /// `BUDGET_TABLE`, audit lines to standard output.
    pub async fn from_env() -> Self {
        let lookup = |name: &str| std::env::var(name).ok();
        let (config, warnings) = GuardConfig::from_lookup(lookup);
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        let guard = Guard::from_config(&config);
        let sdk = sdk_config().await;
        let approvals = lookup(budget::TABLE_VAR)
            .filter(|table| !table.trim().is_empty())
            .map(|table| Approvals::new(aws_sdk_dynamodb::Client::new(&sdk), table))
            .ok_or(Misconfigured::NoTable);
        if let Err(e) = &approvals {
            tracing::error!(error = %e, "every request is refused");
        }
        Self::new(approvals, guard, Arc::new(Stdout))
    }

    /// Answers one invocation. Never an invocation error: a function URL would turn it into a
    /// bare 502, so even an unreadable invocation gets a refusal and a record.
    pub async fn answer(&self, incoming: Incoming) -> Result<Response, Diagnostic> {
        match incoming {
            Incoming::Event(event) => Ok(self.handle(&event.payload).await),
            Incoming::Malformed(malformed) => {
                // Lambda builds function URL events itself: one it cannot read came from a
                // direct invoke, and names nobody AWS verified.
                tracing::warn!(error = %malformed.error, "unreadable invocation refused");
                let refusal = Refusal::Unauthenticated;
                self.record(refused(
                    EndpointRecord::new(Outcome::Refused, 0, ""),
                    &refusal,
                ));
                Ok(Response::refused(&refusal))
            }
        }
    }

    /// Answers one function URL event, and records what became of it.
    pub async fn handle(&self, event: &Value) -> Response {
        let mut record = EndpointRecord::new(Outcome::Refused, 0, "");
        record.method = event::method(event).map(event::shortened);
        match self.serve(event, &mut record).await {
            Ok(served) => {
                let response = Response::json(200, &served.body);
                record.outcome = served.outcome;
                record.status = 200;
                record.message = served
                    .body
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                self.record(record);
                response
            }
            Err(refusal) => {
                self.record(refused(record, &refusal));
                Response::refused(&refusal)
            }
        }
    }

    async fn serve(&self, event: &Value, record: &mut EndpointRecord) -> Result<Served, Refusal> {
        let by = event::approver(event)?;
        record.by = Some(by.to_owned());
        let ask = event::ask(event)?;
        record.request = Some(ask.id().to_owned());
        let approvals = self
            .approvals
            .as_ref()
            .map_err(|e| Refusal::Misconfigured(e.to_string()))?;
        match ask {
            Ask::Show { id } => show(approvals, by, &id).await,
            Ask::Decide { id, verdict } => {
                record.decision = Some(word(verdict));
                self.decide(approvals, by, &id, verdict).await
            }
        }
    }

    /// A decision by `by`: refused for their own call, for a request no longer pending, and
    /// (an approval) when the policies would not let the call run on it; then its audit record,
    /// then the write, whose condition checks all of it again.
    async fn decide(
        &self,
        approvals: &Approvals,
        by: &str,
        id: &str,
        verdict: Verdict,
    ) -> Result<Served, Refusal> {
        let request = approvals.read(id).await?;
        if same_person(&request, by) {
            return Err(ApprovalError::SelfApproval {
                id: request.id,
                approver: by.to_owned(),
                caller: request.caller,
            }
            .into());
        }
        let now = SystemTime::now();
        pending(&request, now)?;
        if verdict == Verdict::Approve {
            may_approve(&self.guard, &request, by)?;
        }
        let action = match verdict {
            Verdict::Approve => ControlAction::Approve,
            Verdict::Reject => ControlAction::Reject,
        };
        let control = ControlRecord::new(action, by).request(&request.id);
        self.journal
            .write(&control.line())
            .map_err(|e| Refusal::Audit(e.to_string()))?;
        let decided = approvals.decide(&request.id, by, verdict, now).await?;
        let next = match verdict {
            Verdict::Approve => {
                "the agent may now call the tool again naming this request, once, before it expires"
            }
            Verdict::Reject => "the call will not run",
        };
        Ok(Served {
            outcome: Outcome::Decided,
            body: json!({
                "request": decided.id,
                "decision": word(verdict),
                "status": status_name(&decided.status),
                "decided_by": by,
                "message": format!("{} is now {}; {next}", decided.id, status_words(&decided.status)),
            }),
        })
    }

    /// Writes `record`. A failure is logged and the answer stands: what it records has
    /// happened (a decision's own audit record was written before it).
    fn record(&self, record: EndpointRecord) {
        if let Err(e) = self.journal.write(&record.line()) {
            tracing::error!(error = %e, "an endpoint record could not be written");
        }
    }
}

/// The summary of request `id`, so the approver reads what they decide, and who the endpoint
/// takes them for (`asked_by`): the identity a decision of theirs would be recorded as.
async fn show(approvals: &Approvals, by: &str, id: &str) -> Result<Served, Refusal> {
    let request = approvals.read(id).await?;
    let decided_by = match &request.status {
        Status::Pending => None,
        Status::Approved { by } | Status::Rejected { by } | Status::Used { by } => Some(by),
    };
    Ok(Served {
        outcome: Outcome::Shown,
        body: json!({
            "request": request.id,
            "tool": request.tool,
            "status": status_name(&request.status),
            "decided_by": decided_by,
            "expires_at": request.expires_at,
            "summary": request.summary(),
            "asked_by": by,
            "message": format!(
                "approval request {} is {}",
                request.id,
                status_words(&request.status)
            ),
        }),
    })
}

/// Whether `request` can still be decided at `now`: pending and unexpired. Asked before the
/// audit record, so a record says "approve" only of a request that could be approved; the
/// write asks again.
fn pending(request: &ApprovalRequest, now: SystemTime) -> Result<(), ApprovalError> {
    if request.status != Status::Pending {
        return Err(ApprovalError::Status {
            id: request.id.clone(),
            status: status_words(&request.status),
            action: "decided again",
        });
    }
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    if request.expires_at <= now {
        return Err(ApprovalError::Expired(request.id.clone()));
    }
    Ok(())
}

fn refused(mut record: EndpointRecord, refusal: &Refusal) -> EndpointRecord {
    record.outcome = Outcome::Refused;
    record.status = refusal.status();
    record.error = Some(refusal.kind());
    record.message = refusal.to_string();
    record
}

fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Approve => "approve",
        Verdict::Reject => "reject",
    }
}

/// `pending`, `approved`, `rejected` or `used` (oversight keeps its own spelling private).
fn status_name(status: &Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Approved { .. } => "approved",
        Status::Rejected { .. } => "rejected",
        Status::Used { .. } => "used",
    }
}

fn status_words(status: &Status) -> String {
    match status {
        Status::Pending => "pending".to_owned(),
        Status::Approved { by } => format!("approved by `{by}`"),
        Status::Rejected { by } => format!("rejected by `{by}`"),
        Status::Used { by } => format!("already used (approved by `{by}`)"),
    }
}

/// The standard chain (region, credentials, `AWS_ENDPOINT_URL`), standard retries, and the
/// timeouts above.
async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

#[cfg(test)]
mod tests;
