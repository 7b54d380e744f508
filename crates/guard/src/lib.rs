//! Cedar decisions for AI-agent tools.
//!
//! Every tool call is asked two questions, both default-deny, forbid wins, both must allow:
//!
//! 1. the **call check** — may this tool be called with these arguments? The same Cedar request
//!    AgentCore Policy builds at the gateway (principal, `AgentCore::Action::"<target>___<tool>"`,
//!    the gateway, `context.input`), against the same policies, so the gateway and the tool agree;
//! 2. the **resource check** — may this tool touch this *real* resource? The resource as read from
//!    AWS, its real tags as Cedar tags, against policies the gateway cannot express.
//!
//! ```
//! use std::sync::Arc;
//! use guard::{Guard, GuardConfig, MemoryAudit, RequestIds, ToolCall};
//!
//! let config = GuardConfig {
//!     gateway_arn: Some("arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789".into()),
//!     ..GuardConfig::default()
//! };
//! let audit = MemoryAudit::new();
//! let guard = Guard::from_config(&config, Arc::new(audit.clone()));
//!
//! let input = serde_json::json!({"environment": "production", "service": "api-gateway"});
//! let ids = RequestIds::default();
//! let call = ToolCall { tool: "restart-service___restart_service", input: &input, principal: None, ids: &ids };
//! let decision = guard.check_call(&call);
//! assert!(!decision.proceeds());
//! assert_eq!(decision.explain(), "call check: no policy permits `restart-service___restart_service`");
//! assert_eq!(audit.records().len(), 1);
//! ```

pub mod audit;
pub mod cases;
pub mod decision;
pub mod error;
mod guard;
pub mod policy;
pub mod request;
mod value;

pub use audit::{AuditRecord, AuditSink, EmfStdout, MemoryAudit, NoAudit};
pub use decision::{Check, Decision, Mode, Reason};
pub use error::GuardError;
pub use guard::{Guard, GuardConfig};
pub use policy::{LoadError, PolicySets, PolicySources, Problem};
pub use request::{CallerType, Principal, RequestIds, ResourceFacts, ToolCall, ToolName};
pub use value::json_type;
