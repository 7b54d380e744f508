//! The interceptor's REQUEST path (issue 24), each figure beside its reference in the same run:
//!
//! - `interceptor/request_path`: one `tools/call` REQUEST event from its payload bytes to the
//!   answer's bytes, as [`Authorizer::handle`] answers it behind a `NONE` gateway: the event
//!   parsed, the bearer token (ES256) verified here against the configured JWKS (parsed once,
//!   at start), the guard's call check with the verified caller, the caller assertion issued
//!   and signed with a key in memory ([`LocalSigner`]), the answer serialised. The audit sink
//!   is [`NoAudit`] (the record is built, not written), as in the guard's benchmarks;
//! - `interceptor/request_path_gateway_verified`: the same behind a `CUSTOM_JWT` gateway (the
//!   default deployment): the gateway verified the token, the interceptor reads its claims;
//! - `interceptor/request_path_kms_mocked`: the same as `request_path`, signing through the
//!   deployed [`KmsSigner`] with the KMS `Sign` call answered by aws-smithy-mocks: the SDK's own
//!   work is measured, the round trip to KMS is not (it is a network call, milliseconds in a
//!   region, and cannot be measured offline);
//! - `interceptor/jwt_verify`, `interceptor/assertion_local_sign`,
//!   `interceptor/kms_sign_mocked`: those steps alone;
//! - `interceptor/bare_is_authorized`: the reference, Cedar alone (`is_authorized`) on the
//!   same request, with the caller's entity built in advance.
//!
//! Run with `cargo bench -p authorizer --bench interceptor`; `tests/bench.sh` runs it with the
//! other benchmarks and reports the figures in one table.

#![expect(
    clippy::unwrap_used,
    reason = "benchmark setup: a failure must stop the run"
)]
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::{
    hint::black_box,
    str::FromStr,
    sync::Arc,
    time::{Duration, SystemTime},
};

use authorizer::{Authorizer, AuthorizerConfig, CallerSigner, JwtVerifier, KmsSigner};
use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair},
};
use aws_sdk_kms::{Client, operation::sign::SignOutput, primitives::Blob};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use caller::{ASSERTION_FIELD, Binding, LocalSigner, Signer as _, issue};
use cedar_policy::{Context, Entities, EntityUid, Request};
use criterion::{Criterion, criterion_group, criterion_main};
use guard::{
    ActionType, EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, NoAudit, PolicySources, Principal,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use lambda_host::LambdaEvent;
use serde_json::{Value, json};

const TERMINATE: &str = "terminate-instance___terminate_instance";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ISSUER: &str = "https://issuer.example.test";
const AUDIENCE: &str = "agent-tools";
const KID: &str = "issuer-key-1";

/// The issuer's key: its signing half and its JWKS.
struct IssuerKey {
    signing: EncodingKey,
    jwks: String,
}

impl IssuerKey {
    fn new() -> Self {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        let signing = EncodingKey::from_ec_der(pkcs8.as_ref());
        let mut jwk = Jwk::from_encoding_key(&signing, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(KID.to_owned());
        let jwks = json!({"keys": [jwk]}).to_string();
        Self { signing, jwks }
    }

    /// An access token of the kind an agent sends: an hour to live.
    fn token(&self) -> String {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({
            "sub": "agent-7", "iss": ISSUER, "aud": AUDIENCE, "scope": "devops",
            "username": "ops-agent", "client_id": "7f3kq2m9d1l0a8s6v4b5n3c2x1",
            "iat": now, "exp": now + 3600,
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.signing).unwrap()
    }
}

/// An authorizer configured by `settings` (as the function's environment), with `signer`.
fn authorizer(settings: &[(&str, &str)], signer: CallerSigner) -> Authorizer {
    let env: Vec<(String, String)> = settings
        .iter()
        .chain(&[
            ("GATEWAY_ARN", EXAMPLE_GATEWAY_ARN),
            ("CALLER_SIGNING_KEY", KEY_ARN),
        ])
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (guard_config, warnings) = GuardConfig::from_lookup(lookup);
    assert!(warnings.is_empty(), "{warnings:?}");
    // As a deployed function builds it: the policies compiled in.
    let guard = Guard::new(&PolicySources::compiled(), &guard_config, Arc::new(NoAudit));
    let config = AuthorizerConfig::new(&guard_config, lookup);
    assert!(config.problems().is_empty(), "{:?}", config.problems());
    Authorizer::new(guard, config).with_signer(signer)
}

/// A `tools/call` REQUEST interceptor event with the caller's token, as bytes.
fn event(arguments: &Value, token: &str) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call",
                      "params": {"name": TERMINATE, "arguments": arguments}});
    let event = json!({
        "interceptorInputVersion": "1.0",
        "mcp": {
            "rawGatewayRequest": {"body": body.to_string()},
            "gatewayRequest": {
                "path": "/mcp", "httpMethod": "POST", "body": body,
                "headers": {
                    "Accept": "application/json, text/event-stream",
                    "Authorization": format!("Bearer {token}"),
                    "Mcp-Session-Id": "5b0e8f6c-3d7a-4c1e-9f2b-8a6d4e3c2b1a",
                },
            },
            "gatewayResponse": null,
        },
    });
    serde_json::to_vec(&event).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One invocation: payload bytes in, answer bytes out.
fn answer(rt: &tokio::runtime::Runtime, authorizer: &Authorizer, payload: &[u8]) -> Vec<u8> {
    let event: Value = serde_json::from_slice(payload).unwrap();
    let mut context = lambda_host::Context::default();
    "lambda-request-1".clone_into(&mut context.request_id);
    let answer = rt
        .block_on(authorizer.handle(LambdaEvent::new(event, context)))
        .unwrap();
    serde_json::to_vec(&answer).unwrap()
}

/// Whether the answer passes the call on with a caller assertion.
fn vouched(answer: &[u8]) -> bool {
    let answer: Value = serde_json::from_slice(answer).unwrap();
    answer
        .pointer(&format!(
            "/mcp/transformedGatewayRequest/body/params/arguments/{ASSERTION_FIELD}"
        ))
        .is_some_and(Value::is_string)
}

/// KMS answering every `Sign` with a well-formed P-256 signature (DER, as KMS returns it).
fn kms_sign() -> Rule {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let der = key
        .sign(&SystemRandom::new(), b"any message")
        .unwrap()
        .as_ref()
        .to_vec();
    mock!(Client::sign)
        .sequence()
        .output(move || {
            SignOutput::builder()
                .key_id(KEY_ARN)
                .signature(Blob::new(der.clone()))
                .build()
        })
        .repeatedly()
        .build()
}

/// Cedar alone on the request the interceptor asks: the caller's entity built in advance.
fn bare_request(guard: &Guard, principal: &Principal, arguments: &Value) -> (Request, Entities) {
    let sets = guard.policy_sets().unwrap();
    let schema = sets.schema();
    let action = EntityUid::from_str(&ActionType::Call.uid_string(TERMINATE)).unwrap();
    let gateway =
        EntityUid::from_str(&format!("AgentCore::Gateway::\"{EXAMPLE_GATEWAY_ARN}\"")).unwrap();
    let context =
        Context::from_json_value(json!({ "input": arguments }), Some((schema, &action))).unwrap();
    let request = Request::new(
        EntityUid::from_str(&principal.uid_string()).unwrap(),
        action,
        gateway,
        context,
        Some(schema),
    )
    .unwrap();
    let Principal::OAuthUser { id, tags } = principal else {
        return (request, Entities::empty());
    };
    let entities = Entities::from_json_value(
        json!([{
            "uid": {"type": "AgentCore::OAuthUser", "id": id},
            "attrs": {"id": id},
            "parents": [],
            "tags": tags,
        }]),
        Some(schema),
    )
    .unwrap();
    (request, entities)
}

fn interceptor(c: &mut Criterion) {
    let rt = runtime();
    let issuer = IssuerKey::new();
    let token = issuer.token();
    let arguments = json!({"environment": "staging", "instance_id": "i-0abc1234def567890"});
    let payload = event(&arguments, &token);
    let verify_here = [
        ("GATEWAY_AUTHORIZER_TYPE", "NONE"),
        ("JWT_JWKS", issuer.jwks.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ];
    let local = || CallerSigner::Local(LocalSigner::generate(KEY_ARN).unwrap());
    let verifying = authorizer(&verify_here, local());
    let gateway_verified = authorizer(&[("GATEWAY_AUTHORIZER_TYPE", "CUSTOM_JWT")], local());
    let sign = kms_sign();
    let kms = KmsSigner::new(
        mock_client!(aws_sdk_kms, RuleMode::MatchAny, [&sign]),
        KEY_ARN,
    );
    let through_kms = authorizer(&verify_here, CallerSigner::Kms(kms.clone()));
    for each in [&verifying, &gateway_verified, &through_kms] {
        assert!(vouched(&answer(&rt, each, &payload)), "passed on, vouched");
    }
    assert!(sign.num_calls() > 0, "signed through the mocked KMS");

    let verifier =
        JwtVerifier::new(&issuer.jwks, ISSUER, vec![AUDIENCE.to_owned()], Vec::new()).unwrap();
    let claims = verifier.verify(&token).unwrap();
    let principal = authorizer::token::principal(&claims).unwrap();
    let signer = LocalSigner::generate(KEY_ARN).unwrap();
    let binding = Binding {
        gateway: EXAMPLE_GATEWAY_ARN,
        tool: TERMINATE,
        arguments: &arguments,
        mcp_request: Some("42"),
    };
    let lifetime = Duration::from_secs(30);
    let assertion_id = "5b0e8f6c-3d7a-4c1e-9f2b-8a6d4e3c2b1a";
    rt.block_on(issue(
        &signer,
        &principal,
        &binding,
        SystemTime::now(),
        lifetime,
        assertion_id,
    ))
    .unwrap();

    let guard = verifying.guard();
    let (request, entities) = bare_request(guard, &principal, &arguments);
    let gateway_set = guard.gateway_set().unwrap();
    let cedar = cedar_policy::Authorizer::new();
    assert_eq!(
        cedar
            .is_authorized(&request, gateway_set, &entities)
            .decision(),
        cedar_policy::Decision::Allow
    );

    let mut group = c.benchmark_group("interceptor");
    group.bench_function("request_path", |b| {
        b.iter(|| answer(&rt, &verifying, black_box(&payload)))
    });
    group.bench_function("request_path_gateway_verified", |b| {
        b.iter(|| answer(&rt, &gateway_verified, black_box(&payload)))
    });
    group.bench_function("request_path_kms_mocked", |b| {
        b.iter(|| answer(&rt, &through_kms, black_box(&payload)))
    });
    group.bench_function("jwt_verify", |b| {
        b.iter(|| verifier.verify(black_box(&token)))
    });
    group.bench_function("assertion_local_sign", |b| {
        b.iter(|| {
            rt.block_on(issue(
                &signer,
                black_box(&principal),
                black_box(&binding),
                SystemTime::now(),
                lifetime,
                assertion_id,
            ))
        })
    });
    group.bench_function("kms_sign_mocked", |b| {
        b.iter(|| rt.block_on(kms.sign(black_box(b"header.claims"))))
    });
    group.bench_function("bare_is_authorized", |b| {
        b.iter(|| cedar.is_authorized(black_box(&request), gateway_set, &entities))
    });
    group.finish();
}

criterion_group!(benches, interceptor);
criterion_main!(benches);
