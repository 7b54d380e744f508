use std::time::{Duration, SystemTime};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use guard::Principal;
use serde_json::{Value, json};

use super::*;
use crate::{LocalSigner, issue};

const GATEWAY: &str = "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789";
const TOOL: &str = "terminate-instance___terminate_instance";

fn caller() -> Principal {
    Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    }
}

fn arguments() -> Value {
    json!({"environment": "staging", "instance_id": "i-0abc1234"})
}

fn binding(arguments: &Value) -> Binding<'_> {
    Binding {
        gateway: GATEWAY,
        tool: TOOL,
        arguments,
        mcp_request: Some("8"),
    }
}

fn setup() -> (LocalSigner, Verifier) {
    let signer = LocalSigner::generate("k1").unwrap();
    let der = signer.public_key_der();
    let verifier = Verifier::new([("k1", der.as_slice())]).unwrap();
    (signer, verifier)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn token(signer: &LocalSigner, at: SystemTime) -> String {
    let args = arguments();
    block_on(issue(
        signer,
        &caller(),
        &binding(&args),
        at,
        Duration::from_secs(30),
        "jti-1",
    ))
    .unwrap()
}

#[test]
fn a_fresh_assertion_for_this_call_verifies_with_its_caller() {
    let (signer, verifier) = setup();
    let now = SystemTime::now();
    let args = arguments();
    let verified = verifier
        .verify(&token(&signer, now), &binding(&args), now)
        .unwrap();
    assert_eq!(verified.principal, caller());
    assert_eq!(verified.jti, "jti-1");
}

#[test]
fn another_key_forged_claims_and_a_foreign_header_are_refused() {
    let (_, verifier) = setup();
    let forger = LocalSigner::generate("k1").unwrap();
    let now = SystemTime::now();
    let args = arguments();
    assert_eq!(
        verifier.verify(&token(&forger, now), &binding(&args), now),
        Err(AssertionError::BadSignature)
    );

    // Claims swapped under a genuine signature.
    let (signer, verifier) = setup();
    let genuine = token(&signer, now);
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["caller"]["id"] = json!("admin");
    let forged_claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts[1] = &forged_claims;
    assert_eq!(
        verifier.verify(&parts.join("."), &binding(&args), now),
        Err(AssertionError::BadSignature)
    );

    let other_kid = LocalSigner::generate("k2").unwrap();
    assert!(matches!(
        verifier.verify(&token(&other_kid, now), &binding(&args), now),
        Err(AssertionError::UnknownKey(k)) if k == "k2"
    ));
    for malformed in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
        assert!(matches!(
            verifier.verify(malformed, &binding(&args), now),
            Err(AssertionError::Malformed(_))
        ));
    }
}

#[test]
fn an_assertion_lives_seconds_and_not_before_it_was_made() {
    let (signer, verifier) = setup();
    let now = SystemTime::now();
    let args = arguments();
    let old = token(&signer, now - Duration::from_secs(120));
    assert!(matches!(
        verifier.verify(&old, &binding(&args), now),
        Err(AssertionError::Expired(_))
    ));
    let future = token(&signer, now + Duration::from_secs(120));
    assert!(matches!(
        verifier.verify(&future, &binding(&args), now),
        Err(AssertionError::IssuedInFuture(_))
    ));
    let long = block_on(issue(
        &signer,
        &caller(),
        &binding(&args),
        now,
        Duration::from_secs(3600),
        "j",
    ));
    assert!(long.is_err());
}

#[test]
fn an_assertion_of_one_call_is_refused_on_another() {
    let (signer, verifier) = setup();
    let now = SystemTime::now();
    let args = arguments();
    let token = token(&signer, now);
    let other_args = json!({"environment": "staging", "instance_id": "i-0def5678"});
    let extra = json!({"environment": "staging", "instance_id": "i-0abc1234", "dry_run": false});
    for (call, what) in [
        (
            Binding {
                arguments: &other_args,
                ..binding(&args)
            },
            "arguments",
        ),
        (
            Binding {
                arguments: &extra,
                ..binding(&args)
            },
            "arguments",
        ),
        (
            Binding {
                tool: "restart-service___restart_service",
                ..binding(&args)
            },
            "tool",
        ),
        (
            Binding {
                gateway: "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/other",
                ..binding(&args)
            },
            "gateway",
        ),
        (
            Binding {
                mcp_request: Some("9"),
                ..binding(&args)
            },
            "MCP request id",
        ),
        (
            Binding {
                mcp_request: None,
                ..binding(&args)
            },
            "MCP request id",
        ),
    ] {
        assert!(
            matches!(verifier.verify(&token, &call, now), Err(AssertionError::Rebound { what: w, .. }) if w == what),
            "{what}"
        );
    }
    // Key order and the assertion field itself do not matter.
    let reordered: Value = serde_json::from_str(
        r#"{"instance_id": "i-0abc1234", "environment": "staging", "_guard_caller": "x"}"#,
    )
    .unwrap();
    assert!(
        verifier
            .verify(
                &token,
                &Binding {
                    arguments: &reordered,
                    ..binding(&args)
                },
                now
            )
            .is_ok()
    );
}

#[test]
fn a_header_field_name_is_shown_escaped_never_raw() {
    let (_, verifier) = setup();
    let header = URL_SAFE_NO_PAD.encode(
        json!({"alg": "ES256", "typ": "x", "kid": "k", "\u{1b}[31mforged\nline": 1}).to_string(),
    );
    let token = format!("{header}.e30.c2ln");
    let arguments = arguments();
    let err = verifier
        .verify(&token, &binding(&arguments), SystemTime::now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not ours"), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\n'), "{err:?}");
    assert!(err.contains("\\u{1b}[31mforged\\nline"), "{err}");
}
