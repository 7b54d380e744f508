//! Who may approve what is the policies' decision: the resource check's policies see a
//! person's approval as `context.approval` (who, in which role, whose call it was). The same
//! question is asked three times, of the same policies: by the tool, to tell a call that needs
//! a person from one that is simply denied ([`probe`]); before a person's answer is recorded
//! ([`may_approve`]); and by the tool again when the approved call runs ([`grant`]).

use guard::{Approval, Guard, Principal, RequestIds, ResourceFacts, ToolCall, ToolName};
use serde_json::Value;

use super::{ApprovalError, ApprovalRequest, arn_person};

/// `GUARD_APPROVER_ROLE`: the IAM role people approve in (the template's OperatorRole). The
/// tools name it when they ask for a person; the policies decide whether it is enough.
pub const APPROVER_ROLE_VAR: &str = "GUARD_APPROVER_ROLE";

/// The approver role the shipped policy names (policies/resource/approval.cedar).
pub const DEFAULT_APPROVER_ROLE: &str = "agent-guard-oncall";

/// Stands for "some person other than the caller" in [`probe`]: not a name a session or an
/// OAuth subject is given, so it never equals the caller's person.
const SOMEONE_ELSE: &str = "(a person in the approver role who is not the caller)";

/// The approval `approver_arn` (an IAM ARN, as STS reported it) gives a call made by
/// `caller_person`, as the policies see it.
pub fn grant(approver_arn: &str, caller_person: &str) -> Approval {
    Approval {
        approver: approver_arn.to_owned(),
        approver_person: arn_person(approver_arn),
        approver_role: arn_role(approver_arn).to_owned(),
        caller_person: caller_person.to_owned(),
    }
}

/// The approval of some person in `role` other than the caller: if the policies would allow
/// the call with it, the call needs a person rather than being denied.
pub fn probe(role: &str, caller_person: &str) -> Approval {
    Approval {
        approver: format!("(someone in role `{role}`)"),
        approver_person: SOMEONE_ELSE.to_owned(),
        approver_role: role.to_owned(),
        caller_person: caller_person.to_owned(),
    }
}

/// Whether the policies in `guard` would let `request`'s call run on `approver_arn`'s
/// approval; asked before the answer is recorded, so an approval the policies would not honour
/// is refused at once rather than when the agent calls again. Not audited here: the approver's
/// answer has its own audit record.
pub fn may_approve(
    guard: &Guard,
    request: &ApprovalRequest,
    approver_arn: &str,
) -> Result<(), ApprovalError> {
    let malformed = |what: &str| ApprovalError::Malformed {
        id: request.id.clone(),
        what: format!("`{what}` does not read back"),
    };
    let arguments: Value =
        serde_json::from_str(&request.arguments).map_err(|_| malformed("arguments"))?;
    let caller: Option<Principal> =
        serde_json::from_str(&request.caller).map_err(|_| malformed("caller"))?;
    let resource: ResourceFacts =
        serde_json::from_str(&request.resource).map_err(|_| malformed("resource"))?;
    // The resource check asks about the tool part of the name only.
    let tool = ToolName::join("approval", &request.tool);
    let call = ToolCall {
        tool: &tool,
        input: &arguments,
        principal: caller.as_ref(),
        ids: &RequestIds::default(),
    };
    let approval = grant(approver_arn, &request.caller_person);
    if guard.would_allow(&call, &resource, Some(&approval)) {
        Ok(())
    } else {
        Err(ApprovalError::NotAnApprover {
            id: request.id.clone(),
            approver: approver_arn.to_owned(),
            role: approval.approver_role,
        })
    }
}

/// The role of an assumed-role ARN (`arn:aws:sts::1:assumed-role/ROLE/session`); empty for
/// anything else (an IAM user approves in no role).
fn arn_role(arn: &str) -> &str {
    arn.split_once(":assumed-role/")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(role, _)| role)
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::SystemTime};

    use guard::{GuardConfig, NoAudit, PolicySources};
    use serde_json::json;

    use super::*;
    use crate::Call;

    fn shipped() -> Guard {
        let config = GuardConfig {
            gateway_arn: Some(guard::EXAMPLE_GATEWAY_ARN.to_owned()),
            ..GuardConfig::default()
        };
        Guard::new(&PolicySources::embedded(), &config, Arc::new(NoAudit))
    }

    fn production_restart_by(caller: &str) -> ApprovalRequest {
        let principal = Principal::OAuthUser {
            id: caller.to_owned(),
            tags: [
                ("cognito:groups".to_owned(), r#"["oncall"]"#.to_owned()),
                ("scope".to_owned(), "devops".to_owned()),
            ]
            .into_iter()
            .collect(),
        };
        let resource = ResourceFacts::new(
            "Guard::EcsService",
            "arn:aws:ecs:us-east-1:1:service/production-cluster/api-gateway",
        )
        .attribute("name", "api-gateway")
        .attribute("cluster", "production-cluster")
        .attribute("status", "ACTIVE")
        .tags([("Environment".to_owned(), "production".to_owned())]);
        let arguments = json!({"environment": "production", "service": "api-gateway"});
        let call = Call {
            tool: "restart_service",
            arguments: &arguments,
            caller: Some(&principal),
            resource: &resource,
        };
        ApprovalRequest::new(&call, "on-call", "production", SystemTime::now())
    }

    #[test]
    fn the_shipped_policies_honour_an_on_call_approval_and_no_other() {
        let guard = shipped();
        let request = production_restart_by("agent-7");
        let oncall = "arn:aws:sts::1:assumed-role/agent-guard-oncall/alice";
        assert_eq!(may_approve(&guard, &request, oncall), Ok(()));
        for other in [
            "arn:aws:sts::1:user/moto",
            "arn:aws:iam::1:user/alice",
            "arn:aws:sts::1:assumed-role/agent-guard-admin/alice",
            "arn:aws:sts::1:assumed-role/agent-guard-oncall/agent-7",
        ] {
            assert!(
                matches!(
                    may_approve(&guard, &request, other),
                    Err(ApprovalError::NotAnApprover { .. })
                ),
                "{other}"
            );
        }
    }

    #[test]
    fn an_assumed_role_approves_in_its_role_and_a_user_in_none() {
        let a = grant(
            "arn:aws:sts::1:assumed-role/agent-guard-oncall/Alice",
            "devops-agent",
        );
        assert_eq!(a.approver_role, "agent-guard-oncall");
        assert_eq!(a.approver_person, "alice");
        let u = grant("arn:aws:iam::1:user/bob", "devops-agent");
        assert_eq!(
            (u.approver_role.as_str(), u.approver_person.as_str()),
            ("", "bob")
        );
    }

    #[test]
    fn the_probe_is_never_the_callers_own_person() {
        let p = probe("agent-guard-oncall", "alice");
        assert_ne!(p.approver_person, p.caller_person);
        assert_eq!(p.approver_role, "agent-guard-oncall");
    }
}
