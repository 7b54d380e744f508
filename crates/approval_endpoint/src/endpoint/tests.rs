use std::{collections::HashMap, sync::Arc, time::SystemTime};

use aws_sdk_dynamodb::{
    Client,
    operation::{get_item::GetItemOutput, update_item::UpdateItemOutput},
    types::AttributeValue,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use base64::Engine;
use budget::ledger::{EXPIRES_AT, KEY, SLOT};
use guard::{NoAudit, PolicySources, Principal, ResourceFacts};
use lambda_host::{Context, LambdaEvent};
use oversight::Call;

use super::*;
use crate::audit::MemoryJournal;

const ONCALL_ALICE: &str = "arn:aws:sts::123456789012:assumed-role/agent-guard-oncall/alice";
const IAM_USER_BOB: &str = "arn:aws:iam::123456789012:user/bob";
/// The agent whose call is waiting, in the on-call role: the same person.
const ONCALL_AGENT: &str = "arn:aws:sts::123456789012:assumed-role/agent-guard-oncall/devops-agent";

fn production_service() -> ResourceFacts {
    ResourceFacts::new(
        "Guard::EcsService",
        "arn:aws:ecs:us-east-1:123456789012:service/production-cluster/api-gateway",
    )
    .attribute("name", "api-gateway")
    .attribute("cluster", "production-cluster")
    .attribute("status", "ACTIVE")
    .tags([("environment".to_owned(), "production".to_owned())])
}

/// A production restart by `devops-agent`, waiting for a person.
fn waiting() -> ApprovalRequest {
    let agent = Principal::OAuthUser {
        id: "devops-agent".to_owned(),
        tags: std::collections::BTreeMap::new(),
    };
    let call = Call {
        tool: "restart_service",
        arguments: &json!({"environment": "production", "service": "api-gateway"}),
        caller: Some(&agent),
        resource: &production_service(),
    };
    ApprovalRequest::new(
        &call,
        "someone in role `agent-guard-oncall` who is not the caller",
        "production restarts need a person",
        SystemTime::now(),
    )
}

/// The item `request` is stored as (crates/oversight's attribute names), in `status`.
fn item(request: &ApprovalRequest, status: &str, by: &str) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: u64| AttributeValue::N(v.to_string());
    HashMap::from([
        (
            KEY.to_owned(),
            s(&format!("{}#approval#{}", request.tool, request.id)),
        ),
        (SLOT.to_owned(), n(0)),
        ("tool".to_owned(), s(&request.tool)),
        ("arguments".to_owned(), s(&request.arguments)),
        ("caller".to_owned(), s(&request.caller)),
        ("caller_person".to_owned(), s(&request.caller_person)),
        ("resource".to_owned(), s(&request.resource)),
        ("digest".to_owned(), s(&request.digest)),
        ("approvers".to_owned(), s(&request.approvers)),
        ("why".to_owned(), s(&request.why)),
        ("created_at".to_owned(), n(request.created_at)),
        (EXPIRES_AT.to_owned(), n(request.expires_at)),
        ("status".to_owned(), s(status)),
        ("decided_by".to_owned(), s(by)),
    ])
}

fn stored(item: Option<HashMap<String, AttributeValue>>) -> Rule {
    mock!(Client::get_item)
        .then_output(move || GetItemOutput::builder().set_item(item.clone()).build())
}

/// The decision write, answered as DynamoDB would: the item as now decided by whoever the
/// write names.
fn decided(request: &ApprovalRequest, status: &'static str) -> Rule {
    let request = request.clone();
    mock!(Client::update_item).then_compute_output(move |input| {
        let by = input
            .expression_attribute_values()
            .and_then(|v| v.get(":by"))
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        UpdateItemOutput::builder()
            .set_attributes(Some(item(&request, status, &by)))
            .build()
    })
}

struct Bench {
    endpoint: Endpoint,
    journal: Arc<MemoryJournal>,
}

fn bench(rules: &[&Rule]) -> Bench {
    bench_with(rules, Arc::new(MemoryJournal::default()))
}

fn bench_with(rules: &[&Rule], journal: Arc<MemoryJournal>) -> Bench {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules);
    // The policies compiled in, as the function loads them (no gateway needed: who may approve
    // is a resource-check question).
    let guard = Guard::new(
        &PolicySources::embedded(),
        &GuardConfig::default(),
        Arc::new(NoAudit),
    );
    Bench {
        endpoint: Endpoint::new(
            Ok(Approvals::new(client, "budgets")),
            guard,
            journal.clone(),
        ),
        journal,
    }
}

/// A function URL event as Lambda builds it; `by` is the verified identity, if any.
fn url_event(method: &str, by: Option<&str>, query: Option<Value>, body: Option<&str>) -> Value {
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "abcdefghijklmnopqrstuvwxyz",
        "domainName": "abcdefghijklmnopqrstuvwxyz.lambda-url.us-east-1.on.aws",
        "http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                 "sourceIp": "192.0.2.1", "userAgent": "guard"},
        "requestId": "c0ffee00-0000-4000-8000-000000000000",
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Jan/2027:00:00:00 +0000",
        "timeEpoch": 1798761600000_u64,
    });
    if let Some(arn) = by {
        context["authorizer"] = json!({"iam": {
            "accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AROAEXAMPLE:x",
            "userArn": arn, "userId": "AROAEXAMPLE:x"}});
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false,
    })
}

fn post(by: Option<&str>, body: &str) -> Value {
    url_event("POST", by, None, Some(body))
}

fn get(by: Option<&str>, id: &str) -> Value {
    url_event("GET", by, Some(json!({"request": id})), None)
}

fn decision(id: &str, word: &str) -> String {
    json!({"request": id, "decision": word}).to_string()
}

/// The journal's `approval_endpoint` records.
fn records(journal: &MemoryJournal) -> Vec<Value> {
    journal
        .lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v.get("approval_endpoint").cloned())
        .collect()
}

fn control_records(journal: &MemoryJournal) -> Vec<ControlRecord> {
    journal
        .lines()
        .iter()
        .filter_map(|l| ControlRecord::from_line(l))
        .collect()
}

#[tokio::test]
async fn without_an_identity_aws_verified_nothing_is_read_or_written_and_the_refusal_is_audited() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let bench = bench(&[&get_rule, &update]);
    // A name in the body is no identity: only the function URL's authorizer context is.
    let forged = json!({"request": r.id, "decision": "approve", "by": ONCALL_ALICE}).to_string();
    for event in [
        post(None, &decision(&r.id, "approve")),
        post(None, &forged),
        get(None, &r.id),
        json!({"requestContext": {"authorizer": {"iam": {"userArn": ""}}}}),
        json!({"requestContext": {"authorizer": {"iam": {"userArn": "alice"}}}}),
        json!(null),
    ] {
        let response = bench.endpoint.handle(&event).await;
        assert_eq!(response.status_code, 403, "{event}");
        assert_eq!(response.body_json()["error"], "unauthenticated");
    }
    assert_eq!(get_rule.num_calls(), 0);
    assert_eq!(update.num_calls(), 0);
    let records = records(&bench.journal);
    assert_eq!(records.len(), 6);
    for record in &records {
        assert_eq!(record["outcome"], "refused");
        assert_eq!(record["status"], 403);
        assert!(record.get("by").is_none(), "{record}");
    }
    assert!(control_records(&bench.journal).is_empty());
}

#[tokio::test]
async fn an_unreadable_invocation_is_refused_and_audited() {
    let bench = bench(&[]);
    let malformed = lambda_host::Malformed {
        context: Context::default(),
        error: lambda_host::Malformation::NoDeadline,
    };
    let response = bench
        .endpoint
        .answer(Incoming::Malformed(malformed))
        .await
        .unwrap();
    assert_eq!(response.status_code, 403);
    assert_eq!(records(&bench.journal)[0]["error"], "unauthenticated");
    // A readable one goes the ordinary way.
    let event = LambdaEvent::new(get(None, "x"), Context::default());
    let response = bench.endpoint.answer(Incoming::Event(event)).await.unwrap();
    assert_eq!(response.status_code, 403);
}

#[tokio::test]
async fn bad_input_is_a_clear_400_and_nothing_is_read_or_written() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let bench = bench(&[&get_rule, &update]);
    let id = r.id.as_str();
    let me = Some(ONCALL_ALICE);
    let oversized = json!({"request": "x".repeat(2000), "decision": "approve"}).to_string();
    let cases = [
        (post(me, "not json"), "bad_body", "expected"),
        (post(me, ""), "bad_body", "EOF"),
        (
            post(me, &json!({"request": id}).to_string()),
            "bad_body",
            "missing field `decision`",
        ),
        (
            post(
                me,
                &json!({"request": id, "decision": "approve", "decided_by": ONCALL_ALICE})
                    .to_string(),
            ),
            "bad_body",
            "unknown field `decided_by`",
        ),
        (
            post(me, &decision(id, "maybe")),
            "bad_body",
            "unknown variant `maybe`",
        ),
        (
            post(me, &json!([id, "approve"]).to_string()),
            "bad_body",
            "exactly",
        ),
        (post(me, &oversized), "body_too_large", "1024 bytes"),
        (
            post(me, &decision(&"x".repeat(200), "approve")),
            "malformed_request_id",
            "128",
        ),
        (
            post(me, &decision("", "approve")),
            "no_request_id",
            "no approval request",
        ),
        (
            url_event(
                "POST",
                me,
                Some(json!({"request": id})),
                Some(&decision(id, "approve")),
            ),
            "unknown_parameter",
            "`request`",
        ),
        (
            url_event("GET", me, Some(json!({"request": id, "as": "bob"})), None),
            "unknown_parameter",
            "`as`",
        ),
        (
            url_event("GET", me, None, None),
            "no_request_id",
            "GET `?request=ID`",
        ),
        (
            base64_encoded(url_event("POST", me, None, Some("%%%"))),
            "bad_body",
            "base64",
        ),
        (
            json!({"requestContext": {"authorizer": {"iam": {"userArn": ONCALL_ALICE}}, "http": {"method": "GET"}}, "queryStringParameters": {"request": 7}}),
            "not_a_function_url_event",
            "function URL",
        ),
    ];
    let refused = cases.len();
    for (event, kind, says) in cases {
        let response = bench.endpoint.handle(&event).await;
        let body = response.body_json();
        assert_eq!(response.status_code, 400, "{kind}: {body}");
        assert_eq!(body["error"], kind, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{kind}: {message}");
    }
    let response = bench
        .endpoint
        .handle(&url_event("DELETE", me, None, None))
        .await;
    assert_eq!(response.status_code, 405);
    assert_eq!(get_rule.num_calls(), 0);
    assert_eq!(update.num_calls(), 0);
    let records = records(&bench.journal);
    assert_eq!(records.len(), refused + 1);
    assert!(
        records
            .iter()
            .all(|r| r["outcome"] == "refused" && r["by"] == ONCALL_ALICE)
    );
    // The oversized id is never echoed into a record.
    assert!(bench.journal.lines().iter().all(|l| l.len() < 1000));
}

/// `event` with its body marked base64-encoded, as Lambda sends a binary body.
fn base64_encoded(mut event: Value) -> Value {
    event["isBase64Encoded"] = json!(true);
    event
}

#[tokio::test]
async fn a_body_lambda_sent_base64_encoded_is_read() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "rejected");
    let bench = bench(&[&get_rule, &update]);
    let body = base64::engine::general_purpose::STANDARD.encode(decision(&r.id, "reject"));
    let event = base64_encoded(url_event("POST", Some(ONCALL_ALICE), None, Some(&body)));
    let response = bench.endpoint.handle(&event).await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn get_answers_the_one_screen_summary_and_the_status() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let bench = bench(&[&get_rule, &update]);
    let response = bench.endpoint.handle(&get(Some(ONCALL_ALICE), &r.id)).await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(
        response.headers.get("content-type"),
        Some(&"application/json")
    );
    let body = response.body_json();
    assert_eq!(body["summary"], r.summary());
    assert_eq!(body["status"], "pending");
    assert_eq!(body["request"], r.id.as_str());
    assert!(body["decided_by"].is_null());
    assert_eq!(body["asked_by"], ONCALL_ALICE);
    assert_eq!(update.num_calls(), 0);
    let records = records(&bench.journal);
    assert_eq!(records[0]["outcome"], "shown");
    assert_eq!(records[0]["by"], ONCALL_ALICE);
    assert_eq!(records[0]["request"], r.id.as_str());
}

#[tokio::test]
async fn an_unknown_request_is_404_and_a_malformed_id_400() {
    let get_rule = stored(None);
    let bench = bench(&[&get_rule]);
    let unknown = "restart_service-0123456789abcdef0123456789abcdef";
    let response = bench
        .endpoint
        .handle(&get(Some(ONCALL_ALICE), unknown))
        .await;
    assert_eq!(response.status_code, 404);
    assert_eq!(response.body_json()["error"], "not_found");
    let response = bench
        .endpoint
        .handle(&post(
            Some(ONCALL_ALICE),
            &decision("restart_service#x", "approve"),
        ))
        .await;
    assert_eq!(response.status_code, 400);
    assert_eq!(response.body_json()["error"], "malformed_request_id");
    assert_eq!(get_rule.num_calls(), 1);
}

#[tokio::test]
async fn nobody_decides_their_own_call() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let bench = bench(&[&get_rule, &update]);
    for word in ["approve", "reject"] {
        let response = bench
            .endpoint
            .handle(&post(Some(ONCALL_AGENT), &decision(&r.id, word)))
            .await;
        assert_eq!(response.status_code, 403);
        let body = response.body_json();
        assert_eq!(body["error"], "self_approval");
        assert!(body["message"].as_str().unwrap().contains("their own call"));
    }
    assert_eq!(update.num_calls(), 0);
    assert!(control_records(&bench.journal).is_empty());
    let records = records(&bench.journal);
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r["error"] == "self_approval" && r["by"] == ONCALL_AGENT)
    );
}

#[tokio::test]
async fn an_approver_the_policies_do_not_accept_is_refused_before_anything_is_written() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let bench = bench(&[&get_rule, &update]);
    // An IAM user approves in no role; the shipped policy asks for agent-guard-oncall.
    let response = bench
        .endpoint
        .handle(&post(Some(IAM_USER_BOB), &decision(&r.id, "approve")))
        .await;
    assert_eq!(response.status_code, 403);
    let body = response.body_json();
    assert_eq!(body["error"], "not_an_approver");
    assert!(
        body["message"].as_str().unwrap().contains("no role"),
        "{body}"
    );
    // Another role is no better.
    let other = "arn:aws:sts::123456789012:assumed-role/developers/carol";
    let response = bench
        .endpoint
        .handle(&post(Some(other), &decision(&r.id, "approve")))
        .await;
    assert_eq!(response.status_code, 403);
    assert_eq!(update.num_calls(), 0);
    assert!(control_records(&bench.journal).is_empty());
    assert_eq!(records(&bench.journal)[0]["error"], "not_an_approver");
}

#[tokio::test]
async fn an_approval_is_recorded_as_the_identity_aws_verified_after_its_audit_record() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let bench = bench(&[&get_rule, &update]);
    let response = bench
        .endpoint
        .handle(&post(Some(ONCALL_ALICE), &decision(&r.id, "approve")))
        .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    let body = response.body_json();
    assert_eq!(body["status"], "approved");
    assert_eq!(body["decided_by"], ONCALL_ALICE);
    // One write, naming the verified identity.
    assert_eq!(update.num_calls(), 1);
    let control = control_records(&bench.journal);
    assert_eq!(control.len(), 1);
    assert_eq!(control[0].action, ControlAction::Approve);
    assert_eq!(control[0].by, ONCALL_ALICE);
    assert_eq!(control[0].request.as_deref(), Some(r.id.as_str()));
    // The control record first, then the endpoint's record of the answer.
    let lines = bench.journal.lines();
    assert!(lines[0].starts_with(r#"{"guard_control":"#), "{lines:?}");
    let records = records(&bench.journal);
    assert_eq!(records[0]["outcome"], "decided");
    assert_eq!(records[0]["decision"], "approve");
}

#[tokio::test]
async fn the_write_names_the_verified_identity() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = mock!(Client::update_item)
        .match_requests(|input| {
            input
                .expression_attribute_values()
                .and_then(|v| v.get(":by"))
                == Some(&AttributeValue::S(ONCALL_ALICE.to_owned()))
        })
        .then_output({
            let item = item(&r, "approved", ONCALL_ALICE);
            move || {
                UpdateItemOutput::builder()
                    .set_attributes(Some(item.clone()))
                    .build()
            }
        });
    let bench = bench(&[&get_rule, &update]);
    let response = bench
        .endpoint
        .handle(&post(Some(ONCALL_ALICE), &decision(&r.id, "approve")))
        .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(update.num_calls(), 1);
}

/// A journal that cannot write control records.
#[derive(Default)]
struct NoControlRecords(MemoryJournal);

impl Journal for NoControlRecords {
    fn write(&self, line: &str) -> std::io::Result<()> {
        if line.starts_with(r#"{"guard_control""#) {
            Err(std::io::Error::other("stdout is closed"))
        } else {
            self.0.write(line)
        }
    }
}

#[tokio::test]
async fn no_audit_record_no_decision() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "approved");
    let journal = Arc::new(NoControlRecords::default());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get_rule, &update]);
    let guard = Guard::new(
        &PolicySources::embedded(),
        &GuardConfig::default(),
        Arc::new(NoAudit),
    );
    let endpoint = Endpoint::new(
        Ok(Approvals::new(client, "budgets")),
        guard,
        journal.clone(),
    );
    let response = endpoint
        .handle(&post(Some(ONCALL_ALICE), &decision(&r.id, "approve")))
        .await;
    assert_eq!(response.status_code, 500);
    assert_eq!(response.body_json()["error"], "audit_failed");
    assert_eq!(update.num_calls(), 0);
    assert_eq!(records(&journal.0)[0]["error"], "audit_failed");
}

#[tokio::test]
async fn a_request_no_longer_pending_is_409_and_not_written() {
    let r = waiting();
    for (status, by) in [
        ("approved", ONCALL_ALICE),
        ("rejected", ONCALL_ALICE),
        ("used", ONCALL_ALICE),
    ] {
        let get_rule = stored(Some(item(&r, status, by)));
        let update = decided(&r, "approved");
        let bench = bench(&[&get_rule, &update]);
        let response = bench
            .endpoint
            .handle(&post(
                Some("arn:aws:sts::1:assumed-role/agent-guard-oncall/dan"),
                &decision(&r.id, "approve"),
            ))
            .await;
        assert_eq!(response.status_code, 409, "{status}");
        assert_eq!(response.body_json()["error"], "not_pending");
        assert_eq!(update.num_calls(), 0);
        assert!(control_records(&bench.journal).is_empty());
    }
}

#[tokio::test]
async fn a_rejection_needs_no_approver_role() {
    let r = waiting();
    let get_rule = stored(Some(item(&r, "pending", "")));
    let update = decided(&r, "rejected");
    let bench = bench(&[&get_rule, &update]);
    let response = bench
        .endpoint
        .handle(&post(Some(IAM_USER_BOB), &decision(&r.id, "reject")))
        .await;
    assert_eq!(response.status_code, 200, "{}", response.body);
    assert_eq!(response.body_json()["decided_by"], IAM_USER_BOB);
    assert_eq!(
        control_records(&bench.journal)[0].action,
        ControlAction::Reject
    );
}

#[tokio::test]
async fn without_a_table_every_request_is_refused_clearly() {
    let guard = Guard::new(
        &PolicySources::embedded(),
        &GuardConfig::default(),
        Arc::new(NoAudit),
    );
    let journal = Arc::new(MemoryJournal::default());
    let endpoint = Endpoint::new(Err(Misconfigured::NoTable), guard, journal.clone());
    let response = endpoint
        .handle(&get(
            Some(ONCALL_ALICE),
            "restart_service-0123456789abcdef0123456789abcdef",
        ))
        .await;
    assert_eq!(response.status_code, 500);
    assert!(response.body.contains("BUDGET_TABLE"), "{}", response.body);
}

#[test]
fn text_a_caller_sent_stays_inside_one_record_line() {
    let mut record = EndpointRecord::new(Outcome::Refused, 400, "x");
    record.method = Some("GET\n{\"approval_endpoint\":{}}".to_owned());
    let line = record.line();
    assert!(!line.contains('\n'), "{line}");
}

/// Every sample event under `events/approval_endpoint/` answers as its name says (`allow-…`
/// 200, `deny-…` 403, `invalid-…` 400), against a table holding a pending request for every
/// id, so none can rot.
#[tokio::test]
async fn every_sample_event_answers_as_its_name_says() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/approval_endpoint");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "{}", dir.display());
    let r = waiting();
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let get_rule = stored(Some(item(&r, "pending", "")));
        let status = if name.contains("reject") {
            "rejected"
        } else {
            "approved"
        };
        let update = decided(&r, status);
        let bench = bench(&[&get_rule, &update]);
        let response = bench.endpoint.handle(&event).await;
        let expected = match name.split('-').next() {
            Some("allow") => 200,
            Some("deny") => 403,
            Some("invalid") => 400,
            _ => panic!("{name}: a sample event's name starts allow-, deny- or invalid-"),
        };
        assert_eq!(response.status_code, expected, "{name}: {}", response.body);
        if expected != 200 {
            assert_eq!(update.num_calls(), 0, "{name}");
        }
    }
}
