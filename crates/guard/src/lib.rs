//! Cedar decisions for AI-agent tools.
//!
//! Every tool call is asked two questions, both default-deny, forbid wins, both must allow:
//!
//! 1. the **call check** ([`Guard::check_call`]) — may this tool be called with these
//!    arguments? The same Cedar request AgentCore Policy builds at the gateway (principal,
//!    `AgentCore::Action::"<target>___<tool>"`, the gateway, `context.input`), against the same
//!    policies, so the gateway and the tool agree;
//! 2. the **resource check** ([`Guard::check_resource`]) — may this tool touch this *real*
//!    resource? The resource as read from AWS ([`ResourceFacts`]), its real tags as Cedar tags,
//!    against policies the gateway cannot express.
//!
//! Each check returns a [`Decision`] whose [`Outcome`] is allow, deny, would-deny (`LOG_ONLY`)
//! or error, and writes one [`AuditRecord`] to an [`AuditSink`].
//!
//! ```
//! use std::sync::Arc;
//! use guard::{
//!     EXAMPLE_GATEWAY_ARN, Guard, GuardConfig, MemoryAudit, Outcome, PolicySources, RequestIds,
//!     ResourceFacts, ToolCall,
//! };
//!
//! let config = GuardConfig { gateway_arn: Some(EXAMPLE_GATEWAY_ARN.into()), ..GuardConfig::default() };
//! let audit = MemoryAudit::new();
//! let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(audit.clone()));
//!
//! // The call check: the agent's claim, as the gateway sees it.
//! let input = serde_json::json!({"environment": "staging", "instance_id": "i-0abc1234"});
//! let ids = RequestIds::default();
//! let call = ToolCall { tool: "terminate-instance___terminate_instance", input: &input, principal: None, ids: &ids };
//! assert_eq!(guard.check_call(&call).outcome(), Outcome::Allow);
//!
//! // The resource check: the instance is really in production.
//! let instance = ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234")
//!     .attribute("state", "running")
//!     .attribute("termination_protected", false)
//!     .tags([("Environment".to_owned(), "production".to_owned())]);
//! let decision = guard.check_resource(&call, &instance);
//! assert_eq!(decision.outcome(), Outcome::Deny);
//! assert_eq!(
//!     decision.explain(),
//!     "resource check: no policy permits `terminate-instance___terminate_instance` on `i-0abc1234`"
//! );
//! assert_eq!(audit.records().len(), 2);
//! ```
//!
//! The public API:
//! - building a guard: [`Guard::new`] (policy sources, [`GuardConfig`], audit sink),
//!   [`Guard::refusing`] when the sources could not be read, [`Guard::configured`] for the
//!   sources a configuration names, or [`Guard::from_env`] in a Lambda function;
//!   [`PolicySources`] says where the policies come from, [`PolicySets`] holds them loaded,
//!   [`LoadError`] and [`Problem`] say what is wrong;
//! - the vocabulary, each written once: [`ToolName`] parses and joins gateway tool names
//!   (`<target>___<tool>`, [`TOOL_SEPARATOR`]), [`ActionType`] names the two action
//!   namespaces (`AgentCore::Action`, `Guard::Action`), [`UNKNOWN_TOOL`] is the tool of a call
//!   that names none, [`Principal::uid_string`] prints a caller as Cedar does,
//!   [`RequestIds::from_lambda`] carries a Lambda request id, [`with_causes`] says an error
//!   with its causes;
//! - asking: [`ToolCall`] (with [`RequestIds`] and an optional [`Principal`]),
//!   [`ResourceFacts`]; [`Guard::check_tool`] and [`Guard::may_call`] for callers that never
//!   see the arguments; [`Guard::refuse`] and [`Guard::refuse_resource`] to audit a refusal
//!   no policy was asked about; [`Guard::record_budget`] to audit a budget check (budgets are
//!   counted outside the guard, which has no AWS dependency) decided as a [`BudgetOutcome`];
//! - the answer: [`Decision`], [`Outcome`], [`Verdict`], [`Reason`], [`Check`], [`Mode`],
//!   [`GuardError`];
//! - audit: [`AuditRecord`] (replayable: [`Asked`], the caller, the resource as read, bounded
//!   by [`MAX_RECORDED_ARGUMENT_BYTES`] and its siblings), [`AuditSink`], [`EmfStdout`] (the
//!   Lambda default), [`MemoryAudit`], [`NoAudit`];
//! - shadow policies: a policy annotated `@mode("LOG_ONLY")` ([`SHADOW_MODE`]) never changes a
//!   decision; the record's [`ShadowDecision`] says whether it would have;
//! - folding, what the guard changes in a real resource before Cedar sees it (tag keys and
//!   names, [`FOLDED_ATTRIBUTES`]): [`fold_tag_key`], [`fold_name`] and what they can produce;
//! - offline tooling: [`render_static`] and [`render_statements`] (the gateway set for
//!   AgentCore Policy, each statement with its [`EnforcementMode`]), [`json_type`],
//!   [`EXAMPLE_GATEWAY_ARN`].

mod action;
mod audit;
mod budget;
mod caller;
mod config;
mod control;
mod decision;
mod entity;
mod error;
mod evaluate;
mod fold;
mod gateway;
mod guard;
mod policy;
mod request;
mod shadow;
mod validated;
mod value;

pub use action::{ActionType, TOOL_SEPARATOR, ToolName, UNKNOWN_TOOL};
pub use audit::{
    Asked, AuditRecord, AuditSink, EmfStdout, MAX_RECORDED_ARGUMENT_BYTES,
    MAX_RECORDED_ATTRIBUTE_BYTES, MAX_RECORDED_TAG_BYTES, MemoryAudit, NoAudit,
};
pub use budget::{BudgetCount, BudgetOutcome, BudgetRecord, FullBudget};
pub use caller::{AuthorizerType, CallerType, Principal, UnknownAuthorizerType};
pub use config::{ConfigWarning, GuardConfig};
pub use control::{Approval, ControlAction, ControlRecord, StopOutcome};
pub use decision::{Check, Decision, Mode, Outcome, Reason, UnknownMode, Verdict};
pub use error::{EntityRole, GuardError, with_causes};
pub use fold::{
    FOLDED_ATTRIBUTES, fold_name, fold_tag_key, is_folded_name, is_folded_tag_key,
    name_pattern_can_match,
};
pub use gateway::{RenderError, RenderedPolicy, render_statements, render_static};
pub use guard::Guard;
pub use policy::{
    AGENTCORE_SCHEMA, EnforcementMode, LinkError, LoadError, PolicyFile, PolicySets, PolicySources,
    Problem, SHADOW_MODE,
};
pub use request::{RequestIds, ResourceFacts, ToolCall};
pub use shadow::ShadowDecision;
pub use value::json_type;

/// The gateway ARN of the article's examples. `guard` (the CLI), the case files and the tests
/// link the policies to it; a deployed function never uses it (it reads `GATEWAY_ARN`).
pub const EXAMPLE_GATEWAY_ARN: &str =
    "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789";
