//! The authorizer, built, through the Lambda Runtime API, on the shipped sample events.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use e2e::{Answer, Function, GATEWAY_ARN, Invocation, RuntimeApi, emulator::workspace};
use serde_json::{Value, json};

fn event(name: &str) -> Value {
    let path = workspace().join("events/authorizer").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn start(mode: &str) -> (RuntimeApi, Function) {
    start_with(&[("GUARD_MODE", mode)])
}

fn start_with(settings: &[(&str, &str)]) -> (RuntimeApi, Function) {
    let api = RuntimeApi::start().unwrap();
    let mut env = vec![("GATEWAY_ARN".to_owned(), GATEWAY_ARN.to_owned())];
    env.extend(
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let function = Function::start("authorizer", api.address(), &env).unwrap();
    (api, function)
}

/// The shipped policies plus one more gateway policy, in a directory for `GUARD_POLICY_DIR`.
fn policies_with(name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["gateway", "resource", "schema"] {
        let from = workspace().join("policies").join(sub);
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for file in std::fs::read_dir(from).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, dir.path().join(sub).join(file.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join("gateway").join(name), text).unwrap();
    dir
}

#[test]
fn production_terminate_is_answered_by_the_gateway_with_a_32002_error() {
    let (api, function) = start("ENFORCE");
    let output = api
        .invoke_json(&event("interceptor-tools-call-production.json"))
        .unwrap()
        .response()
        .unwrap();
    let response = &output["mcp"]["transformedGatewayResponse"];
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["body"]["error"]["code"], -32002);
    let message = response["body"]["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Tool Execution Denied: "), "{message}");
    assert_eq!(response["body"]["id"], 8);
    let audit = function.audit_records_at_least(1);
    assert_eq!(audit[0]["decision"], "DENY");
    assert_eq!(audit[0]["principal"], "AgentCore::OAuthUser::\"agent-7\"");
}

#[test]
fn staging_terminate_passes_through_with_the_body_unchanged() {
    let (api, _function) = start("ENFORCE");
    let input = event("interceptor-tools-call-staging.json");
    let output = api.invoke_json(&input).unwrap().response().unwrap();
    assert!(
        output["mcp"].get("transformedGatewayResponse").is_none(),
        "{output}"
    );
    assert_eq!(
        output["mcp"]["transformedGatewayRequest"]["body"],
        input["mcp"]["gatewayRequest"]["body"]
    );
}

#[test]
fn log_only_lets_production_through_and_records_the_would_deny() {
    let (api, function) = start("LOG_ONLY");
    let output = api
        .invoke_json(&event("interceptor-tools-call-production.json"))
        .unwrap()
        .response()
        .unwrap();
    assert!(
        output["mcp"].get("transformedGatewayRequest").is_some(),
        "{output}"
    );
    assert_eq!(
        function.audit_records_at_least(1)[0]["outcome"],
        "would_deny"
    );
}

fn listed(api: &RuntimeApi) -> Vec<String> {
    let output = api
        .invoke_json(&event("interceptor-tools-list-response.json"))
        .unwrap()
        .response()
        .unwrap();
    output
        .pointer("/mcp/transformedGatewayResponse/body/result/tools")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|t| t.get("name").and_then(Value::as_str).unwrap().to_owned())
        .collect()
}

#[test]
fn a_built_function_ignores_a_policy_directory_override() {
    // Under the shipped policies every tool can be called with some arguments.
    let (api, _function) = start("ENFORCE");
    assert_eq!(listed(&api).len(), 4);

    // The sample token's caller has scope `devops`. A directory that forbids it terminate
    // would hide terminate from its list, if a deployed function could be pointed at other
    // policies: it cannot, it runs the ones compiled into it (the crate tests show the
    // filtering itself).
    let dir = policies_with(
        "no_terminate_for_devops.cedar",
        "@id(\"devops_never_terminates\")\nforbid (principal is AgentCore::OAuthUser, action == AgentCore::Action::\"terminate-instance___terminate_instance\", resource)\nwhen { principal.hasTag(\"scope\") && principal.getTag(\"scope\") == \"devops\" };\n",
    );
    let (api, _function) = start_with(&[("GUARD_POLICY_DIR", dir.path().to_str().unwrap())]);
    let tools = listed(&api);
    assert_eq!(tools.len(), 4, "{tools:?}");
}

#[test]
fn malformed_invocations_are_denied_and_audited_and_the_function_keeps_serving() {
    let (api, mut function) = start("ENFORCE");
    let production = event("interceptor-tools-call-production.json");
    let mut invocations: Vec<Invocation> = ["not json", r#"{"custom":{"x":1}}"#, r#"{"client":7}"#]
        .into_iter()
        .map(|raw| Invocation::json(&production).with_client_context(raw))
        .collect();
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    for body in [
        b"\xff\xfe".to_vec(),
        br#"{"interceptorInputVersion":"1.0","mcp":{"x":"\udc00"}}"#.to_vec(),
        br#"{"n":1e400}"#.to_vec(),
        deep.into_bytes(),
    ] {
        invocations.push(Invocation {
            body,
            client_context: None,
        });
    }
    let count = invocations.len();
    for invocation in invocations {
        let answer = api
            .invoke(invocation, std::time::Duration::from_secs(30))
            .unwrap();
        let output = answer.response().unwrap();
        let error = &output["mcp"]["transformedGatewayResponse"]["body"]["error"];
        assert_eq!(error["code"], -32002, "{output}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("could not be read"),
            "{output}"
        );
    }
    let audit = function.audit_records_at_least(count);
    assert_eq!(audit.len(), count, "{audit:?}");
    assert!(audit.iter().all(|r| r["asked"] == "refused"), "{audit:?}");
    // A body that is JSON but not an interceptor event: a deny, not a crash.
    let answer = api.invoke_json(&json!({"hello": "world"})).unwrap();
    assert!(matches!(answer, Answer::Response(_) | Answer::Error { .. }));
    let output = api.invoke_json(&production).unwrap().response().unwrap();
    assert_eq!(
        output["mcp"]["transformedGatewayResponse"]["body"]["error"]["code"],
        -32002
    );
    assert!(function.is_running());
}

#[test]
fn a_request_with_a_null_gateway_response_is_decided_as_a_request() {
    // Deployed gateways send `"gatewayResponse": null` on REQUEST events.
    let (api, function) = start("ENFORCE");
    let output = api
        .invoke_json(&event("interceptor-tools-call-null-gateway-response.json"))
        .unwrap()
        .response()
        .unwrap();
    let response = &output["mcp"]["transformedGatewayResponse"];
    assert_eq!(response["body"]["error"]["code"], -32002, "{output}");
    assert_eq!(response["body"]["id"], 9);
    let audit = function.audit_records_at_least(1);
    assert_eq!(audit[0]["decision"], "DENY");
}

#[test]
fn the_gateway_authorizer_type_read_by_the_guard_decides_what_a_token_is_worth() {
    let staging = event("interceptor-tools-call-staging.json");
    // `NONE` without JWT settings: nobody verifies the sample's token, so the call is refused.
    let (api, function) = start_with(&[("GATEWAY_AUTHORIZER_TYPE", "NONE")]);
    let output = api.invoke_json(&staging).unwrap().response().unwrap();
    let message = output["mcp"]["transformedGatewayResponse"]["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("`NONE`"), "{message}");
    assert!(message.contains("JWT_JWKS"), "{message}");
    assert_eq!(function.audit_records_at_least(1)[0]["outcome"], "error");
    // An unknown value refuses every request.
    let (api, _function) = start_with(&[("GATEWAY_AUTHORIZER_TYPE", "custom_jwt")]);
    let output = api.invoke_json(&staging).unwrap().response().unwrap();
    let message = output["mcp"]["transformedGatewayResponse"]["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("unknown GATEWAY_AUTHORIZER_TYPE `custom_jwt`"),
        "{message}"
    );
}
