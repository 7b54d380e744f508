//! The interceptor and a tool, both built, back to back on the emulator (issue 20): what the
//! interceptor passes on is the tool's input. The tool verifies the caller assertion against
//! the KMS key's public half, decides with the caller, and makes its mutation in a role session
//! whose `SourceIdentity` names the caller — checked in the emulator's own request log. Forged,
//! expired, replayed, re-bound, missing and agent-supplied assertions are refused and audited,
//! in `ENFORCE` and `LOG_ONLY`. And the caller-specific policy decides alike at the interceptor
//! and inside the tool, on every case of its suite.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::{Duration, SystemTime};

use caller::ASSERTION_FIELD;
use e2e::{
    chain::{Chain, agent_claims, passed_arguments},
    emulator::workspace,
};
use guard::Principal;
use serde_json::{Value, json};

async fn chain(tool: &str, mode: &str) -> Chain {
    Chain::start(tool, mode).await.unwrap()
}

/// The tool's refusal, and `record`, the audit record the call wrote: an error that says why.
fn refused(record: &Value, report: &Value, is_error: bool, says: &str) {
    assert!(is_error, "{report}");
    assert_eq!(report["status"], "denied", "{report}");
    let message = report["message"].as_str().unwrap_or_default().to_owned() + &report.to_string();
    assert!(message.contains(says), "expected `{says}` in {report}");
    assert_eq!(record["outcome"], "error", "{record}");
    assert!(record["errors"].to_string().contains(says), "{record}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_acts_as_the_caller_the_interceptor_vouched_for() {
    let chain = chain("terminate_instance", "ENFORCE").await;
    let tool = "terminate-instance___terminate_instance";
    let instance = chain.world.staging.instances[0].clone();
    let arguments = json!({"environment": "staging", "instance_id": instance});

    let (answer, reached) = chain
        .through_gateway(tool, &arguments, 11, &agent_claims())
        .unwrap();
    let (report, is_error) = reached.unwrap_or_else(|| panic!("refused: {answer}"));
    assert!(!is_error, "{report}");
    assert_eq!(chain.instance_state(&instance).await.unwrap(), "terminated");
    assert_eq!(report["acting_as"], "agent-7", "{report}");

    // The tool decided with the verified caller.
    let records = chain.tool.function.audit_records_at_least(2);
    for record in &records {
        assert_eq!(record["caller"]["type"], "OAuthUser", "{record}");
        assert_eq!(record["caller"]["id"], "agent-7", "{record}");
        assert_eq!(
            record["caller"]["tags"]["cognito:groups"], r#"["oncall"]"#,
            "{record}"
        );
    }

    // AWS saw the caller: the role session carries it, and the termination was made with the
    // session's credentials, not the function's own.
    let assumed = chain.requests("AssumeRole");
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert!(
        assumed[0].0.contains("SourceIdentity=agent-7"),
        "{}",
        assumed[0].0
    );
    assert!(
        assumed[0].0.contains(
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fagent-guard-acting-as-caller"
        ),
        "{}",
        assumed[0].0
    );
    let terminations = chain.requests("TerminateInstances");
    assert_eq!(terminations.len(), 1);
    let credential = terminations[0]
        .1
        .split("Credential=")
        .nth(1)
        .unwrap_or_default();
    assert!(
        !credential.starts_with("testing/"),
        "made with the function's own credentials: {credential}"
    );
    // The lookup (a read) is the function's own.
    assert!(
        chain
            .requests("DescribeInstances")
            .iter()
            .any(|(_, auth)| auth.contains("Credential=testing/"))
    );
}

async fn refusals(mode: &str) {
    let chain = chain("terminate_instance", mode).await;
    let tool = "terminate-instance___terminate_instance";
    let [first, second] = [0, 1].map(|i| chain.world.staging.instances[i].clone());
    let on = |instance: &str| json!({"environment": "staging", "instance_id": instance});
    let caller = Principal::OAuthUser {
        id: "agent-7".into(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };

    // The interceptor vouches for a call on `first`; the call itself is held back.
    let answer = chain
        .intercept(tool, &on(&first), 21, &agent_claims())
        .unwrap();
    let passed = passed_arguments(&answer).unwrap();
    let vouched = passed[ASSERTION_FIELD].as_str().unwrap().to_owned();

    // Re-bound: that assertion on the other instance.
    let mut moved = on(&second);
    moved[ASSERTION_FIELD] = json!(vouched);
    let (report, is_error, record) = chain.call_tool_audited(tool, &moved, 21).unwrap();
    refused(
        &record,
        &report,
        is_error,
        "the caller assertion is for another call",
    );

    // Re-bound to another MCP request.
    let (report, is_error, record) = chain.call_tool_audited(tool, &passed, 22).unwrap();
    refused(
        &record,
        &report,
        is_error,
        "the caller assertion is for another call",
    );

    // Forged: the same key id, another key.
    let forged = chain
        .forged_assertion(&caller, tool, &on(&first), 23)
        .await
        .unwrap();
    let mut payload = on(&first);
    payload[ASSERTION_FIELD] = json!(forged);
    let (report, is_error, record) = chain.call_tool_audited(tool, &payload, 23).unwrap();
    refused(&record, &report, is_error, "signature");

    // Expired: signed by the real key, two minutes ago.
    let old = chain
        .assertion(
            &caller,
            tool,
            &on(&first),
            24,
            SystemTime::now() - Duration::from_secs(120),
        )
        .await
        .unwrap();
    let mut payload = on(&first);
    payload[ASSERTION_FIELD] = json!(old);
    let (report, is_error, record) = chain.call_tool_audited(tool, &payload, 24).unwrap();
    refused(&record, &report, is_error, "expired");

    // Agent-supplied, straight to the tool: not an assertion at all, or none.
    let mut payload = on(&first);
    payload[ASSERTION_FIELD] = json!("eyJhbGciOiJub25lIn0.e30.");
    let (report, is_error, record) = chain.call_tool_audited(tool, &payload, 25).unwrap();
    refused(&record, &report, is_error, "caller assertion");
    let (report, is_error, record) = chain.call_tool_audited(tool, &on(&first), 26).unwrap();
    refused(&record, &report, is_error, "carries no caller assertion");
    // A variant of the field's name is an argument the tool does not have.
    let mut payload = on(&first);
    payload["_GUARD_CALLER"] = json!(vouched);
    let (report, is_error) = chain.call_tool(tool, &payload, 21).unwrap();
    assert!(is_error, "{report}");
    assert_eq!(chain.instance_state(&first).await.unwrap(), "running");
    assert_eq!(chain.instance_state(&second).await.unwrap(), "running");
    assert!(
        chain.requests("AssumeRole").is_empty(),
        "no session for a refused call"
    );

    // A verified caller the call check denies (production; in ENFORCE, as LOG_ONLY lets it go
    // ahead): no AWS call at all, not even the single-use mark.
    if mode == "ENFORCE" {
        no_aws_call_after_a_call_check_deny(&chain, &caller).await;
    }

    // The vouched call goes through once; the same call again is a replay.
    let (report, is_error) = chain.call_tool(tool, &passed, 21).unwrap();
    assert!(!is_error, "{report}");
    assert_eq!(chain.instance_state(&first).await.unwrap(), "terminated");
    let (report, is_error, record) = chain.call_tool_audited(tool, &passed, 21).unwrap();
    refused(&record, &report, is_error, "made before");
    // And so is the same MCP request vouched for again (a client resending it).
    let again = chain
        .intercept(tool, &on(&first), 21, &agent_claims())
        .unwrap();
    let resent = passed_arguments(&again).unwrap();
    assert_ne!(resent[ASSERTION_FIELD], passed[ASSERTION_FIELD]);
    let (report, is_error, record) = chain.call_tool_audited(tool, &resent, 21).unwrap();
    refused(&record, &report, is_error, "made before");
    assert_eq!(chain.requests("TerminateInstances").len(), 1);
}

/// A call with a verified caller that the call check denies makes no AWS call.
async fn no_aws_call_after_a_call_check_deny(chain: &Chain, caller: &Principal) {
    let tool = "terminate-instance___terminate_instance";
    let production = chain.world.production.instances[0].clone();
    let arguments = json!({"environment": "production", "instance_id": production});
    let assertion = chain
        .assertion(caller, tool, &arguments, 27, SystemTime::now())
        .await
        .unwrap();
    let mut payload = arguments.clone();
    payload[ASSERTION_FIELD] = json!(assertion);
    let served = chain.request_count();
    let (report, is_error) = chain.call_tool(tool, &payload, 27).unwrap();
    assert!(is_error, "{report}");
    assert_eq!(report["guard"]["checks"][0]["outcome"], "deny", "{report}");
    assert_eq!(
        chain.request_count(),
        served,
        "a call-check deny made an AWS call"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_expired_replayed_rebound_and_missing_assertions_are_refused_in_enforce() {
    refusals("ENFORCE").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_expired_replayed_rebound_and_missing_assertions_are_refused_in_log_only() {
    refusals("LOG_ONLY").await;
}

/// JWT claims that make the authorizer's principal equal `principal` (an array-valued claim
/// reaches the policies as its JSON text, as the case files state it).
fn claims_for(principal: &Value) -> Value {
    let mut claims = json!({"sub": principal["id"], "iss": "https://idp.example.test",
                            "token_use": "access"});
    for (key, value) in principal["tags"].as_object().into_iter().flatten() {
        let text = value.as_str().unwrap();
        claims[key] = serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_array)
            .unwrap_or_else(|| json!(text));
    }
    claims
}

/// Whether the tool's call check allowed its last call (the `call` record after `before`).
fn tool_call_check(chain: &Chain, before: usize) -> String {
    let records = chain.tool.function.audit_records_at_least(before + 1);
    let call = records[before..]
        .iter()
        .find(|r| r["check"] == "call")
        .unwrap();
    call["decision"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caller_specific_policy_decides_alike_at_the_interceptor_and_in_the_tool() {
    let chain = chain("clean_logs", "ENFORCE").await;
    let tool = "clean-logs___clean_logs";
    let path = workspace().join("policies/tests/callers.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut compared = 0;
    for (n, case) in cases.iter().enumerate() {
        // The interceptor decides for OAuth callers (the gateway's authorizer here); unknown
        // and IAM callers are the tool's alone, and their cases run in `guard test`.
        if case["principal"]["type"] != "OAuthUser" || case.get("mode").is_some() {
            continue;
        }
        let id = 100 + n as u64;
        let mut arguments = case["params"].clone();
        arguments["log_group"] = json!(chain.world.staging.log_group);
        let before = chain.tool.function.audit_records().len();
        let (passed, reached) = chain
            .through_gateway(tool, &arguments, id, &claims_for(&case["principal"]))
            .unwrap();
        let at_gateway = if reached.is_some() { "ALLOW" } else { "DENY" };
        if reached.is_none() {
            // What the tool would have decided, had the call reached it with its caller.
            let principal: Principal = serde_json::from_value(case["principal"].clone()).unwrap();
            let assertion = chain
                .assertion(&principal, tool, &arguments, id, SystemTime::now())
                .await
                .unwrap();
            let mut payload = arguments.clone();
            payload[ASSERTION_FIELD] = json!(assertion);
            chain.call_tool(tool, &payload, id).unwrap();
        }
        let in_tool = tool_call_check(&chain, before);
        assert_eq!(at_gateway, in_tool, "{}: {passed}", case["name"]);
        assert_eq!(at_gateway, case["expected"], "{}", case["name"]);
        compared += 1;
    }
    assert!(compared >= 6, "only {compared} cases compared");
}
