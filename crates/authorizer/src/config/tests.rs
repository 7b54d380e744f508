use guard::{AuthorizerType, GuardConfig};

use super::*;

#[test]
fn the_form_defaults_to_the_interceptor_and_refuses_unknown_names() {
    assert_eq!(Form::from_setting(None), Ok(Form::GatewayInterceptor));
    assert_eq!(Form::from_setting(Some(" ")), Ok(Form::GatewayInterceptor));
    assert_eq!(Form::from_setting(Some("http-api")), Ok(Form::HttpApi));
    assert_eq!(Form::from_setting(Some("rest-api")), Ok(Form::RestApi));
    let err = Form::from_setting(Some("REST")).unwrap_err();
    assert!(err.to_string().contains("`REST`"), "{err}");
}

#[test]
fn an_api_gateway_form_without_verification_reports_every_missing_part() {
    let env = |name: &str| (name == "AUTHORIZER_FORM").then(|| "http-api".to_owned());
    let config = AuthorizerConfig::from_lookup(env);
    let problems: Vec<String> = config.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("AUTHORIZER_ROUTES is not set"));
    assert!(problems[1].contains("JWT_JWKS"));
}

/// A public P-256 key (its private half was thrown away): enough to build a verifier.
const JWKS: &str = r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
  "x": "lr24TvQgTNI7ipSMI4drnBLKhtaNsuNnOtO8bTUPQlE",
  "y": "8m7SQCtPsERMR5Yc404Dfmn0wnYwrZd_K6S_ox4W0Mc"}]}"#;

fn config(env: &[(&str, &str)]) -> AuthorizerConfig {
    AuthorizerConfig::from_lookup(|name| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

const VERIFICATION: [(&str, &str); 3] = [
    ("JWT_JWKS", JWKS),
    ("JWT_ISSUER", "https://issuer.example.test"),
    ("JWT_AUDIENCE", "agent-tools"),
];

#[test]
fn the_authorizer_type_comes_from_the_guards_configuration() {
    let guard = GuardConfig {
        authorizer_type: Ok(AuthorizerType::AwsIam),
        ..GuardConfig::default()
    };
    // The authorizer's own lookup is never asked for it.
    let config = AuthorizerConfig::new(&guard, |name| {
        assert_ne!(name, "GATEWAY_AUTHORIZER_TYPE");
        None
    });
    assert_eq!(config.authorizer_type, Ok(AuthorizerType::AwsIam));
    assert!(matches!(
        config.trust,
        Ok(Trust::Nobody(AuthorizerType::AwsIam))
    ));
}

#[test]
fn a_gateway_that_verified_the_jwt_is_trusted_unless_verification_is_configured() {
    for authorizer_type in ["CUSTOM_JWT", "AUTHENTICATE_ONLY", ""] {
        let trusted = config(&[("GATEWAY_AUTHORIZER_TYPE", authorizer_type)]);
        assert!(
            matches!(trusted.trust, Ok(Trust::GatewayVerified(_))),
            "{authorizer_type}: {:?}",
            trusted.trust
        );
        assert!(trusted.problems().is_empty());
        let mut env = VERIFICATION.to_vec();
        env.push(("GATEWAY_AUTHORIZER_TYPE", authorizer_type));
        let verifying = config(&env);
        assert!(
            matches!(verifying.trust, Ok(Trust::VerifiedHere(_))),
            "{authorizer_type}: {:?}",
            verifying.trust
        );
        // Half a verification configuration is a broken one, never a reason to trust.
        let half = config(&[
            ("GATEWAY_AUTHORIZER_TYPE", authorizer_type),
            ("JWT_ISSUER", "https://issuer.example.test"),
        ]);
        let err = half.trust.unwrap_err();
        assert!(err.to_string().contains("JWT_JWKS"), "{err}");
    }
}

#[test]
fn a_none_gateway_verifies_here_or_names_what_is_missing() {
    let mut env = VERIFICATION.to_vec();
    env.push(("GATEWAY_AUTHORIZER_TYPE", "NONE"));
    assert!(matches!(config(&env).trust, Ok(Trust::VerifiedHere(_))));
    let unconfigured = config(&[("GATEWAY_AUTHORIZER_TYPE", "NONE")]);
    let problems: Vec<String> = unconfigured
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    for named in ["`NONE`", "JWT_JWKS", "JWT_ISSUER", "JWT_AUDIENCE"] {
        assert!(problems[0].contains(named), "{named}: {problems:?}");
    }
    let no_audience = config(&[
        ("GATEWAY_AUTHORIZER_TYPE", "NONE"),
        ("JWT_JWKS", JWKS),
        ("JWT_ISSUER", "https://issuer.example.test"),
    ]);
    assert!(
        no_audience
            .trust
            .unwrap_err()
            .to_string()
            .contains("set JWT_AUDIENCE")
    );
}

#[test]
fn an_unknown_gateway_authorizer_type_is_a_problem_in_every_form() {
    for spelling in [
        "authenticate_only",
        " AUTHENTICATE_ONLY",
        "CUSTOM_JWT ",
        "None",
    ] {
        let config = config(&[("GATEWAY_AUTHORIZER_TYPE", spelling)]);
        let err = config.trust.as_ref().unwrap_err();
        assert!(
            err.to_string().contains("unknown GATEWAY_AUTHORIZER_TYPE"),
            "{err}"
        );
        assert_eq!(config.problems().len(), 1);
        assert!(config.authorizer_type.is_err());
    }
}

#[test]
fn the_max_lifetime_is_a_duration_read_once_with_a_clear_error() {
    let mut env = VERIFICATION.to_vec();
    env.push(("JWT_MAX_LIFETIME", "90m"));
    let verifier = config(&env).verifier.unwrap();
    assert!(format!("{verifier:?}").contains("5400s"), "{verifier:?}");
    let Ok(Trust::GatewayVerified(rules)) = config(&[("JWT_MAX_LIFETIME", " 2h ")]).trust else {
        panic!("not trusted");
    };
    assert_eq!(rules.max_lifetime, std::time::Duration::from_secs(7200));
    let Ok(Trust::GatewayVerified(rules)) = config(&[]).trust else {
        panic!("not trusted");
    };
    assert_eq!(
        rules.max_lifetime,
        std::time::Duration::from_secs(24 * 3600)
    );
    for bad in ["86400", "a day", "0s", "-1h"] {
        let err = config(&[("JWT_MAX_LIFETIME", bad)]).trust.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("JWT_MAX_LIFETIME"), "{bad}: {text}");
        assert!(text.contains(&format!("`{bad}`")), "{bad}: {text}");
        let mut env = VERIFICATION.to_vec();
        env.push(("JWT_MAX_LIFETIME", bad));
        assert!(matches!(
            config(&env).verifier,
            Err(ConfigError::MaxLifetime { .. })
        ));
    }
}

#[test]
fn the_interceptor_needs_no_api_gateway_settings() {
    let config = AuthorizerConfig::from_lookup(|_| None);
    assert_eq!(config.form, Ok(Form::GatewayInterceptor));
    assert!(config.problems().is_empty());
}

#[test]
fn the_jwks_is_given_once() {
    let env = |name: &str| match name {
        "JWT_JWKS" | "JWT_JWKS_FILE" => Some("x".to_owned()),
        _ => None,
    };
    let config = AuthorizerConfig::from_lookup(env);
    assert_eq!(config.verifier.unwrap_err(), ConfigError::TwoJwks);
}

#[test]
fn a_broken_assertion_lifetime_is_a_problem_of_the_interceptor_only() {
    let broken = [
        ("CALLER_SIGNING_KEY", "k"),
        ("CALLER_ASSERTION_LIFETIME", "2m"),
    ];
    let problems: Vec<String> = config(&broken)
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("CALLER_ASSERTION_LIFETIME `2m`"));
    let mut api = broken.to_vec();
    api.extend([("AUTHORIZER_FORM", "http-api"), ("AUTHORIZER_ROUTES", "{}")]);
    api.extend(VERIFICATION);
    assert!(
        config(&api)
            .problems()
            .iter()
            .all(|p| !p.to_string().contains("CALLER_ASSERTION_LIFETIME"))
    );
}
