//! The requests in the table: recorded, read, decided and consumed, each a single DynamoDB
//! call; a decision and a consumption are conditional writes, so the table itself refuses a
//! second use, a late answer or a self-approval, whoever writes.

use std::{collections::HashMap, time::SystemTime};

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, SdkError},
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue},
};
use budget::ledger::{EXPIRES_AT, KEY, SLOT};
use serde_json::json;

use super::{
    APPROVERS, ARGUMENTS, ApprovalError, ApprovalRequest, CALLER, CALLER_PERSON, CREATED_AT, Call,
    DECIDED_AT, DECIDED_BY, DIGEST, RESOURCE, STATUS, Status, TOOL, USED_AT, Verdict, WHY,
    arn_person, epoch, request_key, same_person,
};

/// The approval requests in the budget table.
#[derive(Debug, Clone)]
pub struct Approvals {
    client: Client,
    table: String,
}

impl Approvals {
    /// Requests in table `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Records a new request, pending.
    pub async fn record(&self, request: &ApprovalRequest) -> Result<(), ApprovalError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: u64| AttributeValue::N(v.to_string());
        self.client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(&request.key()))
            .item(SLOT, n(0))
            .item(TOOL, s(&request.tool))
            .item(ARGUMENTS, s(&request.arguments))
            .item(CALLER, s(&request.caller))
            .item(CALLER_PERSON, s(&request.caller_person))
            .item(RESOURCE, s(&request.resource))
            .item(DIGEST, s(&request.digest))
            .item(APPROVERS, s(&request.approvers))
            .item(WHY, s(&request.why))
            .item(CREATED_AT, n(request.created_at))
            // Also the table's TTL: swept some time after it expires (never relied on).
            .item(EXPIRES_AT, n(request.expires_at))
            .item(STATUS, s(Status::Pending.name()))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await
            .map_err(|e| self.error("dynamodb:PutItem", &e))?;
        Ok(())
    }

    /// Request `id`, as recorded now.
    pub async fn read(&self, id: &str) -> Result<ApprovalRequest, ApprovalError> {
        let key = request_key(id)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key))
            .key(SLOT, AttributeValue::N("0".to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("dynamodb:GetItem", &e))?;
        let item = out
            .item()
            .ok_or_else(|| ApprovalError::NotFound(id.to_owned()))?;
        from_item(id, item)
    }

    /// Records `approver`'s `verdict` on request `id` at `now`: only a pending, unexpired
    /// request, never by the caller's own person, in one conditional write.
    pub async fn decide(
        &self,
        id: &str,
        approver: &str,
        verdict: Verdict,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let key = request_key(id)?;
        let status = match verdict {
            Verdict::Approve => "approved",
            Verdict::Reject => "rejected",
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key))
            .key(SLOT, AttributeValue::N("0".to_owned()))
            .update_expression("SET #s = :decided, #by = :by, #at = :now")
            .condition_expression(
                "attribute_exists(#k) AND #s = :pending AND #e > :now AND #cp <> :person",
            )
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_names("#by", DECIDED_BY)
            .expression_attribute_names("#at", DECIDED_AT)
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#cp", CALLER_PERSON)
            .expression_attribute_values(":decided", AttributeValue::S(status.to_owned()))
            .expression_attribute_values(":by", AttributeValue::S(approver.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(epoch(now).to_string()))
            .expression_attribute_values(":pending", AttributeValue::S("pending".to_owned()))
            .expression_attribute_values(":person", AttributeValue::S(arn_person(approver)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => from_item(id, out.attributes().unwrap_or(&HashMap::new())),
            Err(e) if refused(&e) => Err(why_not_decided(self.read(id).await?, approver, now)),
            Err(e) => Err(self.error("dynamodb:UpdateItem", &e)),
        }
    }

    /// Uses approval `id` for `call` at `now`, once: approved, unexpired, unused, and bound to
    /// the same tool, arguments, caller and resource state. `Ok` with the request as used;
    /// otherwise why not.
    pub async fn consume(
        &self,
        id: &str,
        call: &Call<'_>,
        now: SystemTime,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let key = request_key(id)?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key))
            .key(SLOT, AttributeValue::N("0".to_owned()))
            .update_expression("SET #s = :used, #u = :now")
            .condition_expression("#s = :approved AND #e > :now AND #d = :digest")
            .expression_attribute_names("#s", STATUS)
            .expression_attribute_names("#u", USED_AT)
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_names("#d", DIGEST)
            .expression_attribute_values(":used", AttributeValue::S("used".to_owned()))
            .expression_attribute_values(":approved", AttributeValue::S("approved".to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(epoch(now).to_string()))
            .expression_attribute_values(":digest", AttributeValue::S(call.digest()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update {
            Ok(out) => from_item(id, out.attributes().unwrap_or(&HashMap::new())),
            Err(e) if refused(&e) => Err(why_not_used(self.read(id).await?, call, now)),
            Err(e) => Err(self.error("dynamodb:UpdateItem", &e)),
        }
    }

    fn error<E, R>(&self, action: &'static str, e: &SdkError<E, R>) -> ApprovalError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        ApprovalError::Table {
            table: self.table.clone(),
            action,
            message: DisplayErrorContext(e).to_string(),
        }
    }
}

/// Whether the write's condition failed: then the request, read again, says why.
fn refused<R>(e: &SdkError<UpdateItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

fn why_not_decided(request: ApprovalRequest, approver: &str, now: SystemTime) -> ApprovalError {
    if same_person(&request, approver) {
        return ApprovalError::SelfApproval {
            id: request.id,
            approver: approver.to_owned(),
            caller: request.caller,
        };
    }
    if request.status != Status::Pending {
        return ApprovalError::Status {
            id: request.id,
            status: request.status.words(),
            action: "decided again",
        };
    }
    if request.expires_at <= epoch(now) {
        return ApprovalError::Expired(request.id);
    }
    ApprovalError::Status {
        id: request.id,
        status: request.status.words(),
        action: "decided",
    }
}

/// Whether `request` may be used for `call` at `now` as it was read: approved, unexpired, and
/// bound to the same tool, arguments, caller and resource state. The tool asks before its
/// checks, to refuse early and say why; [`Approvals::consume`] asks again, atomically.
pub fn usable(
    request: &ApprovalRequest,
    call: &Call<'_>,
    now: SystemTime,
) -> Result<(), ApprovalError> {
    let bound = matches!(request.status, Status::Approved { .. })
        && request.expires_at > epoch(now)
        && request.digest == call.digest();
    if bound {
        Ok(())
    } else {
        Err(why_not_used(request.clone(), call, now))
    }
}

fn why_not_used(request: ApprovalRequest, call: &Call<'_>, now: SystemTime) -> ApprovalError {
    if !matches!(request.status, Status::Approved { .. }) {
        return ApprovalError::Status {
            id: request.id,
            status: request.status.words(),
            action: "used",
        };
    }
    if request.expires_at <= epoch(now) {
        return ApprovalError::Expired(request.id);
    }
    let mut what = Vec::new();
    if request.tool != call.tool {
        what.push("the tool");
    }
    if request.arguments != caller::canonical_json(call.arguments) {
        what.push("the arguments");
    }
    if request.caller != caller::canonical_json(&json!(call.caller)) {
        what.push("the caller");
    }
    if request.resource != caller::canonical_json(&json!(call.resource)) {
        what.push("the resource as read");
    }
    if what.is_empty() {
        what.push("the digest");
    }
    ApprovalError::Changed {
        id: request.id,
        what: what.join(" and "),
    }
}

fn from_item(
    id: &str,
    item: &HashMap<String, AttributeValue>,
) -> Result<ApprovalRequest, ApprovalError> {
    let missing = |what: &str| ApprovalError::Malformed {
        id: id.to_owned(),
        what: format!("`{what}` is missing or unreadable"),
    };
    let text = |name: &str| -> Result<String, ApprovalError> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| missing(name))
    };
    let number = |name: &str| -> Result<u64, ApprovalError> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| missing(name))
    };
    let by = || text(DECIDED_BY);
    let status = match text(STATUS)?.as_str() {
        "pending" => Status::Pending,
        "approved" => Status::Approved { by: by()? },
        "rejected" => Status::Rejected { by: by()? },
        "used" => Status::Used { by: by()? },
        _ => return Err(missing(STATUS)),
    };
    Ok(ApprovalRequest {
        id: id.to_owned(),
        tool: text(TOOL)?,
        arguments: text(ARGUMENTS)?,
        caller: text(CALLER)?,
        caller_person: text(CALLER_PERSON)?,
        resource: text(RESOURCE)?,
        digest: text(DIGEST)?,
        approvers: text(APPROVERS)?,
        why: text(WHY)?,
        created_at: number(CREATED_AT)?,
        expires_at: number(EXPIRES_AT)?,
        status,
    })
}
