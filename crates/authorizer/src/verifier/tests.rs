use serde_json::json;

use super::*;

/// Public keys only; their private halves were thrown away.
const P256_X: &str = "lr24TvQgTNI7ipSMI4drnBLKhtaNsuNnOtO8bTUPQlE";
const P256_Y: &str = "8m7SQCtPsERMR5Yc404Dfmn0wnYwrZd_K6S_ox4W0Mc";
const P521_X: &str =
    "AZGK8PBCYboxr7kC5vUk_JUJMCqqGAIzCXK_IGn6kmTsDA4izlO4_RVdW9teFV595PMGOYnwANy_HLJ3nf7ilghI";
const P521_Y: &str =
    "AMG093kck0OREwqhwr4lKzgDFjgCaL-40VMiqva-kZuuV_IfQLXfsQnhnwBwnXbkcOjg5LpdgTK8hkxT6s8RWjWn";
const RSA_N: &str = "vob7v8RduiN7BF3A6huwW2dW_tL3nsSmpzmc9JjZW2-fhKzQPyGoNxfbNkjB3H8TiwO-q0izNpqhWFRNn3ZbblM_H5pD94wzymbP8bcNFDPapWyj11S-_Js6jATFLUqirmw00DMAOmZe9DrzVOLioDweg4SA4U4f1Uiv5o89jKXMbFqrQ4gI7a8VRQDBZjKjhw_Kqh3MjODkPnYQ2nZJtMetPfxX7T61ZxL3UXVW_0yht06qmUgADWzPDLDLBD3b13xKhbOVxfi1EKjGAUDLWIfmHBVv8EnKEXBBrIWD6S4LGStt4clQL8DlMyJmNUvua5FROEeXZGEhaezp_GQbgw";

fn p256(kid: &str) -> Value {
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": P256_X, "y": P256_Y})
}

fn verifier(keys: &[Value]) -> Result<JwtVerifier, VerifierError> {
    let jwks = json!({ "keys": keys }).to_string();
    JwtVerifier::new(
        &jwks,
        "https://issuer.example.test",
        vec!["agent-tools".to_owned()],
        vec![],
    )
}

fn kids(verifier: &JwtVerifier) -> Vec<Option<&str>> {
    verifier
        .keys
        .keys
        .iter()
        .map(|k| k.kid.as_deref())
        .collect()
}

#[test]
fn keys_the_verifier_cannot_use_are_skipped_not_fatal() {
    let unusable = [
        json!({"kty": "EC", "crv": "P-521", "kid": "es512", "alg": "ES512",
               "x": P521_X, "y": P521_Y}),
        json!({"kty": "EC", "crv": "P-521", "kid": "p521", "x": P521_X, "y": P521_Y}),
        json!({"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP", "n": RSA_N, "e": "AQAB"}),
        json!({"kty": "RSA", "kid": "oaep", "alg": "RSA-OAEP-256", "n": RSA_N, "e": "AQAB"}),
        json!({"kty": "PQC", "kid": "future", "pub": "AAAA"}),
        json!({"kty": "EC", "crv": "P-256", "kid": "broken", "x": "!!", "y": P256_Y}),
        json!({"kty": "RSA", "kid": "ec-alg", "alg": "ES256", "n": RSA_N, "e": "AQAB"}),
        json!("not a key"),
    ];
    let mut keys = unusable.to_vec();
    keys.push(p256("good"));
    keys.push(
        json!({"kty": "RSA", "kid": "rsa", "use": "sig", "alg": "RS256",
                     "n": RSA_N, "e": "AQAB"}),
    );
    let verifier = verifier(&keys).unwrap();
    assert_eq!(kids(&verifier), [Some("good"), Some("rsa")]);
    let skipped: Vec<String> = verifier
        .skipped_keys()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(skipped.len(), unusable.len(), "{skipped:#?}");
    for (i, expected) in [
        "key `es512` skipped: curve P521",
        "key `p521` skipped: curve P521",
        "key `enc` skipped: its `use` is \"enc\"",
        "key `oaep` skipped: its `alg` `RSA-OAEP-256` cannot verify JWTs here",
        "key `future` skipped: its key type (`kty`)",
        "key `broken` skipped",
        "key `ec-alg` skipped: its `alg` `ES256` does not fit its key type",
        "a key without `kid` skipped",
    ]
    .into_iter()
    .enumerate()
    {
        assert!(
            skipped[i].starts_with(expected),
            "{expected}: {}",
            skipped[i]
        );
    }
}

#[test]
fn a_set_without_one_usable_key_is_refused_with_every_reason() {
    let err = verifier(&[
        json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": RSA_N, "e": "AQAB"}),
        json!({"kty": "EC", "crv": "P-521", "kid": "es512", "alg": "ES512", "x": P521_X, "y": P521_Y}),
    ])
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no signing key this verifier can use"),
        "{text}"
    );
    assert!(text.contains("key `enc` skipped"), "{text}");
    assert!(text.contains("key `es512` skipped"), "{text}");
    assert!(verifier(&[]).is_err());
}

#[test]
fn symmetric_keys_still_refuse_the_whole_set() {
    let oct = json!({"kty": "oct", "kid": "shared", "k": "c2VjcmV0"});
    assert_eq!(
        verifier(&[p256("good"), oct]).unwrap_err(),
        VerifierError::Jwks(JwksError::SymmetricKey(KeyName(Some("shared".to_owned()))))
    );
    let hs_on_rsa =
        json!({"kty": "RSA", "kid": "confused", "alg": "HS256", "n": RSA_N, "e": "AQAB"});
    assert!(matches!(
        verifier(&[p256("good"), hs_on_rsa]).unwrap_err(),
        VerifierError::Jwks(JwksError::SymmetricAlgorithm(_))
    ));
}

#[test]
fn an_ec_key_verifies_only_the_algorithm_of_its_curve() {
    let verifier = verifier(&[p256("good")]).unwrap();
    assert_eq!(verifier.keys.keys[0].algorithms, [Algorithm::ES256]);
}

#[test]
fn the_token_names_its_algorithm_and_key_and_the_key_must_allow_it() {
    let verifier = verifier(&[p256("a"), p256("b")]).unwrap();
    let token = |header: &str| {
        use base64::Engine as _;
        let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
        format!("{}.{}.c2ln", b64(header), b64(r#"{"sub":"a"}"#))
    };
    for (header, reason) in [
        (
            r#"{"alg":"none","kid":"a"}"#,
            "algorithm `none` is not allowed",
        ),
        (
            r#"{"alg":"ES512","kid":"a"}"#,
            "algorithm `ES512` is not allowed",
        ),
        (
            r#"{"alg":"RS256","kid":"a"}"#,
            "algorithm `RS256` is not allowed",
        ),
        (r#"{"alg":"ES256"}"#, "names no key"),
        (r#"{"alg":"ES256","kid":"c"}"#, "no key `c`"),
        (
            r#"{"alg":"ES256","kid":7}"#,
            "header's `kid` is missing or not a string",
        ),
        (
            r#"{"kid":"a"}"#,
            "header's `alg` is missing or not a string",
        ),
        (r#"{"alg":"ES256","kid":"a"}"#, "signature does not verify"),
    ] {
        let err = verifier.verify(&token(header)).unwrap_err();
        assert!(err.to_string().contains(reason), "{header}: {err}");
    }
}
