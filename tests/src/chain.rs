//! The interceptor and one tool, both built, back to back on one seeded emulator (issue 20):
//! what the interceptor passes on is the tool's input, as through a gateway. The emulator
//! records every request it serves, so a test (or the demo) can show what reached AWS and
//! with whose credentials.

use std::{
    path::PathBuf,
    time::{Duration, SystemTime},
};

use agentcore_target::gateway_client_context_for;
use aws_config::SdkConfig;
use aws_sdk_kms::{
    Client,
    primitives::Blob,
    types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use caller::{Binding, LocalSigner, SignError, Signer};
use guard::Principal;
use serde_json::{Value, json};

use crate::{
    Emulator, Function, GATEWAY_ARN, GATEWAY_ID, Invocation, RuntimeApi,
    stage::report,
    world::{self, World},
};

/// The role the tools assume to act as the caller (the emulator does not check it exists).
pub const CALLER_ROLE: &str = "arn:aws:iam::123456789012:role/agent-guard-acting-as-caller";

/// The role an approved call is made in (the template's RestartServiceApprovedRole).
pub const APPROVED_ROLE: &str = "arn:aws:iam::123456789012:role/agent-guard-approved-restart";

/// The role approvers act in (the template's OperatorRole, the shipped policy's on-call role).
pub const ONCALL_ROLE: &str = "arn:aws:iam::123456789012:role/agent-guard-oncall";

/// The log group the `guard` CLI writes its orders' audit records to in the chain's tests.
pub const CONTROL_LOG: &str = "agent-guard-control";

/// The KMS key in the emulator, as a [`Signer`]: for assertions the interceptor would never
/// make (expired ones, or for a call it refused), signed with the real key.
pub struct KmsKey {
    kms: Client,
    /// The key's ARN: the assertions' `kid`.
    pub arn: String,
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
        let der = out
            .signature()
            .ok_or_else(|| SignError("no signature".to_owned()))?;
        caller::ecdsa_der_to_fixed(der.as_ref())
            .map(|fixed| fixed.to_vec())
            .ok_or_else(|| SignError("not a DER ECDSA signature".to_owned()))
    }
}

/// A running function and the Runtime API it polls.
pub struct Running {
    /// The Runtime API.
    pub api: RuntimeApi,
    /// The function.
    pub function: Function,
}

/// The interceptor and one tool on one seeded emulator that records every request.
pub struct Chain {
    /// What was seeded.
    pub world: World,
    /// SDK configuration for the emulator.
    pub config: SdkConfig,
    /// The caller key.
    pub key: KmsKey,
    /// The authorizer, as the REQUEST interceptor.
    pub interceptor: Running,
    /// The tool.
    pub tool: Running,
    /// The tool's name and settings, for another process of it ([`Chain::another_tool`]).
    tool_start: (String, Vec<(String, String)>),
    /// The emulator's settings (endpoint, region, credentials, budget table).
    emulator_env: Vec<(String, String)>,
    recording: PathBuf,
    _dir: tempfile::TempDir,
    _emulator: Emulator,
}

impl Chain {
    /// `tool` (a built function) behind the interceptor, both in `mode`, the tool requiring a
    /// caller and acting as it.
    pub async fn start(tool: &str, mode: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let recording = dir.path().join("requests.jsonl");
        let emulator = Emulator::start_recording(&recording)?;
        let config = emulator.sdk_config().await;
        let world = world::seed(&config).await?;
        let kms = Client::new(&config);
        let created = kms
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .map_err(|e| format!("CreateKey: {e}"))?;
        let arn = created
            .key_metadata()
            .and_then(|m| m.arn())
            .ok_or("CreateKey returned no ARN")?
            .to_owned();
        let env = |extra: &[(&str, &str)]| {
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
        let clusters = world.ecs_clusters();
        // Where approval requests are announced (the template's ApprovalTopic).
        let topic = aws_sdk_sns::Client::new(&config)
            .create_topic()
            .name("agent-guard-approvals")
            .send()
            .await
            .map_err(|e| format!("CreateTopic: {e}"))?
            .topic_arn()
            .ok_or("CreateTopic returned no ARN")?
            .to_owned();
        let interceptor = start("authorizer", &env(&[]))?;
        let tool_env = env(&[
            ("CALLER", "required"),
            ("CALLER_ROLE_ARN", CALLER_ROLE),
            ("ECS_CLUSTERS", clusters.as_str()),
            ("BUDGETS", "OFF"),
            (oversight::APPROVAL_TOPIC_VAR, topic.as_str()),
            (agentcore_target::APPROVED_ROLE_VAR, APPROVED_ROLE),
        ]);
        let running = start(tool, &tool_env)?;
        Ok(Self {
            world,
            config,
            key: KmsKey { kms, arn },
            interceptor,
            tool: running,
            tool_start: (tool.to_owned(), tool_env),
            emulator_env: emulator.env(),
            recording,
            _dir: dir,
            _emulator: emulator,
        })
    }

    /// The interceptor's answer to a `tools/call` of `tool` with `arguments`, JSON-RPC id
    /// `id`, from a caller whose token (verified by the gateway) carries `claims`.
    pub fn intercept(
        &self,
        tool: &str,
        arguments: &Value,
        id: u64,
        claims: &Value,
    ) -> Result<Value, String> {
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
        self.interceptor.api.invoke_json(&event)?.response()
    }

    /// Another process of the tool, with the same settings: two Lambda execution
    /// environments, for calls that race.
    pub fn another_tool(&self) -> Result<Running, String> {
        start(&self.tool_start.0, &self.tool_start.1)
    }

    /// `guard ARGS` run by `person` in the on-call role (their own STS role session, as AWS
    /// names it), or, with `None`, by the emulator's default IAM user; its orders audited in
    /// [`CONTROL_LOG`] (created on first use). Whether it succeeded, and what it printed.
    pub async fn guard_cli(
        &self,
        person: Option<&str>,
        args: &[&str],
    ) -> Result<(bool, String), String> {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&self.config);
        let exists = logs
            .describe_log_groups()
            .log_group_name_prefix(CONTROL_LOG)
            .send()
            .await
            .map_err(|e| format!("DescribeLogGroups: {e}"))?
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(CONTROL_LOG));
        if !exists {
            logs.create_log_group()
                .log_group_name(CONTROL_LOG)
                .send()
                .await
                .map_err(|e| format!("CreateLogGroup: {e}"))?;
        }
        let mut command = std::process::Command::new(crate::function::binary("guard")?);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(oversight::CONTROL_LOG_VAR, CONTROL_LOG)
            .args(args);
        for (k, v) in &self.emulator_env {
            command.env(k, v);
        }
        if let Some(person) = person {
            let assumed = aws_sdk_sts::Client::new(&self.config)
                .assume_role()
                .role_arn(ONCALL_ROLE)
                .role_session_name(person)
                .send()
                .await
                .map_err(|e| format!("AssumeRole: {e}"))?;
            let c = assumed
                .credentials()
                .ok_or("AssumeRole returned no credentials")?;
            command
                .env("AWS_ACCESS_KEY_ID", c.access_key_id())
                .env("AWS_SECRET_ACCESS_KEY", c.secret_access_key())
                .env("AWS_SESSION_TOKEN", c.session_token());
        }
        let out = command.output().map_err(|e| e.to_string())?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success(), text))
    }

    /// The tool's report and `isError` for `arguments`, invoked as the gateway invokes it for
    /// the MCP request `id`.
    pub fn call_tool(
        &self,
        tool: &str,
        arguments: &Value,
        id: u64,
    ) -> Result<(Value, bool), String> {
        Self::call(&self.tool, tool, arguments, id)
    }

    /// [`Chain::call_tool`] on `running`, a process of the tool.
    pub fn call(
        running: &Running,
        tool: &str,
        arguments: &Value,
        id: u64,
    ) -> Result<(Value, bool), String> {
        let context =
            gateway_client_context_for(tool, GATEWAY_ID, "agentcore-req", &id.to_string());
        let answer = running.api.invoke(
            Invocation::json(arguments).with_client_context(context.to_string()),
            Duration::from_secs(60),
        )?;
        report(answer)
    }

    /// [`Chain::call_tool`], and the last audit record the call wrote (waited for: the log
    /// line can come after the answer).
    pub fn call_tool_audited(
        &self,
        tool: &str,
        arguments: &Value,
        id: u64,
    ) -> Result<(Value, bool, Value), String> {
        let before = self.tool.function.audit_records().len();
        let (report, is_error) = self.call_tool(tool, arguments, id)?;
        let records = self.tool.function.audit_records_at_least(before + 1);
        let record = records
            .get(before..)
            .and_then(<[Value]>::last)
            .cloned()
            .ok_or("the call wrote no audit record")?;
        Ok((report, is_error, record))
    }

    /// Through the gateway: the interceptor, then — when it passes the call on — the tool with
    /// exactly the arguments it passed. The interceptor's output, and the tool's answer (`None`
    /// when the interceptor refused).
    pub fn through_gateway(
        &self,
        tool: &str,
        arguments: &Value,
        id: u64,
        claims: &Value,
    ) -> Result<(Value, Option<(Value, bool)>), String> {
        let answer = self.intercept(tool, arguments, id, claims)?;
        let Some(passed) = passed_arguments(&answer) else {
            return Ok((answer, None));
        };
        let reached = self.call_tool(tool, &passed, id)?;
        Ok((answer, Some(reached)))
    }

    /// An assertion as the interceptor makes them, for `caller`, issued `at`, signed by the
    /// real key.
    pub async fn assertion(
        &self,
        caller: &Principal,
        tool: &str,
        arguments: &Value,
        id: u64,
        at: SystemTime,
    ) -> Result<String, String> {
        let mcp = id.to_string();
        let binding = Binding {
            gateway: GATEWAY_ARN,
            tool,
            arguments,
            mcp_request: Some(&mcp),
        };
        let jti = format!("chain-{id}-{}", at.elapsed().map_or(0, |d| d.as_nanos()));
        caller::issue(
            &self.key,
            caller,
            &binding,
            at,
            Duration::from_secs(30),
            &jti,
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// A forged assertion: what the interceptor would make for `caller`, with the right key id
    /// but signed by a key of the forger's own.
    pub async fn forged_assertion(
        &self,
        caller: &Principal,
        tool: &str,
        arguments: &Value,
        id: u64,
    ) -> Result<String, String> {
        let forger = LocalSigner::generate(&self.key.arn).map_err(|e| e.to_string())?;
        let mcp = id.to_string();
        let binding = Binding {
            gateway: GATEWAY_ARN,
            tool,
            arguments,
            mcp_request: Some(&mcp),
        };
        let now = SystemTime::now();
        caller::issue(
            &forger,
            caller,
            &binding,
            now,
            Duration::from_secs(30),
            "forged",
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// The requests the emulator served for `action` (`Action=` of query protocols, or the end
    /// of a JSON protocol's `X-Amz-Target`): each one's body and `Authorization` header.
    pub fn requests(&self, action: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|entry| {
                let field = |name: &str| entry.get(name).cloned().unwrap_or_default();
                let body = match (field("body").as_str(), field("body_encoded").as_bool()) {
                    (Some(b), Some(true)) => String::from_utf8(STANDARD.decode(b).ok()?).ok()?,
                    (Some(b), _) => b.to_owned(),
                    _ => String::new(),
                };
                let header = |name: &str| {
                    entry
                        .pointer(&format!("/headers/{name}"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let (target, auth) = (header("X-Amz-Target"), header("Authorization"));
                (body.contains(&format!("Action={action}&")) || target.ends_with(action))
                    .then_some((body, auth))
            })
            .collect()
    }

    /// How many requests the emulator has served.
    pub fn request_count(&self) -> usize {
        std::fs::read_to_string(&self.recording)
            .map(|text| text.lines().count())
            .unwrap_or_default()
    }

    /// Tags service `service` of `cluster` `key=value` (a person changing it).
    pub async fn tag_service(
        &self,
        cluster: &str,
        service: &str,
        key: &str,
        value: &str,
    ) -> Result<(), String> {
        let ecs = aws_sdk_ecs::Client::new(&self.config);
        let described = ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| format!("DescribeServices: {e}"))?;
        let arn = described
            .services()
            .first()
            .and_then(|s| s.service_arn())
            .ok_or("no such service")?
            .to_owned();
        let tag = aws_sdk_ecs::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        ecs.tag_resource()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| format!("TagResource: {e}"))?;
        Ok(())
    }

    /// An instance's state now.
    pub async fn instance_state(&self, id: &str) -> Result<String, String> {
        Ok(world::snapshot(&self.config, &self.world)
            .await?
            .instance(id)
            .to_owned())
    }
}

fn start(name: &str, env: &[(String, String)]) -> Result<Running, String> {
    let api = RuntimeApi::start()?;
    let function = Function::start(name, api.address(), env)?;
    Ok(Running { api, function })
}

/// The arguments an interceptor answer passes on, when it passes the call on.
pub fn passed_arguments(answer: &Value) -> Option<Value> {
    let body = answer.pointer("/mcp/transformedGatewayRequest/body")?;
    body.pointer("/params/arguments").cloned()
}

/// A bearer token as a `CUSTOM_JWT` gateway passes it on: verified by the gateway, so its
/// signature is not the interceptor's to check.
pub fn token(claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmVkLWJ5LXRoZS1nYXRld2F5",
        part(&json!({"alg": "RS256", "typ": "JWT", "kid": "idp"})),
        part(claims)
    )
}

/// The claims of the agent the chain's examples act for: `agent-7`, in the on-call group.
pub fn agent_claims() -> Value {
    json!({"sub": "agent-7", "scope": "devops", "iss": "https://idp.example.test",
           "token_use": "access", "cognito:groups": ["oncall"]})
}
