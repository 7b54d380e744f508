//! Every sample event in `events/authorizer/` runs here, so none of them can rot.

use base64::Engine as _;
use guard::{Mode, Outcome, PolicySources};
use serde_json::{Value, json};

use crate::support::*;

/// What each sample event is for; a new file needs a line here.
const SAMPLES: [&str; 6] = [
    "interceptor-tools-call-staging.json",
    "interceptor-tools-call-production.json",
    "interceptor-tools-call-null-gateway-response.json",
    "interceptor-tools-list-response.json",
    "http-api-request.json",
    "rest-api-request.json",
];

#[test]
fn every_sample_event_is_exercised_here() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let mut expected = SAMPLES.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn sample_events_carry_only_fake_tokens() {
    for name in SAMPLES {
        let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
        for (i, _) in text.match_indices("Bearer ") {
            let token: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect();
            let signature = token.rsplit('.').next().unwrap();
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .unwrap();
            assert_eq!(signature, b"fake-test-signature-not-valid", "{name}");
        }
    }
}

#[test]
fn the_staging_call_sample_passes_with_its_body_unchanged() {
    let (authorizer, audit) = interceptor();
    let event = sample_event("interceptor-tools-call-staging.json");
    let answer = invoke(&authorizer, event.clone());
    assert_eq!(
        passed(&answer),
        Some(&event["mcp"]["gatewayRequest"]["body"]),
        "{answer:#}"
    );
    assert_eq!(only_record(&audit).outcome, Outcome::Allow);
}

#[test]
fn the_production_call_sample_is_denied_with_32002() {
    let (authorizer, audit) = interceptor();
    let answer = invoke(
        &authorizer,
        sample_event("interceptor-tools-call-production.json"),
    );
    let (code, message) = denial(&answer).unwrap();
    assert_eq!(code, -32002);
    assert_eq!(
        message,
        format!("Tool Execution Denied: call check: no policy permits `{TERMINATE}`")
    );
    assert_eq!(answer["mcp"]["transformedGatewayResponse"]["body"]["id"], 8);
    assert_eq!(only_record(&audit).outcome, Outcome::Deny);
}

/// Deployed gateways send `"gatewayResponse": null` on REQUEST events: still a REQUEST, decided
/// and audited, never answered with a null response.
#[test]
fn the_null_gateway_response_sample_is_decided_as_a_request() {
    let (authorizer, audit) = interceptor();
    let answer = invoke(
        &authorizer,
        sample_event("interceptor-tools-call-null-gateway-response.json"),
    );
    let (code, message) = denial(&answer).unwrap_or_else(|| panic!("not denied: {answer:#}"));
    assert_eq!(code, -32002);
    assert_eq!(
        message,
        format!("Tool Execution Denied: call check: no policy permits `{TERMINATE}`")
    );
    assert_eq!(answer["mcp"]["transformedGatewayResponse"]["body"]["id"], 9);
    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Deny);
    assert_eq!(record.principal, r#"AgentCore::OAuthUser::"agent-7""#);
}

#[test]
fn the_tools_list_sample_is_filtered_for_its_caller() {
    let event = sample_event("interceptor-tools-list-response.json");
    // The shipped policies permit every tool to anyone: only the gateway's own search tool,
    // which no policy names, goes.
    let (shipped, _) = interceptor();
    let answer = invoke(&shipped, event.clone());
    assert_eq!(
        listed(&answer),
        [RESTART, TERMINATE, CLEAN_LOGS, GET_METRICS]
    );
    // The tools declare the caller assertion's field for the gateway; the agent never sees it.
    assert!(event.to_string().contains(caller::ASSERTION_FIELD));
    let tools = &answer["mcp"]["transformedGatewayResponse"]["body"]["result"]["tools"];
    assert!(
        !tools.to_string().contains(caller::ASSERTION_FIELD),
        "{tools:#}"
    );
    assert_eq!(
        tools[0]["inputSchema"]["required"],
        json!(["environment", "service"])
    );
    // The sample's caller has scope `devops`: under the admin-only rule it cannot terminate.
    let (guard, _) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::Enforce,
    );
    let answer = invoke(&authorizer(guard, &[]), event);
    assert_eq!(listed(&answer), [RESTART, CLEAN_LOGS, GET_METRICS]);
}

/// The sample's token is fake, so as it stands it is refused; with a token the configured key
/// really signed, the same event is authorized.
#[test]
fn the_api_gateway_samples_authorize_only_really_signed_tokens() {
    let key = TestKey::new(KID);
    let token = format!(
        "Bearer {}",
        key.sign(KID, &good_claims("agent-7", "devops"))
    );
    for (form, name, header) in [
        ("http-api", "http-api-request.json", "authorization"),
        ("rest-api", "rest-api-request.json", "Authorization"),
    ] {
        let (authorizer, audit) = api_gateway(form, &key, PolicySources::embedded());
        let allowed = |answer: &Value| match form {
            "http-api" => answer["isAuthorized"] == true,
            _ => answer["policyDocument"]["Statement"][0]["Effect"] == "Allow",
        };
        let sample = sample_event(name);
        let answer = invoke(&authorizer, sample.clone());
        assert!(!allowed(&answer), "{name}: {answer:#}");
        assert!(
            answer["context"]["reason"]
                .as_str()
                .unwrap()
                .contains("no key `test-only-key`"),
            "{answer:#}"
        );

        let mut signed = sample;
        signed["headers"][header] = json!(token);
        let answer = invoke(&authorizer, signed);
        assert!(allowed(&answer), "{name}: {answer:#}");
        assert_eq!(answer["context"]["tool"], TERMINATE);
        let outcomes: Vec<_> = audit.records().iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [Outcome::Error, Outcome::Allow], "{name}");
    }
}
