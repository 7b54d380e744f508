//! The guard: the two checks every tool call goes through, each audited.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cedar_policy::{Authorizer, PolicySet};
use serde_json::Value;

use crate::{
    audit::{Asked, AuditRecord, AuditSink, EmfStdout, Subject, UNKNOWN_TOOL},
    budget::{BudgetOutcome, BudgetRecord},
    config::GuardConfig,
    decision::{Check, Decision, Mode, Reason},
    error::GuardError,
    evaluate::{ActionStores, Cedar, Evaluated, Evaluation, resource_uid},
    gateway::LinkedGateway,
    policy::{LoadError, PolicySets, PolicySources, Slices},
    request::{CallerType, Principal, RequestIds, ResourceFacts, ToolCall, ToolName},
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
    /// Linked gateway slices holding shadow policies (`crate::shadow`).
    gateway_shadow: Slices,
    /// The action entities each action's requests need.
    action_stores: ActionStores,
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
        let guard = Self::new(config.sources(), config, audit);
        if let Err(e) = guard.health() {
            tracing::error!(error = %e, "guard is refusing every call");
        }
        guard
    }

    /// A guard over `sources` (usually [`PolicySources::embedded`] or
    /// [`GuardConfig::sources`]), set up by `config`, auditing to `audit`.
    pub fn new(
        sources: Result<PolicySources, LoadError>,
        config: &GuardConfig,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        let sets = sources.and_then(|s| PolicySets::load(&s));
        let gateway = match (&sets, &config.authorizer_type, &config.gateway_arn) {
            (Err(e), _, _) => Err(GuardError::PoliciesNotLoaded(e.clone())),
            // Which callers to expect is unknown: no call check can be asked as AgentCore asks.
            (Ok(_), Err(e), _) => Err(GuardError::from(e.clone())),
            (Ok(_), Ok(_), None) => Err(GuardError::NoGatewayArn),
            (Ok(sets), Ok(_), Some(arn)) => LinkedGateway::link(sets, arn),
        };
        // INVARIANT: linking the gateway linked these same templates, so this cannot fail anew.
        let gateway_shadow = match (&sets, &gateway) {
            (Ok(sets), Ok(g)) => sets.gateway_shadow_slices(&g.uid).unwrap_or_default(),
            _ => Slices::new(),
        };
        let action_stores = match &sets {
            Ok(sets) => ActionStores::new(sets, gateway.as_ref().ok().map(|g| &g.set)),
            Err(_) => ActionStores::default(),
        };
        Self {
            sets,
            gateway,
            gateway_shadow,
            action_stores,
            mode: config.mode,
            caller_type: config.caller_type(),
            audit,
            authorizer: Authorizer::new(),
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

    /// The call check: may this tool be called with these arguments? Same request as AgentCore
    /// Policy builds at the gateway. Writes one audit record.
    pub fn check_call(&self, call: &ToolCall<'_>) -> Decision {
        let started = Instant::now();
        let mut subject = self.call_subject(call);
        let outcome = self.decide_call(call, &mut subject);
        self.finish(Check::Call, None, outcome, subject, call, started.elapsed())
    }

    /// The resource check: may this tool touch this real resource? Writes one audit record.
    pub fn check_resource(&self, call: &ToolCall<'_>, resource: &ResourceFacts) -> Decision {
        let started = Instant::now();
        let tool = ToolName::parse(call.tool);
        let mut subject = Subject {
            gateway: self.gateway_arn(),
            tool: call.tool,
            metric_tool: self.metric_tool(call.tool),
            action: match &tool {
                Ok(t) => self.action_label("Guard::Action", t.tool),
                Err(_) => String::new(),
            },
            principal: self.principal_label(call.principal),
            resource: resource.uid_string(),
            arguments: call.input,
            asked: Asked::Resource,
            caller: call.principal,
            resource_facts: Some(resource),
            shadow: None,
            budget: None,
        };
        let outcome = tool.and_then(|tool| {
            let sets = self.sets.as_ref().map_err(|e| e.clone())?;
            let (action, action_text) = sets.action_uid("Guard::Action", tool.tool)?;
            subject.action = action_text;
            let resource_uid = resource_uid(sets, resource)?;
            subject.resource = resource_uid.to_string();
            let (outcome, shadow) = self.cedar(sets).evaluate_beside_shadow(
                &sets.resource_slices,
                &sets.resource_shadow,
                Evaluation {
                    tool: tool.tool,
                    principal: call.principal,
                    action,
                    resource: resource_uid,
                    resource_entity: Some(resource),
                    input: call.input,
                },
            );
            subject.shadow = shadow;
            outcome
        });
        let id = Some(resource.id.clone());
        self.finish(
            Check::Resource,
            id,
            outcome,
            subject,
            call,
            started.elapsed(),
        )
    }

    /// May `principal` call `tool` at all — is there some set of arguments the gateway
    /// policies could permit? Cedar's partial evaluation with the arguments unknown: a tool is
    /// allowed here unless every possible call is denied. For callers that never see the
    /// arguments (an API Gateway authorizer); the tool's own checks then decide the arguments.
    /// Writes one audit record (a call check with no arguments).
    pub fn check_tool(
        &self,
        tool: &str,
        principal: Option<&Principal>,
        ids: &RequestIds,
    ) -> Decision {
        let started = Instant::now();
        let call = ToolCall {
            tool,
            input: &Value::Null,
            principal,
            ids,
        };
        let mut subject = self.call_subject(&call);
        subject.asked = Asked::Tool;
        let outcome = self.analyse_tool(tool, principal, &mut subject);
        self.finish(
            Check::Call,
            None,
            outcome,
            subject,
            &call,
            started.elapsed(),
        )
    }

    /// Whether some call of `tool` by `principal` could be permitted; errors count as no.
    /// Not audited: for filtering tool lists, not for deciding calls.
    pub fn may_call(&self, tool: &str, principal: Option<&Principal>) -> bool {
        let call = ToolCall {
            tool,
            input: &Value::Null,
            principal,
            ids: &RequestIds::default(),
        };
        let mut subject = self.call_subject(&call);
        matches!(
            self.analyse_tool(tool, principal, &mut subject),
            Ok((Reason::Permitted, _))
        )
    }

    /// Records a call refused before any policy was asked (a misrouted tool, a request that is
    /// not a tool call, arguments that do not parse), so that every refusal has its audit
    /// record.
    pub fn refuse(&self, call: &ToolCall<'_>, reason: impl Into<String>) -> Decision {
        self.refused(Check::Call, call, reason.into())
    }

    /// Records a resource check that could not be asked (a mutating tool whose lookup found
    /// nothing to check): refused, audited as a resource check.
    pub fn refuse_resource(&self, call: &ToolCall<'_>, reason: impl Into<String>) -> Decision {
        self.refused(Check::Resource, call, reason.into())
    }

    /// Records a budget check decided outside the guard (the counts live in a table, or a
    /// stated history, the guard cannot reach): audited and counted like the other checks,
    /// with what was counted where and what was full in the record. The mode applies to an
    /// over-budget deny as to a policy deny; an unavailable budget is an error in every mode.
    pub fn record_budget(
        &self,
        call: &ToolCall<'_>,
        resource: &ResourceFacts,
        outcome: BudgetOutcome,
        elapsed: Duration,
    ) -> Decision {
        let mut subject = self.call_subject(call);
        subject.asked = Asked::Budget;
        subject.action = match ToolName::parse(call.tool) {
            Ok(t) => self.action_label("Guard::Action", t.tool),
            Err(_) => String::new(),
        };
        subject.resource = resource.uid_string();
        let (evaluated, record) = match outcome {
            BudgetOutcome::Within(counted) => {
                let ids = counted.iter().map(|c| c.budget.clone()).collect();
                let record = BudgetRecord {
                    counted,
                    full: None,
                };
                (Ok((Reason::Permitted, ids)), Some(record))
            }
            BudgetOutcome::OverBudget { counted, full } => {
                let evaluated = Ok((
                    Reason::OverBudget(full.reason.clone()),
                    vec![full.count.budget.clone()],
                ));
                let record = BudgetRecord {
                    counted,
                    full: Some(full),
                };
                (evaluated, Some(record))
            }
            BudgetOutcome::Unavailable(why) => (Err(GuardError::BudgetUnavailable(why)), None),
        };
        subject.budget = record;
        let id = Some(resource.id.clone());
        self.finish(Check::Budget, id, evaluated, subject, call, elapsed)
    }

    fn refused(&self, check: Check, call: &ToolCall<'_>, reason: String) -> Decision {
        let mut subject = self.call_subject(call);
        subject.asked = Asked::Refused;
        let outcome = Err(GuardError::Refused(reason));
        self.finish(check, None, outcome, subject, call, Duration::ZERO)
    }

    fn cedar<'a>(&'a self, sets: &'a PolicySets) -> Cedar<'a> {
        Cedar {
            authorizer: &self.authorizer,
            sets,
            caller_type: self.caller_type,
            action_stores: &self.action_stores,
        }
    }

    fn call_subject<'a>(&'a self, call: &ToolCall<'a>) -> Subject<'a> {
        Subject {
            gateway: self.gateway_arn(),
            tool: call.tool,
            metric_tool: self.metric_tool(call.tool),
            action: self.action_label("AgentCore::Action", call.tool),
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
        }
    }

    fn analyse_tool(
        &self,
        tool: &str,
        principal: Option<&Principal>,
        subject: &mut Subject<'_>,
    ) -> Evaluated {
        let sets = self.sets.as_ref().map_err(|e| e.clone())?;
        let gateway = self.gateway.as_ref().map_err(Clone::clone)?;
        let tool = ToolName::parse(tool)?;
        let (action, action_text) = sets.action_uid("AgentCore::Action", tool.full)?;
        subject.action = action_text;
        self.cedar(sets).analyse_tool(
            &gateway.slices,
            Evaluation {
                tool: tool.full,
                principal,
                action,
                resource: gateway.uid.clone(),
                resource_entity: None,
                input: &Value::Null,
            },
        )
    }

    fn decide_call(&self, call: &ToolCall<'_>, subject: &mut Subject<'_>) -> Evaluated {
        let sets = self.sets.as_ref().map_err(|e| e.clone())?;
        let gateway = self.gateway.as_ref().map_err(Clone::clone)?;
        let tool = ToolName::parse(call.tool)?;
        let (action, action_text) = sets.action_uid("AgentCore::Action", tool.full)?;
        subject.action = action_text;
        let (outcome, shadow) = self.cedar(sets).evaluate_beside_shadow(
            &gateway.slices,
            &self.gateway_shadow,
            Evaluation {
                tool: tool.full,
                principal: call.principal,
                action,
                resource: gateway.uid.clone(),
                resource_entity: None,
                input: call.input,
            },
        );
        subject.shadow = shadow;
        outcome
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
                .is_ok_and(|sets| sets.tools.contains(name))
        };
        match ToolName::parse(tool) {
            Ok(name) if declared(name.tool) => name.tool,
            _ => UNKNOWN_TOOL,
        }
    }

    /// The action as audit records name it, before (or without) its uid being built.
    fn action_label(&self, action_type: &str, id: &str) -> String {
        match self
            .sets
            .as_ref()
            .ok()
            .and_then(|s| s.action(action_type, id))
        {
            Some(declared) => declared.text.clone(),
            None => format!("{action_type}::{}", Value::String(id.to_owned())),
        }
    }

    fn principal_label(&self, principal: Option<&Principal>) -> String {
        match principal {
            Some(p) => format!("{}::{}", p.entity_type(), Value::String(p.id().to_owned())),
            None => format!("unknown {}", self.caller_type.entity_type()),
        }
    }
}
