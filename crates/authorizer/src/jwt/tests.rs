use base64::Engine as _;
use serde_json::json;

use super::*;

const NOW: u64 = 1_800_000_000;
const HOUR: i64 = 3600;

/// A token of raw JSON texts, so that a test can name a member twice.
fn raw(header: &str, payload: &str) -> String {
    let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
    format!("{}.{}.c2ln", b64(header), b64(payload))
}

fn token(claims: &Value) -> String {
    raw(r#"{"alg":"RS256"}"#, &claims.to_string())
}

fn check(token: &str, expiry: Expiry) -> Result<(), Rejection> {
    let jwt = Jwt::parse(token)?;
    ClaimRules::default().check(&jwt, NOW, expiry)
}

fn now() -> i64 {
    i64::try_from(NOW).unwrap()
}

#[test]
fn a_claim_named_twice_is_ambiguous_and_refused() {
    for payload in [
        r#"{"sub":"agent-7","sub":"root-1"}"#,
        r#"{"sub":"agent-7","scope":"devops","sub":"agent-7"}"#,
        // JSON escapes are decoded before names are compared.
        r#"{"sub":"agent-7","\u0073ub":"root-1"}"#,
    ] {
        let err = check(
            &raw(r#"{"alg":"RS256"}"#, payload),
            Expiry::CheckedByGateway,
        );
        assert_eq!(
            err,
            Err(Rejection::Duplicate {
                part: Part::Payload,
                name: Shown::text("sub")
            }),
            "{payload}"
        );
    }
    let err = check(
        &raw(r#"{"sub":"a"}"#, r#"{"scope":"a","scope":"b"}"#),
        Expiry::CheckedByGateway,
    )
    .unwrap_err();
    assert!(err.to_string().contains("`scope` more than once"), "{err}");
    // Nested objects are claim values, not claims: their members are not the token's business.
    assert_eq!(
        check(
            &raw(r#"{"alg":"RS256"}"#, r#"{"sub":"a","address":{"c":1}}"#),
            Expiry::CheckedByGateway
        ),
        Ok(())
    );
}

#[test]
fn a_header_member_named_twice_is_refused() {
    let err = check(
        &raw(r#"{"alg":"RS256","alg":"none"}"#, r#"{"sub":"a"}"#),
        Expiry::CheckedByGateway,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Rejection::Duplicate {
            part: Part::Header,
            name: Shown::text("alg")
        }
    );
    assert!(err.to_string().contains("its header names `alg`"), "{err}");
}

#[test]
fn a_crit_header_is_refused_whatever_it_lists() {
    for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]", r#""x""#, "null"] {
        let header = format!(r#"{{"alg":"RS256","crit":{crit}}}"#);
        let err = check(&raw(&header, r#"{"sub":"a"}"#), Expiry::CheckedByGateway).unwrap_err();
        assert!(
            matches!(err, Rejection::CriticalExtension(_)),
            "{crit}: {err}"
        );
        assert!(err.to_string().contains("RFC 7515"), "{err}");
    }
}

#[test]
fn an_issuer_that_is_not_one_string_is_refused() {
    for iss in [
        json!(["https://a.test", "https://b.test"]),
        json!(7),
        json!(null),
    ] {
        let err = check(
            &token(&json!({"sub": "a", "iss": iss})),
            Expiry::CheckedByGateway,
        );
        assert_eq!(err, Err(Rejection::IssuerNotString), "{iss}");
    }
}

#[test]
fn a_negative_exp_is_reported_as_the_expiry_it_is() {
    for expiry in [Expiry::Checked, Expiry::CheckedByGateway] {
        let err = check(&token(&json!({"sub": "a", "exp": -1})), expiry).unwrap_err();
        assert_eq!(err, Rejection::NegativeExpiry(-1));
        assert!(err.to_string().contains("expired"), "{err}");
        assert!(err.to_string().contains("negative"), "{err}");
    }
}

#[test]
fn time_claims_that_are_not_numbers_are_malformed() {
    for name in ["exp", "nbf", "iat"] {
        for value in [json!("1800000000"), json!(true), json!(null), json!([1])] {
            let mut claims = json!({"sub": "a", "exp": now() + 60});
            claims[name] = value.clone();
            let err = check(&token(&claims), Expiry::CheckedByGateway);
            assert_eq!(err, Err(Rejection::MalformedClaim(name)), "{name}: {value}");
        }
    }
    // RFC 7519 allows a fractional NumericDate.
    let fractional = json!({"sub": "a", "iat": now() as f64 - 0.5, "exp": now() as f64 + 60.5});
    assert_eq!(check(&token(&fractional), Expiry::Checked), Ok(()));
}

#[test]
fn a_token_issued_in_the_future_is_refused_beyond_the_leeway() {
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap();
    for expiry in [Expiry::Checked, Expiry::CheckedByGateway] {
        let ahead = json!({"sub": "a", "iat": now() + leeway + 1, "exp": now() + HOUR});
        let err = check(&token(&ahead), expiry).unwrap_err();
        assert_eq!(err, Rejection::IssuedInFuture(leeway + 1));
        let within = json!({"sub": "a", "iat": now() + leeway, "exp": now() + HOUR});
        assert_eq!(check(&token(&within), expiry), Ok(()));
    }
}

#[test]
fn a_lifetime_over_the_maximum_is_refused() {
    let day = 24 * HOUR;
    for expiry in [Expiry::Checked, Expiry::CheckedByGateway] {
        let exactly = json!({"sub": "a", "iat": now() - 10, "exp": now() - 10 + day});
        assert_eq!(check(&token(&exactly), expiry), Ok(()));
        let longer = json!({"sub": "a", "iat": now() - 10, "exp": now() - 9 + day});
        let err = check(&token(&longer), expiry).unwrap_err();
        assert!(matches!(err, Rejection::LifetimeTooLong { .. }), "{err}");
        assert!(err.to_string().contains("JWT_MAX_LIFETIME (1day)"), "{err}");
        // Without `iat`, from now: a token valid for a year is refused.
        let no_iat = json!({"sub": "a", "exp": now() + 365 * day});
        let err = check(&token(&no_iat), expiry).unwrap_err();
        assert!(matches!(err, Rejection::LifetimeTooLong { .. }), "{err}");
        // A negative `iat` makes the lifetime longer, not shorter.
        let ancient = json!({"sub": "a", "iat": -day, "exp": now() + HOUR});
        assert!(check(&token(&ancient), expiry).is_err());
    }
    let rules = ClaimRules {
        max_lifetime: Duration::from_secs(900),
    };
    let hour = json!({"sub": "a", "iat": now(), "exp": now() + HOUR});
    let text = token(&hour);
    let jwt = Jwt::parse(&text).unwrap();
    let err = rules.check(&jwt, NOW, Expiry::Checked).unwrap_err();
    assert!(err.to_string().contains("lifetime of 1h"), "{err}");
}

#[test]
fn expiry_is_checked_only_where_the_token_is_verified() {
    let expired = json!({"sub": "a", "iat": now() - 2 * HOUR, "exp": now() - HOUR});
    assert_eq!(
        check(&token(&expired), Expiry::Checked),
        Err(Rejection::Expired)
    );
    assert_eq!(check(&token(&expired), Expiry::CheckedByGateway), Ok(()));
    let no_exp = json!({"sub": "a"});
    assert_eq!(
        check(&token(&no_exp), Expiry::Checked),
        Err(Rejection::MissingClaim("exp"))
    );
    assert_eq!(check(&token(&no_exp), Expiry::CheckedByGateway), Ok(()));
    let later = json!({"sub": "a", "nbf": now() + HOUR, "exp": now() + 2 * HOUR});
    assert_eq!(
        check(&token(&later), Expiry::Checked),
        Err(Rejection::NotYetValid)
    );
}

#[test]
fn a_cognito_token_must_be_an_access_token() {
    let pool = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyz";
    let claims = |token_use: Option<Value>| {
        let mut claims = json!({"sub": "a", "iss": pool, "exp": now() + 60});
        if let Some(token_use) = token_use {
            claims["token_use"] = token_use;
        }
        token(&claims)
    };
    assert_eq!(
        check(&claims(Some(json!("access"))), Expiry::Checked),
        Ok(())
    );
    for (token_use, shown) in [
        (Some(json!("id")), "`id`"),
        (Some(json!("Access")), "`Access`"),
        (Some(json!(["access"])), r#"`[\"access\"]`"#),
        (None, "(none)"),
    ] {
        let err = check(&claims(token_use), Expiry::CheckedByGateway).unwrap_err();
        assert!(matches!(err, Rejection::NotAccessToken(_)), "{err}");
        assert!(err.to_string().contains(shown), "{err}");
    }
    // Another issuer's token needs no `token_use`.
    let other = json!({"sub": "a", "iss": "https://issuer.example.test", "exp": now() + 60});
    assert_eq!(check(&token(&other), Expiry::Checked), Ok(()));
}

#[test]
fn cognito_is_recognised_by_its_issuer_url_in_any_spelling() {
    for iss in [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
        "HTTPS://COGNITO-IDP.EU-WEST-1.AMAZONAWS.COM/eu-west-1_abc",
        "https://cognito-idp-fips.us-east-1.amazonaws.com/us-east-1_abc",
        "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc",
        "https://cognito-idp.us-east-1.amazonaws.com:443/us-east-1_abc",
    ] {
        assert!(is_cognito(iss), "{iss}");
    }
    for iss in [
        "https://issuer.example.test",
        "https://cognito-idp.us-east-1.amazonaws.com.evil.test/x",
        "https://login.example.test/cognito-idp.us-east-1.amazonaws.com",
    ] {
        assert!(!is_cognito(iss), "{iss}");
    }
}

#[test]
fn tokens_that_do_not_parse_say_which_part_is_wrong() {
    for (token, reason) in [
        ("abc", "three"),
        ("a.b", "three"),
        ("a.b.c.d", "three"),
        ("e30.!!!.c", "its payload is not base64url"),
        ("e30.bm90IGpzb24.c", "its payload is not JSON"),
        ("e30.WzFd.c", "its payload is not a JSON object"),
        ("!!!.e30.c", "its header is not base64url"),
        ("bm90IGpzb24.e30.c", "its header is not JSON"),
        // Trailing text after the object.
        ("e30.e30x.c", "its payload is not JSON"),
    ] {
        let err = Jwt::parse(token).unwrap_err();
        assert!(matches!(err, Rejection::Malformed(_)), "{token}: {err}");
        assert!(err.to_string().contains(reason), "{token}: {err}");
    }
}

#[test]
fn a_max_lifetime_must_be_a_positive_duration() {
    assert_eq!(parse_max_lifetime("24h"), Ok(DEFAULT_MAX_LIFETIME));
    assert_eq!(parse_max_lifetime("1h 30m"), Ok(Duration::from_secs(5400)));
    for bad in ["", "24", "1 fortnight", "0s", "-5m"] {
        assert!(parse_max_lifetime(bad).is_err(), "{bad}");
    }
}
