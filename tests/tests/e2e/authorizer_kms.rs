//! The authorizer, built, signing caller assertions with a KMS key in the emulator: what it
//! passes on verifies against the key's public half as the tools will load it
//! (`GetPublicKey`), bound to the call.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_kms::{
    Client,
    primitives::Blob,
    types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use caller::{ASSERTION_FIELD, Binding, LocalSigner, Verifier};
use e2e::{Emulator, Function, GATEWAY_ARN, RuntimeApi, emulator::workspace};
use guard::Principal;
use serde_json::{Value, json};

fn event(name: &str) -> Value {
    let path = workspace().join("events/authorizer").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A P-256 signing key in the emulator: its ARN and its public half, as the tools load it.
async fn signing_key(kms: &Client) -> (String, Vec<u8>) {
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description("caller assertions (e2e)")
        .send()
        .await
        .unwrap();
    let arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let public = kms.get_public_key().key_id(&arn).send().await.unwrap();
    (arn, public.public_key().unwrap().as_ref().to_vec())
}

/// The authorizer against `emulator`, signing with `key`.
fn start(emulator: &Emulator, key: &str) -> (RuntimeApi, Function) {
    let api = RuntimeApi::start().unwrap();
    let mut env = emulator.env();
    env.push(("GATEWAY_ARN".to_owned(), GATEWAY_ARN.to_owned()));
    env.push(("CALLER_SIGNING_KEY".to_owned(), key.to_owned()));
    let function = Function::start("authorizer", api.address(), &env).unwrap();
    (api, function)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staging_call_goes_on_with_an_assertion_signed_by_the_kms_key() {
    let emulator = Emulator::start().unwrap();
    let kms = Client::new(&emulator.sdk_config().await);
    let (arn, public_key) = signing_key(&kms).await;
    let verifier = Verifier::new([(arn.as_str(), public_key.as_slice())]).unwrap();
    let (api, function) = start(&emulator, &arn);

    let input = event("interceptor-tools-call-staging.json");
    let output = api.invoke_json(&input).unwrap().response().unwrap();
    let passed = &output["mcp"]["transformedGatewayRequest"]["body"];
    assert!(passed.is_object(), "{output}");
    let arguments = &passed["params"]["arguments"];
    let mut expected = input["mcp"]["gatewayRequest"]["body"].clone();
    expected["params"]["arguments"][ASSERTION_FIELD] = arguments[ASSERTION_FIELD].clone();
    assert_eq!(passed, &expected);

    let binding = Binding {
        gateway: GATEWAY_ARN,
        tool: "terminate-instance___terminate_instance",
        arguments,
        mcp_request: Some("7"),
    };
    let token = arguments[ASSERTION_FIELD].as_str().unwrap();
    let verified = verifier.verify(token, &binding, SystemTime::now()).unwrap();
    let Principal::OAuthUser { id, tags } = verified.principal else {
        panic!("not an OAuth user: {:?}", verified.principal);
    };
    assert_eq!(id, "agent-7");
    assert_eq!(tags["scope"], "devops");
    // Bound to this call: the same assertion on the production instance is refused.
    let moved = json!({"environment": "staging", "instance_id": "i-0prod"});
    let rebound = Binding {
        arguments: &moved,
        ..binding
    };
    assert!(verifier.verify(token, &rebound, SystemTime::now()).is_err());
    assert_eq!(function.audit_records_at_least(1)[0]["outcome"], "allow");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_kms_cannot_sign_with_refuses_the_call() {
    let emulator = Emulator::start().unwrap();
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    let (api, function) = start(&emulator, missing);
    let output = api
        .invoke_json(&event("interceptor-tools-call-staging.json"))
        .unwrap()
        .response()
        .unwrap();
    let error = &output["mcp"]["transformedGatewayResponse"]["body"]["error"];
    assert_eq!(error["code"], -32002, "{output}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("the caller could not be vouched for"),
        "{message}"
    );
    assert!(output["mcp"].get("transformedGatewayRequest").is_none());
    let outcomes: Vec<Value> = function
        .audit_records_at_least(2)
        .iter()
        .map(|r| r["outcome"].clone())
        .collect();
    assert_eq!(outcomes, [json!("allow"), json!("error")]);
}

/// Not a check: how long signing takes, KMS (the emulator, on loopback) against a key in
/// memory. Run with `cargo nextest run -p e2e --run-ignored only authorizer_kms --no-capture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn measure_signing() {
    const ROUNDS: u32 = 50;
    let emulator = Emulator::start().unwrap();
    let kms = Client::new(&emulator.sdk_config().await);
    let (arn, _) = signing_key(&kms).await;
    let message = vec![b'x'; 700];
    let started = Instant::now();
    for _ in 0..ROUNDS {
        kms.sign()
            .key_id(&arn)
            .message(Blob::new(message.clone()))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .unwrap();
    }
    let kms_each = started.elapsed() / ROUNDS;

    let signer = LocalSigner::generate("local").unwrap();
    let caller = Principal::OAuthUser {
        id: "agent-7".into(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };
    let arguments = json!({"environment": "staging", "instance_id": "i-0abc123def4567890"});
    let binding = Binding {
        gateway: GATEWAY_ARN,
        tool: "terminate-instance___terminate_instance",
        arguments: &arguments,
        mcp_request: Some("7"),
    };
    let started = Instant::now();
    for round in 0..ROUNDS {
        let jti = round.to_string();
        caller::issue(
            &signer,
            &caller,
            &binding,
            SystemTime::now(),
            Duration::from_secs(30),
            &jti,
        )
        .await
        .unwrap();
    }
    let local_each = started.elapsed() / ROUNDS;
    eprintln!(
        "KMS Sign against the emulator: {kms_each:?} per call; issue with LocalSigner: {local_each:?} per assertion ({ROUNDS} rounds each)"
    );
}
