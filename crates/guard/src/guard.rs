//! The guard: building one, and what its checks ([`checks`]) share — the Cedar evaluator, the
//! audit record, the names a record gives the tool, the action and the caller.

mod checks;

use std::{sync::Arc, time::Duration};

use cedar_policy::{Authorizer, PolicySet};

use crate::{
    action::{ActionType, ToolName, UNKNOWN_TOOL},
    audit::{Asked, AuditRecord, AuditSink, EmfStdout, Subject},
    caller::{CallerType, Principal},
    config::GuardConfig,
    decision::{Check, Decision, Mode, Reason},
    entity::ActionStores,
    error::GuardError,
    evaluate::{Cedar, Evaluated},
    gateway::LinkedGateway,
    policy::{LoadError, PolicySets, PolicySources},
    request::ToolCall,
    validated::Validated,
};

/// Decides tool calls with Cedar. Cheap to share (`Arc`), built once per process.
///
/// A guard never fails to build: broken policies or a missing gateway ARN leave it in a state
/// where the affected checks deny with an error, so a function that holds a guard can never
/// run unguarded.
pub struct Guard {
    sets: Result<PolicySets, LoadError>,
    gateway: Result<LinkedGateway, GuardError>,
    mode: Mode,
    caller_type: CallerType,
    audit: Arc<dyn AuditSink>,
    authorizer: Authorizer,
    /// The action entities each action's requests need.
    action_stores: ActionStores,
    /// The request shapes Cedar accepted, so it is not asked again.
    validated: Validated,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("loaded", &self.sets.is_ok())
            .field("gateway", &self.gateway_arn())
            .field("mode", &self.mode)
            .field("caller_type", &self.caller_type)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// The guard of a Lambda function: configuration from the environment (DESIGN.md §6), the
    /// policies it names, audit records to stdout as EMF. Warnings and load errors are logged.
    pub fn from_env() -> Self {
        let (config, warnings) = GuardConfig::from_env();
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        Self::from_config(&config)
    }

    /// The guard of a Lambda function whose configuration was read already, by a function that
    /// hands the same settings on to more than the guard (the authorizer): the policies
    /// `config` names, audit records to stdout as EMF. Load errors are logged.
    pub fn from_config(config: &GuardConfig) -> Self {
        let audit = Arc::new(EmfStdout::new(config.metrics_namespace.clone()));
        let guard = Self::configured(config, audit);
        if let Err(e) = guard.health() {
            tracing::error!(error = %e, "guard is refusing every call");
        }
        guard
    }

    /// The guard `config` describes, auditing to `audit`: over the policies it names
    /// ([`GuardConfig::sources`]), or, when they cannot be read, [`Guard::refusing`].
    pub fn configured(config: &GuardConfig, audit: Arc<dyn AuditSink>) -> Self {
        match config.sources() {
            Ok(sources) => Self::new(&sources, config, audit),
            Err(e) => Self::refusing(e, config, audit),
        }
    }

    /// A guard over `sources` (usually [`PolicySources::embedded`]), set up by `config`,
    /// auditing to `audit`. Policies that do not load make it refuse every call, as
    /// [`Guard::refusing`] does.
    pub fn new(sources: &PolicySources, config: &GuardConfig, audit: Arc<dyn AuditSink>) -> Self {
        Self::over(PolicySets::load(sources), config, audit)
    }

    /// A guard whose policies could not be loaded (`error` says why): every check is refused
    /// with that error, and audited, so a function that holds it still answers every call.
    pub fn refusing(error: LoadError, config: &GuardConfig, audit: Arc<dyn AuditSink>) -> Self {
        Self::over(Err(error), config, audit)
    }

    fn over(
        sets: Result<PolicySets, LoadError>,
        config: &GuardConfig,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        let gateway = match (&sets, &config.authorizer_type, &config.gateway_arn) {
            (Err(e), _, _) => Err(GuardError::PoliciesNotLoaded(e.clone())),
            // Which callers to expect is unknown: no call check can be asked as AgentCore asks.
            (Ok(_), Err(e), _) => Err(GuardError::from(e.clone())),
            (Ok(_), Ok(_), None) => Err(GuardError::NoGatewayArn),
            (Ok(sets), Ok(_), Some(arn)) => LinkedGateway::link(sets, arn),
        };
        let action_stores = match &sets {
            Ok(sets) => ActionStores::new(sets),
            Err(_) => ActionStores::default(),
        };
        Self {
            sets,
            gateway,
            action_stores,
            mode: config.mode,
            caller_type: config.caller_type(),
            audit,
            authorizer: Authorizer::new(),
            validated: Validated::default(),
        }
    }

    /// The mode decisions are taken in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The gateway the call check is linked to.
    pub fn gateway_arn(&self) -> Option<&str> {
        self.gateway.as_ref().ok().map(|g| g.arn.as_str())
    }

    /// The loaded policy sets, or why they failed to load.
    pub fn policy_sets(&self) -> Result<&PolicySets, &LoadError> {
        self.sets.as_ref()
    }

    /// The gateway set linked to the configured gateway.
    pub fn gateway_set(&self) -> Result<&PolicySet, &GuardError> {
        self.gateway.as_ref().map(|g| &g.set)
    }

    /// `Ok` when both checks can decide; otherwise what makes them refuse every call.
    pub fn health(&self) -> Result<(), GuardError> {
        self.gateway.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn cedar<'a>(&'a self, sets: &'a PolicySets) -> Cedar<'a> {
        Cedar {
            authorizer: &self.authorizer,
            sets,
            caller_type: self.caller_type,
            action_stores: &self.action_stores,
            gateway: self.gateway.as_ref().ok(),
            validated: &self.validated,
        }
    }

    fn call_subject<'a>(&'a self, call: &ToolCall<'a>) -> Subject<'a> {
        Subject {
            gateway: self.gateway_arn(),
            tool: call.tool,
            metric_tool: self.metric_tool(call.tool),
            action: self.action_label(ActionType::Call, call.tool),
            principal: self.principal_label(call.principal),
            resource: self
                .gateway
                .as_ref()
                .map(|g| g.uid_text.clone())
                .unwrap_or_default(),
            arguments: call.input,
            asked: Asked::Call,
            caller: call.principal,
            resource_facts: None,
            shadow: None,
            budget: None,
            approval: None,
        }
    }

    fn finish(
        &self,
        check: Check,
        resource: Option<String>,
        outcome: Evaluated,
        subject: Subject<'_>,
        call: &ToolCall<'_>,
        elapsed: Duration,
    ) -> Decision {
        let (reason, policies) = outcome.unwrap_or_else(|e| (Reason::Error(e), Vec::new()));
        let decision = Decision {
            check,
            tool: call.tool.to_owned(),
            resource,
            reason,
            policies,
            mode: self.mode,
        };
        self.audit
            .record(&AuditRecord::new(&decision, subject, call.ids, elapsed));
        decision
    }

    /// The metric dimension for `tool`: its tool part when the schema declares that tool.
    fn metric_tool<'a>(&'a self, tool: &'a str) -> &'a str {
        let declared = |name: &str| {
            self.sets
                .as_ref()
                .is_ok_and(|sets| sets.declares_tool(name))
        };
        match ToolName::parse(tool) {
            Ok(name) if declared(name.tool) => name.tool,
            _ => UNKNOWN_TOOL,
        }
    }

    /// The action as audit records name it, before (or without) its uid being built.
    fn action_label(&self, action_type: ActionType, id: &str) -> String {
        match self
            .sets
            .as_ref()
            .ok()
            .and_then(|s| s.action(action_type, id))
        {
            Some(declared) => declared.text.clone(),
            None => action_type.uid_string(id),
        }
    }

    fn principal_label(&self, principal: Option<&Principal>) -> String {
        match principal {
            Some(p) => p.uid_string(),
            None => format!("unknown {}", self.caller_type.entity_type()),
        }
    }
}
