//! Building authorizers, tokens, keys and events for the tests.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::{path::PathBuf, sync::Arc};

use authorizer::{Authorizer, AuthorizerConfig};
use aws_lc_rs::{rand::SystemRandom, signature::EcdsaKeyPair};
use base64::Engine as _;
use guard::{
    AuditRecord, EXAMPLE_GATEWAY_ARN as ARTICLE_GATEWAY_ARN, Guard, GuardConfig, MemoryAudit, Mode,
    PolicyFile, PolicySources,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use lambda_host::{Context, LambdaEvent};
use serde_json::{Value, json};

pub const TERMINATE: &str = "terminate-instance___terminate_instance";
pub const RESTART: &str = "restart-service___restart_service";
pub const CLEAN_LOGS: &str = "clean-logs___clean_logs";
pub const GET_METRICS: &str = "get-metrics___get_metrics";

/// A gateway policy reading a JWT claim: only callers with scope `admin` may terminate.
pub const ADMIN_ONLY_TERMINATE: &str = r#"
@id("forbid_terminate_unless_admin_scope")
forbid (
  principal is AgentCore::OAuthUser,
  action == AgentCore::Action::"terminate-instance___terminate_instance",
  resource == ?resource
)
unless { principal.hasTag("scope") && principal.getTag("scope") == "admin" };
"#;

/// The issuer, audience and client of the API Gateway tests' tokens.
pub const ISSUER: &str = "https://issuer.example.test";
pub const AUDIENCE: &str = "agent-tools";
pub const KID: &str = "test-key-1";

/// The shipped policies, plus extra gateway policy files.
pub fn policies(extra: &[(&str, &str)]) -> PolicySources {
    let mut files = PolicySources::embedded().files().to_vec();
    files.extend(extra.iter().map(|(name, text)| PolicyFile {
        name: (*name).to_owned(),
        text: (*text).to_owned(),
    }));
    PolicySources::from_files("test", files)
}

/// A guard on the article's gateway, auditing to memory.
pub fn guard(sources: PolicySources, mode: Mode) -> (Guard, MemoryAudit) {
    let audit = MemoryAudit::new();
    let config = GuardConfig {
        mode,
        gateway_arn: Some(ARTICLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    };
    (
        Guard::new(&sources, &config, Arc::new(audit.clone())),
        audit,
    )
}

/// An authorizer with `env` as its environment.
pub fn authorizer(guard: Guard, env: &[(&str, &str)]) -> Authorizer {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let config = AuthorizerConfig::from_lookup(|name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    });
    Authorizer::new(guard, config)
}

/// The interceptor on the shipped policies, ENFORCE.
pub fn interceptor() -> (Authorizer, MemoryAudit) {
    let (guard, audit) = guard(PolicySources::embedded(), Mode::Enforce);
    (authorizer(guard, &[]), audit)
}

/// Runs one invocation.
pub fn invoke(authorizer: &Authorizer, event: Value) -> Value {
    let mut context = Context::default();
    context.request_id = "test-request-1".to_owned();
    block_on(authorizer.handle(LambdaEvent::new(event, context))).unwrap()
}

/// Runs a future to completion (the authorizer's handler is async: it may call KMS).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A JWT with these claims and a fake signature, as the gateway passes an already-verified token
/// on to an interceptor (the interceptor does not verify it).
pub fn unsigned_token(claims: &Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.ZmFrZS10ZXN0LXNpZ25hdHVyZQ",
        b64(&json!({"alg": "RS256", "typ": "JWT", "kid": "test-only"})),
        b64(claims)
    )
}

/// A caller's bearer token, with scope `scope`.
pub fn agent_token(sub: &str, scope: &str) -> String {
    unsigned_token(&json!({"sub": sub, "scope": scope, "iss": ISSUER, "exp": 1767229200}))
}

/// A REQUEST interceptor event: the gateway request `body`, with an `Authorization` header
/// when `token` is given (as with `passRequestHeaders: true`).
pub fn request_event(body: Value, token: Option<&str>) -> Value {
    let mut request = json!({"path": "/mcp", "httpMethod": "POST", "body": body.clone()});
    if let Some(token) = token {
        request["headers"] = json!({
            "Accept": "application/json, text/event-stream",
            "Authorization": format!("Bearer {token}"),
            "Mcp-Session-Id": "test-session",
        });
    }
    json!({
        "interceptorInputVersion": "1.0",
        "mcp": {"rawGatewayRequest": {"body": body.to_string()}, "gatewayRequest": request},
    })
}

/// A `tools/call` body.
pub fn tools_call(tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

/// A RESPONSE interceptor event for a `tools/list` answered with `tools`.
pub fn tools_list_response(token: Option<&str>, tools: &[&str]) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    let mut event = request_event(request, token);
    let tools: Vec<Value> = tools
        .iter()
        .map(|name| json!({"name": name, "inputSchema": {"type": "object"}}))
        .collect();
    event["mcp"]["gatewayResponse"] = json!({
        "statusCode": 200,
        "headers": {"Mcp-Session-Id": "test-session"},
        "body": {"jsonrpc": "2.0", "id": 3, "result": {"tools": tools, "nextCursor": "page-2"}},
    });
    event
}

/// The tool names a RESPONSE interceptor's answer lists.
pub fn listed(answer: &Value) -> Vec<String> {
    answer["mcp"]["transformedGatewayResponse"]["body"]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The JSON-RPC error of a denial, or `None` when the request was passed on.
pub fn denial(answer: &Value) -> Option<(i64, String)> {
    let error = answer["mcp"]
        .get("transformedGatewayResponse")?
        .get("body")?
        .get("error")?;
    Some((
        error["code"].as_i64().unwrap(),
        error["message"].as_str().unwrap().to_owned(),
    ))
}

/// The body a pass-through sends on, or `None` for a denial.
pub fn passed(answer: &Value) -> Option<&Value> {
    if answer["mcp"].get("transformedGatewayResponse").is_some() {
        return None;
    }
    answer["mcp"]["transformedGatewayRequest"].get("body")
}

/// The only audit record.
pub fn only_record(audit: &MemoryAudit) -> AuditRecord {
    let records = audit.records();
    assert_eq!(records.len(), 1, "{records:#?}");
    records.into_iter().next().unwrap()
}

/// A throwaway ES256 key: its signing half and its JWKS (made per test run, never stored).
pub struct TestKey {
    pub signing: EncodingKey,
    pub jwks: String,
}

impl TestKey {
    pub fn new(kid: &str) -> Self {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        let signing = EncodingKey::from_ec_der(pkcs8.as_ref());
        let mut jwk = Jwk::from_encoding_key(&signing, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        let jwks = json!({"keys": [jwk]}).to_string();
        Self { signing, jwks }
    }

    /// A signed token with `claims`, naming key `kid`.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.signing).unwrap()
    }

    /// A token signed over exactly these JSON texts, so that a test can name a member twice
    /// and still have the signature verify.
    pub fn sign_raw(&self, header: &str, payload: &str) -> String {
        let b64 = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t);
        let signing_input = format!("{}.{}", b64(header), b64(payload));
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.signing, Algorithm::ES256)
                .unwrap();
        format!("{signing_input}.{signature}")
    }

    /// This key's JWK alone (for sets built around it).
    pub fn jwk(&self) -> Value {
        serde_json::from_str::<Value>(&self.jwks).unwrap()["keys"][0].clone()
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims the API Gateway tests' verifier accepts.
pub fn good_claims(sub: &str, scope: &str) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "scope": scope,
           "iat": now(), "exp": now() + 600})
}

/// The routes the API Gateway tests use.
pub const ROUTES: &str = r#"{
  "POST /tools/terminate": "terminate-instance___terminate_instance",
  "POST /tools/restart": "restart-service___restart_service",
  "POST /tools/clean-logs": "clean-logs___clean_logs",
  "ANY /tools/metrics": "get-metrics___get_metrics"
}"#;

/// An API Gateway authorizer of `form` verifying with `key`.
pub fn api_gateway(form: &str, key: &TestKey, sources: PolicySources) -> (Authorizer, MemoryAudit) {
    let (guard, audit) = guard(sources, Mode::Enforce);
    let authorizer = authorizer(
        guard,
        &[
            ("AUTHORIZER_FORM", form),
            ("AUTHORIZER_ROUTES", ROUTES),
            ("JWT_JWKS", &key.jwks),
            ("JWT_ISSUER", ISSUER),
            ("JWT_AUDIENCE", AUDIENCE),
        ],
    );
    (authorizer, audit)
}

/// A sample event from `events/authorizer/`.
pub fn sample_event(name: &str) -> Value {
    let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `events/authorizer/` in the repository.
pub fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/authorizer")
}

/// The repository's `policies/` directory.
pub fn policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

/// A REQUEST event for `body` with the caller's token and `extra` headers.
pub fn with_headers(body: Value, extra: &[(&str, &str)]) -> Value {
    let mut event = request_event(body, Some(&agent_token("agent-7", "devops")));
    for (name, value) in extra {
        event["mcp"]["gatewayRequest"]["headers"][*name] = json!(value);
    }
    event
}

/// A `tools/call` of a staging restart.
pub fn staging_restart() -> Value {
    tools_call(RESTART, json!({"environment": "staging", "service": "api"}))
}
