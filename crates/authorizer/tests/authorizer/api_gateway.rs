//! The API Gateway forms: verified callers, routes, tool-level decisions, both response shapes.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the event builders are test helpers: one that cannot do its job fails the test"
)]

use guard::{Mode, Outcome, PolicySources};
use lambda_host::{Context, LambdaEvent};
use serde_json::{Value, json};

use crate::support::*;

/// The sample HTTP API event on route `route` with `authorization` as its header.
pub fn http_event(route: &str, authorization: Option<&str>) -> Value {
    let mut event = sample_event("http-api-request.json");
    event["routeKey"] = json!(route);
    event["requestContext"]["routeKey"] = json!(route);
    match authorization {
        Some(value) => {
            event["headers"]["authorization"] = json!(value);
            event["identitySource"] = json!([value]);
        }
        None => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
            event["identitySource"] = json!([]);
        }
    }
    event
}

/// The sample REST API event for `method` on `resource` with `authorization` as its header.
pub fn rest_event(method: &str, resource: &str, authorization: &str) -> Value {
    let mut event = sample_event("rest-api-request.json");
    event["httpMethod"] = json!(method);
    event["resource"] = json!(resource);
    event["requestContext"]["resourcePath"] = json!(resource);
    event["methodArn"] = json!(format!(
        "arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/{method}{resource}"
    ));
    event["headers"]["Authorization"] = json!(authorization);
    event["multiValueHeaders"]["Authorization"] = json!([authorization]);
    event
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn http_api_authorizes_a_verified_caller_for_the_routes_tool() {
    let key = TestKey::new(KID);
    let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&token))),
    );
    assert_eq!(answer["isAuthorized"], true, "{answer:#}");
    let context = &answer["context"];
    assert_eq!(context["tool"], TERMINATE);
    assert_eq!(context["principal"], r#"AgentCore::OAuthUser::"agent-7""#);
    assert_eq!(context["decision"], "ALLOW");
    assert_eq!(context["outcome"], "allow");

    let record = only_record(&audit);
    assert_eq!(record.outcome, Outcome::Allow);
    assert_eq!(record.tool, TERMINATE);
    // The arguments are not known here: the tool's own guard decides them.
    assert_eq!(record.arguments, Value::Null);
    assert_eq!(record.request_ids.lambda.as_deref(), Some("test-request-1"));
}

#[test]
fn http_api_denies_a_caller_a_forbid_shuts_out_whatever_the_arguments() {
    let key = TestKey::new(KID);
    let sources = policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]);
    let (authorizer, audit) = api_gateway("http-api", &key, sources);
    let devops = key.sign(KID, &good_claims("agent-7", "devops"));
    let admin = key.sign(KID, &good_claims("root-1", "admin"));

    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&devops))),
    );
    assert_eq!(answer["isAuthorized"], false);
    assert_eq!(
        answer["context"]["reason"],
        format!("call check: `{TERMINATE}` forbidden by `forbid_terminate_unless_admin_scope`")
    );
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&admin))),
    );
    assert_eq!(answer["isAuthorized"], true);
    // The forbid does not touch the other tools.
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/restart", Some(&bearer(&devops))),
    );
    assert_eq!(answer["isAuthorized"], true);
    let outcomes: Vec<_> = audit.records().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Deny, Outcome::Allow, Outcome::Allow]);
}

#[test]
fn log_only_lets_a_tool_level_deny_through_as_a_would_deny() {
    let key = TestKey::new(KID);
    let (guard, audit) = guard(
        policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]),
        Mode::LogOnly,
    );
    let authorizer = authorizer(
        guard,
        &[
            ("AUTHORIZER_FORM", "http-api"),
            ("AUTHORIZER_ROUTES", ROUTES),
            ("JWT_JWKS", &key.jwks),
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", AUDIENCE),
        ],
    );
    let devops = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        http_event("POST /tools/terminate", Some(&bearer(&devops))),
    );
    assert_eq!(answer["isAuthorized"], true);
    assert_eq!(answer["context"]["outcome"], "would_deny");
    assert_eq!(only_record(&audit).outcome, Outcome::WouldDeny);
}

#[test]
fn a_route_without_a_configured_tool_is_denied() {
    let key = TestKey::new(KID);
    let (authorizer, audit) = api_gateway("http-api", &key, PolicySources::embedded());
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        http_event("DELETE /tools/terminate", Some(&bearer(&token))),
    );
    assert_eq!(answer["isAuthorized"], false);
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("no tool is configured for route `DELETE /tools/terminate`")
    );
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
    // An `ANY` route matches every method.
    let answer = invoke(
        &authorizer,
        http_event("GET /tools/metrics", Some(&bearer(&token))),
    );
    assert_eq!(answer["context"]["tool"], GET_METRICS);
}

#[test]
fn rest_api_answers_with_an_iam_policy_for_the_method() {
    let key = TestKey::new(KID);
    let (authorizer, audit) = api_gateway("rest-api", &key, PolicySources::embedded());
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        rest_event("POST", "/tools/clean-logs", &bearer(&token)),
    );
    assert_eq!(answer["principalId"], "agent-7");
    assert_eq!(
        answer["policyDocument"],
        json!({"Version": "2012-10-17", "Statement": [{
            "Action": ["execute-api:Invoke"],
            "Effect": "Allow",
            "Resource": ["arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/POST/tools/clean-logs"],
        }]})
    );
    assert_eq!(answer["context"]["tool"], CLEAN_LOGS);
    assert_eq!(answer["context"]["decision"], "ALLOW");
    assert!(answer.get("usageIdentifierKey").is_none(), "{answer:#}");
    assert_eq!(only_record(&audit).outcome, Outcome::Allow);
}

#[test]
fn rest_api_denies_with_a_deny_policy_and_says_why() {
    let key = TestKey::new(KID);
    let sources = policies(&[("gateway/admin_only.cedar", ADMIN_ONLY_TERMINATE)]);
    let (authorizer, _) = api_gateway("rest-api", &key, sources);
    let token = key.sign(KID, &good_claims("agent-7", "devops"));
    let answer = invoke(
        &authorizer,
        rest_event("POST", "/tools/terminate", &bearer(&token)),
    );
    let statement = &answer["policyDocument"]["Statement"][0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(
        statement["Resource"][0],
        "arn:aws:execute-api:us-west-2:123456789012:abcdef1234/prod/POST/tools/terminate"
    );
    assert_eq!(answer["principalId"], "agent-7");
    assert_eq!(answer["context"]["decision"], "DENY");
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("forbidden by `forbid_terminate_unless_admin_scope`")
    );
}

#[test]
fn an_event_of_the_other_form_is_malformed_not_guessed() {
    let key = TestKey::new(KID);
    let token = key.sign(KID, &good_claims("agent-7", "devops"));

    let (rest, _) = api_gateway("rest-api", &key, PolicySources::embedded());
    let answer = invoke(
        &rest,
        http_event("POST /tools/restart", Some(&bearer(&token))),
    );
    assert_eq!(answer["policyDocument"]["Statement"][0]["Effect"], "Deny");

    let (http, _) = api_gateway("http-api", &key, PolicySources::embedded());
    let answer = invoke(&http, rest_event("POST", "/tools/restart", &bearer(&token)));
    assert_eq!(answer["isAuthorized"], false);
    assert!(
        answer["context"]["reason"]
            .as_str()
            .unwrap()
            .contains("not an HTTP API authorizer request")
    );

    // And the interceptor does not mistake an API Gateway event for one of its own.
    let (interceptor, _) = interceptor();
    let answer = invoke(
        &interceptor,
        http_event("POST /tools/restart", Some(&bearer(&token))),
    );
    assert!(denial(&answer).unwrap().1.contains("no `mcp` object"));
}

#[test]
fn an_unknown_form_fails_every_invocation_with_a_clear_error() {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    let authorizer = authorizer(guard, &[("AUTHORIZER_FORM", "lambda-url")]);
    let event = request_event(
        tools_call(GET_METRICS, json!({"service_name": "api"})),
        Some(&agent_token("agent-7", "devops")),
    );
    let error =
        block_on(authorizer.handle(LambdaEvent::new(event, Context::default()))).unwrap_err();
    assert_eq!(error.error_type, "InvalidConfiguration");
    assert!(
        error
            .error_message
            .contains("unknown AUTHORIZER_FORM `lambda-url`")
    );
    assert_eq!(only_record(&audit).outcome, Outcome::Error);
}
