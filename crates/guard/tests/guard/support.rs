//! What the tests build: a guard over the shipped policies or a changed copy of them, and calls.

use std::sync::Arc;

use guard::{
    EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, MemoryAudit, Mode, PolicyFile, PolicySources,
    RequestIds, ResourceFacts, ToolCall,
};
use serde_json::Value;

pub const RESTART: &str = "restart-service___restart_service";
pub const TERMINATE: &str = "terminate-instance___terminate_instance";

pub fn config(mode: Mode) -> GuardConfig {
    GuardConfig {
        mode,
        gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
        ..GuardConfig::default()
    }
}

pub fn guard_with(sources: PolicySources, mode: Mode) -> (Guard, MemoryAudit) {
    let audit = MemoryAudit::new();
    let guard = Guard::new(&sources, &config(mode), Arc::new(audit.clone()));
    (guard, audit)
}

pub fn shipped(mode: Mode) -> (Guard, MemoryAudit) {
    guard_with(PolicySources::embedded(), mode)
}

/// The shipped files with one file replaced or added.
pub fn with_file(name: &str, text: &str) -> PolicySources {
    let mut files: Vec<PolicyFile> = PolicySources::embedded()
        .files()
        .iter()
        .filter(|f| f.name != name)
        .cloned()
        .collect();
    files.push(PolicyFile {
        name: name.to_owned(),
        text: text.to_owned(),
    });
    PolicySources::from_files("test", files)
}

pub fn call<'a>(tool: &'a str, input: &'a Value, ids: &'a RequestIds) -> ToolCall<'a> {
    ToolCall {
        tool,
        input,
        principal: None,
        ids,
    }
}

pub fn staging_instance(env: &str) -> ResourceFacts {
    ResourceFacts::new("Guard::Ec2Instance", "i-0abc")
        .attribute("state", "running")
        .attribute("termination_protected", false)
        .tags([("Environment".to_owned(), env.to_owned())])
}
