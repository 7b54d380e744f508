//! One test's stage: an emulator with the seeded world, a Runtime API, and one built function
//! running against both.

use agentcore_target::gateway_client_context;
use aws_config::SdkConfig;
use serde_json::Value;

use crate::{
    Emulator, Function, GATEWAY_ARN, RuntimeApi,
    runtime_api::{Answer, Invocation},
    world::{self, Snapshot, World},
};

/// A function on a seeded emulator.
pub struct Stage {
    /// The emulator (kept alive for the stage's lifetime).
    pub emulator: Emulator,
    /// SDK configuration for the emulator.
    pub config: SdkConfig,
    /// What was seeded.
    pub world: World,
    /// The Runtime API the function polls.
    pub api: RuntimeApi,
    /// The function.
    pub function: Function,
}

impl Stage {
    /// Seeds a world and starts function `name` in `mode` (`ENFORCE` or `LOG_ONLY`), with
    /// `ECS_CLUSTERS` mapping the world's environments and `extra` settings. Budgets are off
    /// (`BUDGETS=OFF`) unless `extra` says `BUDGETS=ON`: each tool's own tests are about the
    /// other steps, and `e2e budgets` turns them on.
    pub async fn start(name: &str, mode: &str, extra: &[(&str, &str)]) -> Result<Self, String> {
        let emulator = Emulator::start()?;
        let config = emulator.sdk_config().await;
        let world = world::seed(&config).await?;
        let api = RuntimeApi::start()?;
        let mut env = emulator.env();
        env.extend(
            [
                ("GATEWAY_ARN", GATEWAY_ARN),
                ("GUARD_MODE", mode),
                ("ECS_CLUSTERS", world.ecs_clusters().as_str()),
                ("BUDGETS", "OFF"),
            ]
            .into_iter()
            .chain(extra.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let function = Function::start(name, api.address(), &env)?;
        Ok(Self {
            emulator,
            config,
            world,
            api,
            function,
        })
    }

    /// Invokes the function with `payload`, as a direct invoke would.
    pub fn invoke(&self, payload: &Value) -> Result<Answer, String> {
        self.api.invoke_json(payload)
    }

    /// Invokes the function as AgentCore Gateway would: the client context names `tool`.
    pub fn invoke_as_gateway(&self, payload: &Value, tool: &str) -> Result<Answer, String> {
        let context = gateway_client_context(tool, crate::GATEWAY_ID, "agentcore-request");
        self.api.invoke(
            Invocation::json(payload).with_client_context(context.to_string()),
            std::time::Duration::from_secs(60),
        )
    }

    /// The world's state now.
    pub async fn snapshot(&self) -> Result<Snapshot, String> {
        world::snapshot(&self.config, &self.world).await
    }
}

/// The JSON report inside a tool's `CallToolResult`, and whether it is an error.
pub fn report(answer: Answer) -> Result<(Value, bool), String> {
    let result = answer.response()?;
    let is_error = result
        .get("isError")
        .and_then(Value::as_bool)
        .ok_or("no isError in the result")?;
    let text = result
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .ok_or("no text content in the result")?;
    let report = serde_json::from_str(text).map_err(|e| format!("the text is not JSON: {e}"))?;
    Ok((report, is_error))
}
