//! What verifying the caller assertion adds to a tool call (issue 20: at most 100 µs), each
//! figure beside its reference in the same run:
//!
//! - `caller_assertion/verify`: [`Verifier::verify`] of a realistic assertion, as a tool does
//!   it on the arguments it received (the assertion among them): an OAuth caller with four
//!   tags, `terminate_instance` arguments, an MCP request id, a KMS key ARN as `kid`;
//! - `caller_assertion/bare_ecdsa_p256`: the irreducible part, aws-lc-rs's P-256 verify of the
//!   same signing input with the same parsed key and the signature decoded in advance;
//! - `caller_assertion/arguments_digest`: the binding's other cost, the canonical arguments'
//!   SHA-256, alone;
//! - `caller_assertion/guard_decision`: the guard's call check the tool then makes for the
//!   verified caller on the same call, so the added cost reads against the decision.
//!
//! Run with `cargo bench -p caller --bench verify`; `tests/bench.sh` runs it with the guard's
//! benchmarks and prints the figures beside the others.

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
    sync::Arc,
    time::{Duration, SystemTime},
};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use caller::{ASSERTION_FIELD, Binding, LocalSigner, Verifier, arguments_digest, issue};
use criterion::{Criterion, criterion_group, criterion_main};
use guard::{EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, NoAudit, PolicySources, Principal, ToolCall};
use serde_json::{Value, json};

const TERMINATE: &str = "terminate-instance___terminate_instance";
const KEY_ARN: &str = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn caller() -> Principal {
    Principal::OAuthUser {
        id: "agent-7".to_owned(),
        tags: [
            ("scope".to_owned(), "devops".to_owned()),
            ("username".to_owned(), "ops-agent".to_owned()),
            ("cognito:groups".to_owned(), "on-call".to_owned()),
            (
                "client_id".to_owned(),
                "7f3kq2m9d1l0a8s6v4b5n3c2x1".to_owned(),
            ),
        ]
        .into(),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn caller_assertion(c: &mut Criterion) {
    let signer = LocalSigner::generate(KEY_ARN).unwrap();
    let der = signer.public_key_der();
    let verifier = Verifier::new([(KEY_ARN, der.as_slice())]).unwrap();
    let principal = caller();
    let now = SystemTime::now();
    // What the agent sent; the interceptor signs over it and adds the assertion.
    let sent = json!({"environment": "staging", "instance_id": "i-0abc1234def567890"});
    let token = block_on(issue(
        &signer,
        &principal,
        &Binding {
            gateway: EXAMPLE_GATEWAY_ARN,
            tool: TERMINATE,
            arguments: &sent,
            mcp_request: Some("42"),
        },
        now,
        Duration::from_secs(30),
        "5b0e8f6c-3d7a-4c1e-9f2b-8a6d4e3c2b1a",
    ))
    .unwrap();
    // What the tool receives: the same arguments with the assertion among them.
    let mut received = sent.clone();
    if let Value::Object(fields) = &mut received {
        fields.insert(ASSERTION_FIELD.to_owned(), Value::String(token.clone()));
    }
    let binding = Binding {
        gateway: EXAMPLE_GATEWAY_ARN,
        tool: TERMINATE,
        arguments: &received,
        mcp_request: Some("42"),
    };
    assert_eq!(
        verifier.verify(&token, &binding, now).unwrap().principal,
        principal
    );

    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &der).unwrap();
    key.verify_sig(signing_input.as_bytes(), &signature)
        .unwrap();

    let guard = Guard::new(
        &PolicySources::compiled(),
        &GuardConfig {
            gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
            ..GuardConfig::default()
        },
        Arc::new(NoAudit),
    );
    let ids = guard::RequestIds::default();
    let call = ToolCall {
        tool: TERMINATE,
        input: &sent,
        principal: Some(&principal),
        ids: &ids,
    };
    assert!(guard.check_call(&call).is_allow());

    let mut group = c.benchmark_group("caller_assertion");
    group.bench_function("verify", |b| {
        b.iter(|| verifier.verify(black_box(&token), black_box(&binding), now))
    });
    group.bench_function("bare_ecdsa_p256", |b| {
        b.iter(|| key.verify_sig(black_box(signing_input.as_bytes()), black_box(&signature)))
    });
    group.bench_function("arguments_digest", |b| {
        b.iter(|| arguments_digest(black_box(&received)))
    });
    group.bench_function("guard_decision", |b| {
        b.iter(|| guard.check_call(black_box(&call)))
    });
    group.finish();
}

criterion_group!(benches, caller_assertion);
criterion_main!(benches);
