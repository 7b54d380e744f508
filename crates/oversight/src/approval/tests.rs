use std::collections::HashMap;

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use aws_sdk_dynamodb::{
    operation::{
        get_item::GetItemOutput,
        update_item::{UpdateItemError, UpdateItemOutput},
    },
    types::error::ConditionalCheckFailedException,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use budget::ledger::{EXPIRES_AT, KEY};

use super::*;

fn service(environment: &str) -> ResourceFacts {
    ResourceFacts::new(
        "Guard::EcsService",
        "arn:aws:ecs:us-east-1:1:service/prod/api",
    )
    .attribute("status", "ACTIVE")
    .tags([("environment".to_owned(), environment.to_owned())])
}

fn alice() -> Principal {
    Principal::IamEntity {
        id: "arn:aws:sts::111122223333:assumed-role/agent-callers/alice".to_owned(),
    }
}

fn request(arguments: &Value, caller: &Principal, resource: &ResourceFacts) -> ApprovalRequest {
    let call = Call {
        tool: "restart_service",
        arguments,
        caller: Some(caller),
        resource,
    };
    ApprovalRequest::new(
        &call,
        "the on-call group",
        "production restarts need a person",
        SystemTime::now(),
    )
}

/// The item `request` is stored as, in `status` (decided by `by`).
fn item(request: &ApprovalRequest, status: &str, by: &str) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: u64| AttributeValue::N(v.to_string());
    HashMap::from([
        (KEY.to_owned(), s(&request.key())),
        (TOOL.to_owned(), s(&request.tool)),
        (ARGUMENTS.to_owned(), s(&request.arguments)),
        (CALLER.to_owned(), s(&request.caller)),
        (CALLER_PERSON.to_owned(), s(&request.caller_person)),
        (RESOURCE.to_owned(), s(&request.resource)),
        (DIGEST.to_owned(), s(&request.digest)),
        (APPROVERS.to_owned(), s(&request.approvers)),
        (WHY.to_owned(), s(&request.why)),
        (CREATED_AT.to_owned(), n(request.created_at)),
        (EXPIRES_AT.to_owned(), n(request.expires_at)),
        (STATUS.to_owned(), s(status)),
        (DECIDED_BY.to_owned(), s(by)),
    ])
}

fn condition_failed() -> Rule {
    mock!(Client::update_item).then_error(|| {
        UpdateItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .build(),
        )
    })
}

fn stored(item: HashMap<String, AttributeValue>) -> Rule {
    mock!(Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .set_item(Some(item.clone()))
            .build()
    })
}

#[test]
fn the_digest_binds_the_tool_the_arguments_the_caller_and_the_resource_as_read() {
    let arguments = json!({"environment": "production", "service": "api"});
    let base = request(&arguments, &alice(), &service("production"));
    let reordered: Value =
        serde_json::from_str(r#"{"service":"api","environment":"production"}"#).unwrap();
    assert_eq!(
        request(&reordered, &alice(), &service("production")).digest,
        base.digest,
        "key order is not a change"
    );
    let bob = Principal::IamEntity {
        id: "arn:aws:sts::111122223333:assumed-role/agent-callers/bob".to_owned(),
    };
    let changes = [
        request(
            &json!({"environment": "production", "service": "web"}),
            &alice(),
            &service("production"),
        ),
        request(&arguments, &bob, &service("production")),
        request(&arguments, &alice(), &service("staging")),
    ];
    for changed in changes {
        assert_ne!(changed.digest, base.digest);
    }
    assert_ne!(
        request(&arguments, &alice(), &service("production")).id,
        base.id,
        "every request has its own id"
    );
    assert!(request_key(&base.id).is_ok(), "{}", base.id);
    assert_eq!(base.expires_at - base.created_at, 15 * 60);
}

#[test]
fn only_well_formed_ids_name_a_key() {
    for bad in [
        "",
        "restart_service",
        "restart_service-xyz",
        "Restart-0123456789abcdef0123456789abcdef",
        "a#b-0123456789abcdef0123456789abcdef",
        "terminate_instance#approval#x-0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(
            request_key(bad),
            Err(ApprovalError::MalformedId(bad.to_owned())),
            "{bad}"
        );
    }
    assert_eq!(
        request_key("restart_service-0123456789abcdef0123456789abcdef").unwrap(),
        "restart_service#approval#restart_service-0123456789abcdef0123456789abcdef"
    );
}

#[test]
fn the_caller_in_another_role_is_the_same_person() {
    let r = request(&json!({}), &alice(), &service("production"));
    assert!(same_person(
        &r,
        "arn:aws:sts::111122223333:assumed-role/oncall/alice"
    ));
    assert!(same_person(&r, "arn:aws:iam::111122223333:user/Alice"));
    assert!(!same_person(
        &r,
        "arn:aws:sts::111122223333:assumed-role/oncall/bob"
    ));
    let oauth = Principal::OAuthUser {
        id: "carol".to_owned(),
        tags: std::collections::BTreeMap::new(),
    };
    let r = request(&json!({}), &oauth, &service("production"));
    assert!(same_person(&r, "arn:aws:iam::111122223333:user/carol"));
}

#[test]
fn the_summary_says_what_to_what_why_and_the_next_step() {
    let r = request(
        &json!({"environment": "production", "service": "api"}),
        &alice(),
        &service("production"),
    );
    let summary = r.summary();
    for part in [
        r.id.as_str(),
        "`restart_service`",
        r#"{"environment":"production","service":"api"}"#,
        "service/prod/api",
        "alice",
        "production restarts need a person",
        "never the caller",
        "guard approve",
    ] {
        assert!(summary.contains(part), "{part}: {summary}");
    }
}

#[tokio::test]
async fn a_self_approval_is_refused_by_the_write_itself() {
    let r = request(&json!({}), &alice(), &service("production"));
    let update = condition_failed();
    let get = stored(item(&r, "pending", ""));
    let approvals = Approvals::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update, &get]),
        "t",
    );
    let me = "arn:aws:sts::111122223333:assumed-role/oncall/alice";
    let e = approvals
        .decide(&r.id, me, Verdict::Approve, SystemTime::now())
        .await
        .unwrap_err();
    assert!(matches!(e, ApprovalError::SelfApproval { .. }), "{e}");
    assert_eq!(
        update.num_calls(),
        1,
        "the condition, not the client, refused it"
    );
}

#[tokio::test]
async fn an_approval_decides_a_pending_request_once() {
    let r = request(&json!({}), &alice(), &service("production"));
    let approved = item(&r, "approved", "arn:aws:iam::1:user/bob");
    let update = mock!(Client::update_item)
        .match_requests(|u| {
            u.condition_expression()
                .is_some_and(|c| c.contains("#s = :pending") && c.contains("#cp <> :person"))
        })
        .then_output(move || {
            UpdateItemOutput::builder()
                .set_attributes(Some(approved.clone()))
                .build()
        });
    let approvals = Approvals::new(mock_client!(aws_sdk_dynamodb, [&update]), "t");
    let decided = approvals
        .decide(
            &r.id,
            "arn:aws:iam::1:user/bob",
            Verdict::Approve,
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        decided.status,
        Status::Approved {
            by: "arn:aws:iam::1:user/bob".to_owned()
        }
    );
}

#[tokio::test]
async fn a_second_use_and_a_changed_resource_are_refused_and_say_why() {
    let arguments = json!({"environment": "production", "service": "api"});
    let r = request(&arguments, &alice(), &service("production"));
    let caller = alice();
    for (status, resource, expected) in [
        ("used", service("production"), "already used"),
        (
            "approved",
            service("staging"),
            "the resource as read differs",
        ),
        ("rejected", service("production"), "rejected by"),
    ] {
        let update = condition_failed();
        let get = stored(item(&r, status, "arn:aws:iam::1:user/bob"));
        let approvals = Approvals::new(
            mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update, &get]),
            "t",
        );
        let call = Call {
            tool: "restart_service",
            arguments: &arguments,
            caller: Some(&caller),
            resource: &resource,
        };
        let e = approvals
            .consume(&r.id, &call, SystemTime::now())
            .await
            .unwrap_err();
        assert!(e.to_string().contains(expected), "{status}: {e}");
    }
}

#[tokio::test]
async fn an_expired_approval_is_refused() {
    let arguments = json!({});
    let mut r = request(&arguments, &alice(), &service("production"));
    r.expires_at = r.created_at.saturating_sub(1);
    let update = condition_failed();
    let get = stored(item(&r, "approved", "arn:aws:iam::1:user/bob"));
    let approvals = Approvals::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update, &get]),
        "t",
    );
    let caller = alice();
    let resource = service("production");
    let call = Call {
        tool: "restart_service",
        arguments: &arguments,
        caller: Some(&caller),
        resource: &resource,
    };
    let e = approvals
        .consume(&r.id, &call, SystemTime::now())
        .await
        .unwrap_err();
    assert_eq!(e, ApprovalError::Expired(r.id.clone()));
}
