use base64::Engine as _;
use serde_json::json;

use super::*;

fn jwt(claims: &Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.sig", b64(&json!({"alg": "RS256"})), b64(claims))
}

#[test]
fn bearer_takes_the_token_and_ignores_the_scheme_case() {
    assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
    assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
    assert_eq!(bearer(None), Err(TokenError::NoAuthorization));
    assert_eq!(bearer(Some(" ")), Err(TokenError::NoAuthorization));
    assert_eq!(bearer(Some("Basic abc")), Err(TokenError::NotBearer));
    assert_eq!(bearer(Some("Bearer")), Err(TokenError::NotBearer));
    assert_eq!(bearer(Some("Bearer ")), Err(TokenError::NotBearer));
}

#[test]
fn the_bearer_token_is_found_whatever_the_header_case() {
    let headers = json!({"authorization": "Bearer x", "Accept": "application/json"});
    assert_eq!(bearer_in(headers.as_object().unwrap()), Ok("x"));
}

#[test]
fn two_authorization_headers_identify_nobody() {
    for headers in [
        json!({"Authorization": "Bearer a.b.c", "authorization": "Bearer a.b.c"}),
        json!({"Authorization": "Bearer a.b.c", "AUTHORIZATION": "Bearer d.e.f"}),
        json!({"Authorization": ["Bearer a.b.c", "Bearer d.e.f"]}),
    ] {
        let err = bearer_in(headers.as_object().unwrap()).unwrap_err();
        assert!(matches!(err, TokenError::Header(_)), "{headers}: {err}");
        assert!(err.to_string().contains("more than once"), "{err}");
    }
    // Two headers joined into one value, as HTTP allows a proxy to do.
    let joined = json!({"Authorization": "Bearer a.b.c, Bearer d.e.f"});
    assert_eq!(
        bearer_in(joined.as_object().unwrap()),
        Err(TokenError::NotBearer)
    );
}

#[test]
fn a_null_claim_makes_no_tag() {
    let token = jwt(&json!({"sub": "agent-7", "scope": null, "team": "ops"}));
    let claims = unverified_claims(&token).unwrap();
    let Principal::OAuthUser { tags, .. } = principal(&claims).unwrap() else {
        panic!("not an OAuth user");
    };
    assert!(!tags.contains_key("scope"), "{tags:?}");
    assert_eq!(tags.len(), 2, "{tags:?}");
}

#[test]
fn claims_become_string_tags_and_sub_the_id() {
    let token = jwt(&json!({
        "sub": "agent-7", "scope": "devops", "exp": 1767225600,
        "cognito:groups": ["admins", "ops"], "email_verified": true,
        "address": {"country": "NL"}, "ratio": 0.5
    }));
    let claims = unverified_claims(&token).unwrap();
    let Principal::OAuthUser { id, tags } = principal(&claims).unwrap() else {
        panic!("not an OAuth user");
    };
    assert_eq!(id, "agent-7");
    assert_eq!(tags["scope"], "devops");
    assert_eq!(tags["sub"], "agent-7");
    assert_eq!(tags["exp"], "1767225600");
    assert_eq!(tags["cognito:groups"], r#"["admins","ops"]"#);
    assert_eq!(tags["email_verified"], "true");
    assert_eq!(tags["address"], r#"{"country":"NL"}"#);
    assert_eq!(tags["ratio"], "0.5");
}

#[test]
fn tokens_that_are_not_jwts_are_refused_with_a_reason() {
    for (token, reason) in [
        ("abc", "three"),
        ("a.b.c.d", "three"),
        ("a.!!!.c", "base64url"),
        ("a.bm90IGpzb24.c", "not JSON"),
        ("a.WzFd.c", "not a JSON object"),
        // A payload that is fine, a header that is not.
        ("!!!.e30.c", "its header is not base64url"),
        ("WzFd.e30.c", "its header is not a JSON object"),
    ] {
        let err = unverified_claims(token).unwrap_err();
        assert!(matches!(err, TokenError::NotJwt(_)), "{token}: {err}");
        assert!(err.to_string().contains(reason), "{token}: {err}");
    }
}

#[test]
fn a_token_without_a_subject_identifies_nobody() {
    let claims = unverified_claims(&jwt(&json!({"scope": "devops"}))).unwrap();
    assert_eq!(principal(&claims), Err(TokenError::NoSubject));
    let claims = unverified_claims(&jwt(&json!({"sub": 7}))).unwrap();
    assert_eq!(principal(&claims), Err(TokenError::NoSubject));
}
