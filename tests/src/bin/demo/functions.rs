//! The four functions, each on its own Runtime API against one emulator, and the calls the
//! agent makes to them.

use e2e::{Emulator, Function, GATEWAY_ARN, RuntimeApi, stage::report, world::World};
use serde_json::Value;

/// One tool call of the sequence.
pub struct Call {
    /// The function (binary) and its gateway tool name.
    pub tool: Tool,
    /// What the agent was thinking.
    pub intent: String,
    /// The arguments.
    pub arguments: Value,
}

#[derive(Clone, Copy)]
pub enum Tool {
    Restart,
    Terminate,
    CleanLogs,
    Metrics,
}

impl Tool {
    pub const ALL: [Tool; 4] = [
        Tool::Restart,
        Tool::Terminate,
        Tool::CleanLogs,
        Tool::Metrics,
    ];

    pub fn binary(self) -> &'static str {
        match self {
            Self::Restart => "restart_service",
            Self::Terminate => "terminate_instance",
            Self::CleanLogs => "clean_logs",
            Self::Metrics => "get_metrics",
        }
    }

    pub fn gateway_name(self) -> &'static str {
        match self {
            Self::Restart => "restart-service___restart_service",
            Self::Terminate => "terminate-instance___terminate_instance",
            Self::CleanLogs => "clean-logs___clean_logs",
            Self::Metrics => "get-metrics___get_metrics",
        }
    }
}

/// The four functions, each on its own Runtime API, against one emulator.
pub struct Functions {
    running: Vec<(RuntimeApi, Function)>,
}

impl Functions {
    pub fn start(emulator: &Emulator, world: &World, mode: &str) -> Result<Self, String> {
        let mut running = Vec::new();
        for tool in Tool::ALL {
            let api = RuntimeApi::start()?;
            let mut env = emulator.env();
            for (k, v) in [
                ("GATEWAY_ARN", GATEWAY_ARN.to_owned()),
                ("GUARD_MODE", mode.to_owned()),
                ("ECS_CLUSTERS", world.ecs_clusters()),
            ] {
                env.push((k.to_owned(), v));
            }
            let function = Function::start(tool.binary(), api.address(), &env)?;
            running.push((api, function));
        }
        Ok(Self { running })
    }

    /// The running function of `tool`.
    pub fn function(&self, tool: Tool) -> Option<&Function> {
        let index = Tool::ALL.iter().position(|t| t.binary() == tool.binary())?;
        self.running.get(index).map(|(_, f)| f)
    }

    /// Calls a tool the way the gateway does: its tool name in the client context.
    pub fn call(&self, call: &Call) -> Result<Value, String> {
        let index = Tool::ALL
            .iter()
            .position(|t| t.binary() == call.tool.binary())
            .ok_or("unknown tool")?;
        let (api, _) = self.running.get(index).ok_or("function not running")?;
        let context = agentcore_target::gateway_client_context(
            call.tool.gateway_name(),
            e2e::GATEWAY_ID,
            "demo",
        );
        let answer = api.invoke(
            e2e::Invocation::json(&call.arguments).with_client_context(context.to_string()),
            std::time::Duration::from_secs(60),
        )?;
        Ok(report(answer)?.0)
    }

    /// Every function's log lines, once each has written `records[i]` audit records.
    pub fn log_lines(&self, records: &[usize; 4]) -> Vec<String> {
        self.running
            .iter()
            .zip(records)
            .flat_map(|((_, function), &count)| {
                function.audit_records_at_least(count);
                function.log_lines()
            })
            .collect()
    }
}
