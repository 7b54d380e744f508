//! The interceptor and a tool, both built, back to back on the emulator (issue 20): what the
//! interceptor passes on is the tool's input. The tool verifies the caller assertion against
//! the KMS key's public half, decides with the caller, and makes its mutation in a role session
//! whose `SourceIdentity` names the caller — checked in the emulator's own request log. Forged,
//! expired, replayed, re-bound, missing and agent-supplied assertions are refused and audited,
//! in `ENFORCE` and `LOG_ONLY`. And the caller-specific policy decides alike at the interceptor
//! and inside the tool, on every case of its suite.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{
    path::PathBuf,
    time::{Duration, SystemTime},
};

use agentcore_target::gateway_client_context_for;
use aws_sdk_kms::{
    Client,
    primitives::Blob,
    types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use caller::{ASSERTION_FIELD, Binding, LocalSigner, SignError, Signer};
use e2e::{
    Emulator, Function, GATEWAY_ARN, GATEWAY_ID, Invocation, RuntimeApi,
    emulator::workspace,
    stage::report,
    world::{self, World},
};
use guard::Principal;
use serde_json::{Value, json};

/// The role the tools assume to act as the caller (the emulator does not check it exists).
const CALLER_ROLE: &str = "arn:aws:iam::123456789012:role/agent-guard-acting-as-caller";

/// The KMS key in the emulator, as a [`Signer`]: for assertions the interceptor would never
/// make (expired ones), signed with the real key.
struct KmsKey {
    kms: Client,
    arn: String,
}

impl Signer for KmsKey {
    fn key_id(&self) -> &str {
        &self.arn
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let out = self
            .kms
            .sign()
            .key_id(&self.arn)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| SignError(e.to_string()))?;
        let der = out.signature().unwrap().as_ref();
        Ok(caller::ecdsa_der_to_fixed(der).unwrap().to_vec())
    }
}

/// The interceptor and one tool on one seeded emulator that records every request.
struct Chain {
    world: World,
    config: aws_config::SdkConfig,
    key: KmsKey,
    recording: PathBuf,
    interceptor: (RuntimeApi, Function),
    tool: (RuntimeApi, Function),
    _dir: tempfile::TempDir,
    _emulator: Emulator,
}

impl Chain {
    /// `tool` (a built function) behind the interceptor, both in `mode`, the tool requiring a
    /// caller and acting as it.
    async fn start(tool: &str, mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let recording = dir.path().join("requests.jsonl");
        let emulator = Emulator::start_recording(&recording).unwrap();
        let config = emulator.sdk_config().await;
        let world = world::seed(&config).await.unwrap();
        let kms = Client::new(&config);
        let created = kms
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .unwrap();
        let arn = created.key_metadata().unwrap().arn().unwrap().to_owned();
        let common = |extra: &[(&str, &str)]| {
            let mut env = emulator.env();
            for (k, v) in [
                ("GATEWAY_ARN", GATEWAY_ARN),
                ("GUARD_MODE", mode),
                (caller::SIGNING_KEY_VAR, arn.as_str()),
            ]
            .iter()
            .chain(extra)
            {
                env.push(((*k).to_owned(), (*v).to_owned()));
            }
            env
        };
        let interceptor_api = RuntimeApi::start().unwrap();
        let interceptor =
            Function::start("authorizer", interceptor_api.address(), &common(&[])).unwrap();
        let tool_api = RuntimeApi::start().unwrap();
        let clusters = world.ecs_clusters();
        let tool_env = common(&[
            ("CALLER", "required"),
            ("CALLER_ROLE_ARN", CALLER_ROLE),
            ("ECS_CLUSTERS", clusters.as_str()),
            ("BUDGETS", "OFF"),
        ]);
        let tool = Function::start(tool, tool_api.address(), &tool_env).unwrap();
        Self {
            world,
            config,
            key: KmsKey { kms, arn },
            recording,
            interceptor: (interceptor_api, interceptor),
            tool: (tool_api, tool),
            _dir: dir,
            _emulator: emulator,
        }
    }

    /// The interceptor's answer to a `tools/call` of `tool` with `arguments`, JSON-RPC id
    /// `id`, from a caller whose (gateway-verified) token carries `claims`.
    fn intercept(&self, tool: &str, arguments: &Value, id: u64, claims: &Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": arguments}});
        let event = json!({
            "interceptorInputVersion": "1.0",
            "mcp": {
                "rawGatewayRequest": {"body": body.to_string()},
                "gatewayRequest": {
                    "path": "/mcp",
                    "httpMethod": "POST",
                    "headers": {"Authorization": format!("Bearer {}", token(claims))},
                    "body": body,
                },
            },
        });
        self.interceptor
            .0
            .invoke_json(&event)
            .unwrap()
            .response()
            .unwrap()
    }

    /// The tool's report and `isError` for `arguments`, invoked as the gateway would for the
    /// MCP request `id`.
    fn call_tool(&self, tool: &str, arguments: &Value, id: u64) -> (Value, bool) {
        let context =
            gateway_client_context_for(tool, GATEWAY_ID, "agentcore-req", &id.to_string());
        let answer = self
            .tool
            .0
            .invoke(
                Invocation::json(arguments).with_client_context(context.to_string()),
                Duration::from_secs(60),
            )
            .unwrap();
        report(answer).unwrap()
    }

    /// Through the gateway: the interceptor, then — when it passes the call on — the tool with
    /// exactly the arguments it passed. `None` when the interceptor refused.
    fn through_gateway(
        &self,
        tool: &str,
        arguments: &Value,
        id: u64,
        claims: &Value,
    ) -> (Value, Option<(Value, bool)>) {
        let answer = self.intercept(tool, arguments, id, claims);
        let passed = answer["mcp"]["transformedGatewayRequest"]["body"].clone();
        if !passed.is_object() {
            return (answer, None);
        }
        let reached = self.call_tool(tool, &passed["params"]["arguments"], id);
        (passed, Some(reached))
    }

    /// An assertion the interceptor would make for `caller`, issued `at`, signed by the real
    /// key.
    async fn assertion(
        &self,
        caller: &Principal,
        tool: &str,
        arguments: &Value,
        id: u64,
        at: SystemTime,
    ) -> String {
        let mcp = id.to_string();
        let binding = Binding {
            gateway: GATEWAY_ARN,
            tool,
            arguments,
            mcp_request: Some(&mcp),
        };
        let jti = format!("test-{id}-{}", at.elapsed().map_or(0, |d| d.as_nanos()));
        caller::issue(
            &self.key,
            caller,
            &binding,
            at,
            Duration::from_secs(30),
            &jti,
        )
        .await
        .unwrap()
    }

    /// The requests the emulator served, by action (`Action=` of query protocols, or the
    /// `X-Amz-Target` of JSON ones), each with its body and `Authorization` header.
    fn requests(&self, action: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|entry| {
                let body = match (entry["body"].as_str(), entry["body_encoded"].as_bool()) {
                    (Some(b), Some(true)) => {
                        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).ok()?)
                            .ok()?
                    }
                    (Some(b), _) => b.to_owned(),
                    _ => String::new(),
                };
                let headers = &entry["headers"];
                let target = headers["X-Amz-Target"].as_str().unwrap_or_default();
                let auth = headers["Authorization"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (body.contains(&format!("Action={action}&")) || target.ends_with(action))
                    .then_some((body, auth))
            })
            .collect()
    }

    async fn instance_state(&self, id: &str) -> String {
        world::snapshot(&self.config, &self.world)
            .await
            .unwrap()
            .instance(id)
            .to_owned()
    }
}

/// A bearer token as a `CUSTOM_JWT` gateway passes it on, already verified by the gateway.
fn token(claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmVkLWJ5LXRoZS1nYXRld2F5",
        part(&json!({"alg": "RS256", "typ": "JWT", "kid": "idp"})),
        part(claims)
    )
}

fn agent_claims() -> Value {
    json!({"sub": "agent-7", "scope": "devops", "iss": "https://idp.example.test",
           "token_use": "access", "cognito:groups": ["oncall"]})
}

/// The audit records of the tool's refusal: one call-check record, an error, nothing after.
fn refused(chain: &Chain, report: &Value, is_error: bool, says: &str) {
    assert!(is_error, "{report}");
    assert_eq!(report["status"], "denied", "{report}");
    let message = report["message"].as_str().unwrap_or_default().to_owned() + &report.to_string();
    assert!(message.contains(says), "expected `{says}` in {report}");
    let last = chain.tool.1.audit_records().last().cloned().unwrap();
    assert_eq!(last["outcome"], "error", "{last}");
    assert!(last["errors"].to_string().contains(says), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_acts_as_the_caller_the_interceptor_vouched_for() {
    let chain = Chain::start("terminate_instance", "ENFORCE").await;
    let tool = "terminate-instance___terminate_instance";
    let instance = chain.world.staging.instances[0].clone();
    let arguments = json!({"environment": "staging", "instance_id": instance});

    let (passed, reached) = chain.through_gateway(tool, &arguments, 11, &agent_claims());
    let (report, is_error) = reached.unwrap_or_else(|| panic!("refused: {passed}"));
    assert!(!is_error, "{report}");
    assert_eq!(chain.instance_state(&instance).await, "terminated");
    assert_eq!(report["acting_as"], "agent-7", "{report}");

    // The tool decided with the verified caller.
    let records = chain.tool.1.audit_records_at_least(2);
    for record in &records {
        assert_eq!(record["caller"]["type"], "OAuthUser", "{record}");
        assert_eq!(record["caller"]["id"], "agent-7", "{record}");
        assert_eq!(
            record["caller"]["tags"]["cognito:groups"], r#"["oncall"]"#,
            "{record}"
        );
    }

    // AWS saw the caller: the role session carries it, and the termination was made with the
    // session's credentials, not the function's own.
    let assumed = chain.requests("AssumeRole");
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert!(
        assumed[0].0.contains("SourceIdentity=agent-7"),
        "{}",
        assumed[0].0
    );
    assert!(
        assumed[0].0.contains(
            "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fagent-guard-acting-as-caller"
        ),
        "{}",
        assumed[0].0
    );
    let terminations = chain.requests("TerminateInstances");
    assert_eq!(terminations.len(), 1);
    let credential = terminations[0]
        .1
        .split("Credential=")
        .nth(1)
        .unwrap_or_default();
    assert!(
        !credential.starts_with("testing/"),
        "made with the function's own credentials: {credential}"
    );
    // The lookup (a read) is the function's own.
    assert!(
        chain
            .requests("DescribeInstances")
            .iter()
            .any(|(_, auth)| auth.contains("Credential=testing/"))
    );
}

async fn refusals(mode: &str) {
    let chain = Chain::start("terminate_instance", mode).await;
    let tool = "terminate-instance___terminate_instance";
    let [first, second] = [0, 1].map(|i| chain.world.staging.instances[i].clone());
    let on = |instance: &str| json!({"environment": "staging", "instance_id": instance});
    let caller = Principal::OAuthUser {
        id: "agent-7".into(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };

    // The interceptor vouches for a call on `first`; the call itself is held back.
    let answer = chain.intercept(tool, &on(&first), 21, &agent_claims());
    let passed = answer["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"].clone();
    let vouched = passed[ASSERTION_FIELD].as_str().unwrap().to_owned();

    // Re-bound: that assertion on the other instance.
    let mut moved = on(&second);
    moved[ASSERTION_FIELD] = json!(vouched);
    let (report, is_error) = chain.call_tool(tool, &moved, 21);
    refused(
        &chain,
        &report,
        is_error,
        "the caller assertion is for another call",
    );

    // Re-bound to another MCP request.
    let (report, is_error) = chain.call_tool(tool, &passed, 22);
    refused(
        &chain,
        &report,
        is_error,
        "the caller assertion is for another call",
    );

    // Forged: the same key id, another key.
    let forger = LocalSigner::generate(&chain.key.arn).unwrap();
    let mcp = "23".to_owned();
    let arguments = on(&first);
    let binding = Binding {
        gateway: GATEWAY_ARN,
        tool,
        arguments: &arguments,
        mcp_request: Some(&mcp),
    };
    let forged = caller::issue(
        &forger,
        &caller,
        &binding,
        SystemTime::now(),
        Duration::from_secs(30),
        "forged",
    )
    .await
    .unwrap();
    let mut payload = on(&first);
    payload[ASSERTION_FIELD] = json!(forged);
    let (report, is_error) = chain.call_tool(tool, &payload, 23);
    refused(&chain, &report, is_error, "signature");

    // Expired: signed by the real key, two minutes ago.
    let old = chain
        .assertion(
            &caller,
            tool,
            &on(&first),
            24,
            SystemTime::now() - Duration::from_secs(120),
        )
        .await;
    let mut payload = on(&first);
    payload[ASSERTION_FIELD] = json!(old);
    let (report, is_error) = chain.call_tool(tool, &payload, 24);
    refused(&chain, &report, is_error, "expired");

    // Agent-supplied, straight to the tool: not an assertion at all, or none.
    let mut payload = on(&first);
    payload[ASSERTION_FIELD] = json!("eyJhbGciOiJub25lIn0.e30.");
    let (report, is_error) = chain.call_tool(tool, &payload, 25);
    refused(&chain, &report, is_error, "caller assertion");
    let (report, is_error) = chain.call_tool(tool, &on(&first), 26);
    refused(&chain, &report, is_error, "carries no caller assertion");
    // A variant of the field's name is an argument the tool does not have.
    let mut payload = on(&first);
    payload["_GUARD_CALLER"] = json!(vouched);
    let (report, is_error) = chain.call_tool(tool, &payload, 21);
    assert!(is_error, "{report}");
    assert_eq!(chain.instance_state(&first).await, "running");
    assert_eq!(chain.instance_state(&second).await, "running");
    assert!(
        chain.requests("AssumeRole").is_empty(),
        "no session for a refused call"
    );

    // The vouched call goes through once; the same call again is a replay.
    let (report, is_error) = chain.call_tool(tool, &passed, 21);
    assert!(!is_error, "{report}");
    assert_eq!(chain.instance_state(&first).await, "terminated");
    let (report, is_error) = chain.call_tool(tool, &passed, 21);
    refused(&chain, &report, is_error, "made before");
    // And so is the same MCP request vouched for again (a client resending it).
    let again = chain.intercept(tool, &on(&first), 21, &agent_claims());
    let resent = again["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"].clone();
    assert_ne!(resent[ASSERTION_FIELD], passed[ASSERTION_FIELD]);
    let (report, is_error) = chain.call_tool(tool, &resent, 21);
    refused(&chain, &report, is_error, "made before");
    assert_eq!(chain.requests("TerminateInstances").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_expired_replayed_rebound_and_missing_assertions_are_refused_in_enforce() {
    refusals("ENFORCE").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_expired_replayed_rebound_and_missing_assertions_are_refused_in_log_only() {
    refusals("LOG_ONLY").await;
}

/// JWT claims that make the authorizer's principal equal `principal` (an array-valued claim
/// reaches the policies as its JSON text, as the case files state it).
fn claims_for(principal: &Value) -> Value {
    let mut claims = json!({"sub": principal["id"], "iss": "https://idp.example.test",
                            "token_use": "access"});
    for (key, value) in principal["tags"].as_object().into_iter().flatten() {
        let text = value.as_str().unwrap();
        claims[key] = serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_array)
            .unwrap_or_else(|| json!(text));
    }
    claims
}

/// Whether the tool's call check allowed its last call (the `call` record after `before`).
fn tool_call_check(chain: &Chain, before: usize) -> String {
    let records = chain.tool.1.audit_records_at_least(before + 1);
    let call = records[before..]
        .iter()
        .find(|r| r["check"] == "call")
        .unwrap();
    call["decision"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caller_specific_policy_decides_alike_at_the_interceptor_and_in_the_tool() {
    let chain = Chain::start("clean_logs", "ENFORCE").await;
    let tool = "clean-logs___clean_logs";
    let path = workspace().join("policies/tests/callers.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut compared = 0;
    for (n, case) in cases.iter().enumerate() {
        // The interceptor decides for OAuth callers (the gateway's authorizer here); unknown
        // and IAM callers are the tool's alone, and their cases run in `guard test`.
        if case["principal"]["type"] != "OAuthUser" || case.get("mode").is_some() {
            continue;
        }
        let id = 100 + n as u64;
        let mut arguments = case["params"].clone();
        arguments["log_group"] = json!(chain.world.staging.log_group);
        let before = chain.tool.1.audit_records().len();
        let (passed, reached) =
            chain.through_gateway(tool, &arguments, id, &claims_for(&case["principal"]));
        let at_gateway = if reached.is_some() { "ALLOW" } else { "DENY" };
        if reached.is_none() {
            // What the tool would have decided, had the call reached it with its caller.
            let principal: Principal = serde_json::from_value(case["principal"].clone()).unwrap();
            let assertion = chain
                .assertion(&principal, tool, &arguments, id, SystemTime::now())
                .await;
            let mut payload = arguments.clone();
            payload[ASSERTION_FIELD] = json!(assertion);
            chain.call_tool(tool, &payload, id);
        }
        let in_tool = tool_call_check(&chain, before);
        assert_eq!(at_gateway, in_tool, "{}: {passed}", case["name"]);
        assert_eq!(at_gateway, case["expected"], "{}", case["name"]);
        compared += 1;
    }
    assert!(compared >= 6, "only {compared} cases compared");
}
