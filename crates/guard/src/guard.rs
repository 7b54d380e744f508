//! The guard: configuration, and the two checks every tool call goes through.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Effect, Entities, EntityId, EntityTypeName,
    EntityUid, PartialResponse, Policy, PolicySet, Request, RequestValidationError,
};
use serde_json::Value;

use crate::{
    audit::{AuditRecord, AuditSink, DEFAULT_METRICS_NAMESPACE, EmfStdout, Subject},
    decision::{Check, Decision, Mode, Reason},
    error::GuardError,
    policy::Slices,
    policy::{LoadError, PolicySets, PolicySources},
    request::{CallerType, Principal, RequestIds, ResourceFacts, ToolCall, ToolName},
    value::{self, json_type, to_cedar},
};

/// How a guard is set up. [`GuardConfig::from_env`] reads it from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardConfig {
    /// `GUARD_MODE`: `ENFORCE` (default) or `LOG_ONLY`.
    pub mode: Mode,
    /// `GATEWAY_ARN`: the gateway the gateway policies are linked to.
    pub gateway_arn: Option<String>,
    /// `GUARD_POLICY_DIR`: load policies from this directory instead of the embedded ones
    /// (development only).
    pub policy_dir: Option<PathBuf>,
    /// `GATEWAY_AUTHORIZER_TYPE`: `CUSTOM_JWT` (default) or `AWS_IAM`, the caller type assumed
    /// when the caller is unknown.
    pub caller_type: CallerType,
    /// `GUARD_METRICS_NAMESPACE`: CloudWatch namespace of the decision metrics.
    pub metrics_namespace: String,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Enforce,
            gateway_arn: None,
            policy_dir: None,
            caller_type: CallerType::OAuthUser,
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
        }
    }
}

impl GuardConfig {
    /// Reads the configuration from the process environment; returns it with any warnings.
    pub fn from_env() -> (Self, Vec<String>) {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let (mode, warning) = Mode::from_setting(lookup("GUARD_MODE").as_deref());
        warnings.extend(warning);
        let non_empty = |name| lookup(name).filter(|v| !v.trim().is_empty());
        let caller_type = match non_empty("GATEWAY_AUTHORIZER_TYPE") {
            None => CallerType::OAuthUser,
            Some(v) => CallerType::from_authorizer_type(v.trim()).unwrap_or_else(|| {
                warnings.push(format!(
                    "unknown GATEWAY_AUTHORIZER_TYPE `{v}` (expected CUSTOM_JWT or AWS_IAM); \
                     using CUSTOM_JWT"
                ));
                CallerType::OAuthUser
            }),
        };
        let config = Self {
            mode,
            gateway_arn: non_empty("GATEWAY_ARN").map(|v| v.trim().to_owned()),
            policy_dir: non_empty("GUARD_POLICY_DIR").map(PathBuf::from),
            caller_type,
            metrics_namespace: non_empty("GUARD_METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
        };
        (config, warnings)
    }

    /// The policy sources this configuration names: the directory override, or the embedded
    /// policies.
    pub fn sources(&self) -> Result<PolicySources, LoadError> {
        match &self.policy_dir {
            Some(dir) => PolicySources::from_dir(dir),
            None => Ok(PolicySources::embedded()),
        }
    }
}

/// The gateway set, linked to the configured gateway.
#[derive(Debug)]
struct LinkedGateway {
    arn: String,
    uid: EntityUid,
    set: PolicySet,
    slices: Slices,
}

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
    /// Builds a guard from the environment (DESIGN.md §6), auditing to stdout as EMF.
    /// Configuration warnings and load errors are logged.
    pub fn from_env() -> Self {
        let (config, warnings) = GuardConfig::from_env();
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        let audit = Arc::new(EmfStdout::new(config.metrics_namespace.clone()));
        let guard = Self::from_config(&config, audit);
        if let Err(e) = guard.health() {
            tracing::error!(error = %e, "guard is refusing every call");
        }
        guard
    }

    /// Builds a guard from `config`, loading the policies it names.
    pub fn from_config(config: &GuardConfig, audit: Arc<dyn AuditSink>) -> Self {
        Self::new(config.sources(), config, audit)
    }

    /// Builds a guard from already-read policy sources.
    pub fn new(
        sources: Result<PolicySources, LoadError>,
        config: &GuardConfig,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        let sets = sources.and_then(|s| PolicySets::load(&s));
        let gateway = match (&sets, &config.gateway_arn) {
            (Err(e), _) => Err(GuardError::PoliciesNotLoaded(e.clone())),
            (Ok(_), None) => Err(GuardError::NoGatewayArn),
            (Ok(sets), Some(arn)) => link_gateway(sets, arn),
        };
        Self {
            sets,
            gateway,
            mode: config.mode,
            caller_type: config.caller_type,
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
            action: match &tool {
                Ok(t) => format!("Guard::Action::{}", Value::String(t.tool.to_owned())),
                Err(_) => String::new(),
            },
            principal: self.principal_label(call.principal),
            resource: resource.uid_string(),
            arguments: call.input,
        };
        let outcome = tool.and_then(|tool| {
            let sets = self.sets.as_ref().map_err(|e| e.clone())?;
            let action = uid("Guard::Action", tool.tool)?;
            let resource_uid = uid(&resource.entity_type, &resource.id).map_err(|e| {
                GuardError::InvalidEntity {
                    what: "resource",
                    message: e.to_string(),
                }
            })?;
            subject.resource = resource_uid.to_string();
            self.evaluate(
                sets,
                &sets.resource_slices,
                Evaluation {
                    tool: tool.tool,
                    principal: call.principal,
                    action,
                    resource: resource_uid,
                    resource_entity: Some(resource),
                    input: call.input,
                },
            )
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
    /// not a tool call), so that every refusal has its audit record.
    pub fn refuse(&self, call: &ToolCall<'_>, reason: impl Into<String>) -> Decision {
        let subject = self.call_subject(call);
        let outcome = Err(GuardError::Refused(reason.into()));
        self.finish(Check::Call, None, outcome, subject, call, Duration::ZERO)
    }

    fn call_subject<'a>(&'a self, call: &ToolCall<'a>) -> Subject<'a> {
        Subject {
            gateway: self.gateway_arn(),
            tool: call.tool,
            action: format!("AgentCore::Action::{}", Value::String(call.tool.to_owned())),
            principal: self.principal_label(call.principal),
            resource: self
                .gateway
                .as_ref()
                .map(|g| g.uid.to_string())
                .unwrap_or_default(),
            arguments: call.input,
        }
    }

    fn analyse_tool(
        &self,
        tool: &str,
        principal: Option<&Principal>,
        subject: &mut Subject<'_>,
    ) -> Result<(Reason, Vec<String>), GuardError> {
        let sets = self.sets.as_ref().map_err(|e| e.clone())?;
        let gateway = self.gateway.as_ref().map_err(Clone::clone)?;
        let tool = ToolName::parse(tool)?;
        let action = uid("AgentCore::Action", tool.full)?;
        subject.action = action.to_string();
        let Some(set) = gateway.slices.get(&action) else {
            return Err(GuardError::UnknownTool(tool.full.to_owned()));
        };
        let entities = entities(sets, principal, None)?;
        let entities = entities.as_ref().unwrap_or(&sets.action_entities);
        let builder = Request::builder();
        let builder = match principal {
            Some(p) => builder.principal(uid(p.entity_type(), p.id())?),
            None => builder.unknown_principal_with_type(type_name(self.caller_type.entity_type())?),
        };
        // No context: the arguments are the unknown.
        let request = builder
            .action(action)
            .resource(gateway.uid.clone())
            .schema(&sets.schema)
            .build()
            .map_err(|e| GuardError::InvalidEntity {
                what: "request",
                message: describe(&e),
            })?;
        let response = self
            .authorizer
            .is_authorized_partial(&request, set, entities);
        no_partial_errors(&response)?;
        Ok(match response.decision() {
            Some(CedarDecision::Deny) => {
                denied(ids_of(response.definitely_satisfied(), Effect::Forbid))
            }
            // Allowed outright, or allowed for some arguments.
            Some(CedarDecision::Allow) | None => (
                Reason::Permitted,
                ids_of(response.may_be_determining(), Effect::Permit),
            ),
        })
    }

    fn decide_call(
        &self,
        call: &ToolCall<'_>,
        subject: &mut Subject<'_>,
    ) -> Result<(Reason, Vec<String>), GuardError> {
        let sets = self.sets.as_ref().map_err(|e| e.clone())?;
        let gateway = self.gateway.as_ref().map_err(Clone::clone)?;
        let tool = ToolName::parse(call.tool)?;
        let action = uid("AgentCore::Action", tool.full)?;
        subject.action = action.to_string();
        self.evaluate(
            sets,
            &gateway.slices,
            Evaluation {
                tool: tool.full,
                principal: call.principal,
                action,
                resource: gateway.uid.clone(),
                resource_entity: None,
                input: call.input,
            },
        )
    }

    fn finish(
        &self,
        check: Check,
        resource: Option<String>,
        outcome: Result<(Reason, Vec<String>), GuardError>,
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

    fn principal_label(&self, principal: Option<&Principal>) -> String {
        match principal {
            Some(p) => format!("{}::{}", p.entity_type(), Value::String(p.id().to_owned())),
            None => format!("unknown {}", self.caller_type.entity_type()),
        }
    }

    fn evaluate(
        &self,
        sets: &PolicySets,
        slices: &Slices,
        e: Evaluation<'_>,
    ) -> Result<(Reason, Vec<String>), GuardError> {
        let schema = &sets.schema;
        // INVARIANT: every action the schema declares has a slice, possibly empty.
        let Some(set) = slices.get(&e.action) else {
            return Err(GuardError::UnknownTool(e.tool.to_owned()));
        };
        let Value::Object(_) = e.input else {
            return Err(GuardError::InputNotObject {
                tool: e.tool.to_owned(),
                got: json_type(e.input),
            });
        };
        let invalid_input = |message: String| GuardError::InvalidInput {
            tool: e.tool.to_owned(),
            message,
        };
        let input = to_cedar(e.input).map_err(invalid_input)?;
        let context = Context::from_pairs([("input".to_owned(), input)])
            .map_err(|err| invalid_input(describe(&err)))?;

        let entities = entities(sets, e.principal, e.resource_entity)?;
        let entities = entities.as_ref().unwrap_or(&sets.action_entities);
        let action = e.action.clone();
        let request_error = |err: RequestValidationError| match err {
            RequestValidationError::InvalidContext(_)
            | RequestValidationError::TypeOfContext(_) => {
                invalid_input(context_mismatch(sets, &action, e.input, &err))
            }
            other => GuardError::InvalidEntity {
                what: "request",
                message: describe(&other),
            },
        };

        match e.principal {
            Some(principal) => {
                let principal = uid(principal.entity_type(), principal.id())?;
                let request = Request::new(principal, e.action, e.resource, context, Some(schema))
                    .map_err(request_error)?;
                let response = self.authorizer.is_authorized(&request, set, entities);
                let errors: Vec<String> = response
                    .diagnostics()
                    .errors()
                    .map(ToString::to_string)
                    .collect();
                if !errors.is_empty() {
                    return Err(GuardError::Evaluation(errors.join("; ")));
                }
                let mut policies: Vec<String> = response
                    .diagnostics()
                    .reason()
                    .map(ToString::to_string)
                    .collect();
                policies.sort();
                Ok(match response.decision() {
                    CedarDecision::Allow => (Reason::Permitted, policies),
                    CedarDecision::Deny => denied(policies),
                })
            }
            None => {
                let caller_type = type_name(self.caller_type.entity_type())?;
                let request = Request::builder()
                    .unknown_principal_with_type(caller_type)
                    .action(e.action)
                    .resource(e.resource)
                    .context(context)
                    .schema(schema)
                    .build()
                    .map_err(request_error)?;
                let response = self
                    .authorizer
                    .is_authorized_partial(&request, set, entities);
                no_partial_errors(&response)?;
                match response.decision() {
                    Some(CedarDecision::Allow) => Ok((
                        Reason::Permitted,
                        ids_of(response.definitely_satisfied(), Effect::Permit),
                    )),
                    Some(CedarDecision::Deny) => Ok(denied(ids_of(
                        response.definitely_satisfied(),
                        Effect::Forbid,
                    ))),
                    None => {
                        let mut residual: Vec<String> = response
                            .nontrivial_residuals()
                            .map(|p| format!("`{}`", p.id()))
                            .collect();
                        residual.sort();
                        Err(GuardError::CallerUnknown(residual.join(", ")))
                    }
                }
            }
        }
    }
}

/// Any policy that errored makes the decision an error: an erroring policy is a deny, never a
/// policy silently skipped.
fn no_partial_errors(response: &PartialResponse) -> Result<(), GuardError> {
    let errors: Vec<String> = response
        .definitely_errored()
        .map(ToString::to_string)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GuardError::Evaluation(format!(
            "policies {} failed to evaluate",
            errors.join(", ")
        )))
    }
}

/// The ids of the policies with `effect`, sorted.
fn ids_of(policies: impl Iterator<Item = Policy>, effect: Effect) -> Vec<String> {
    let mut ids: Vec<String> = policies
        .filter(|p| p.effect() == effect)
        .map(|p| p.id().to_string())
        .collect();
    ids.sort();
    ids
}

/// A deny: by the forbids that applied, or by default when none did.
fn denied(forbids: Vec<String>) -> (Reason, Vec<String>) {
    if forbids.is_empty() {
        (Reason::NoPolicyPermits, forbids)
    } else {
        (Reason::Forbidden, forbids)
    }
}

/// One evaluation's inputs.
struct Evaluation<'a> {
    tool: &'a str,
    principal: Option<&'a Principal>,
    action: EntityUid,
    resource: EntityUid,
    resource_entity: Option<&'a ResourceFacts>,
    input: &'a Value,
}

/// The entities a request needs beyond the schema's actions; `None` when it needs none.
fn entities(
    sets: &PolicySets,
    principal: Option<&Principal>,
    resource: Option<&ResourceFacts>,
) -> Result<Option<Entities>, GuardError> {
    let mut extra = Vec::with_capacity(2);
    if let Some(p) = principal {
        let no_tags = BTreeMap::new();
        let (attrs, tags) = match p {
            Principal::OAuthUser { id, tags } => (id_attribute(id), tags),
            Principal::IamEntity { id } => (id_attribute(id), &no_tags),
        };
        let entity =
            value::entity(uid(p.entity_type(), p.id())?, &attrs, tags).map_err(|message| {
                GuardError::InvalidEntity {
                    what: "caller",
                    message,
                }
            })?;
        extra.push(entity);
    }
    if let Some(r) = resource {
        let resource_uid = uid(&r.entity_type, &r.id).map_err(|e| GuardError::InvalidEntity {
            what: "resource",
            message: e.to_string(),
        })?;
        let entity = value::entity(resource_uid, &r.attributes, &r.tags).map_err(|message| {
            GuardError::InvalidEntity {
                what: "resource",
                message,
            }
        })?;
        extra.push(entity);
    }
    if extra.is_empty() {
        return Ok(None);
    }
    // With the schema, Cedar checks each entity against its type and adds the action entities.
    Entities::from_entities(extra, Some(&sets.schema))
        .map(Some)
        .map_err(|e| GuardError::InvalidEntity {
            what: if resource.is_some() {
                "resource"
            } else {
                "caller"
            },
            message: describe(&e),
        })
}

fn id_attribute(id: &str) -> serde_json::Map<String, Value> {
    serde_json::Map::from_iter([("id".to_owned(), Value::String(id.to_owned()))])
}

/// Cedar says only that the context does not fit; the declared arguments say which field and
/// why. Worked out only once a request has failed, so the cost stays off the normal path.
fn context_mismatch(
    sets: &PolicySets,
    action: &EntityUid,
    input: &Value,
    err: &RequestValidationError,
) -> String {
    let (Some(declared), Value::Object(given)) = (sets.arguments.get(action), input) else {
        return describe(err);
    };
    let problems: Vec<String> = given
        .iter()
        .filter_map(|(name, value)| match declared.get(name) {
            None => Some(format!(
                "unknown argument `{name}` (declared: {})",
                declared
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(ty) if !json_fits(ty, value) => {
                Some(format!("`{name}` must be {ty}, got {}", json_type(value)))
            }
            Some(_) => None,
        })
        .collect();
    if problems.is_empty() {
        describe(err)
    } else {
        problems.join("; ")
    }
}

/// Whether a JSON value has the shape of a Cedar type named in the schema.
fn json_fits(cedar_type: &str, value: &Value) -> bool {
    match cedar_type {
        "String" => value.is_string(),
        "Long" => value.is_i64(),
        "Bool" | "Boolean" => value.is_boolean(),
        "Set" => value.is_array(),
        "Record" => value.is_object(),
        // Entity references and extension types: let Cedar's own message speak.
        _ => true,
    }
}

fn link_gateway(sets: &PolicySets, arn: &str) -> Result<LinkedGateway, GuardError> {
    if !is_gateway_arn(arn) {
        return Err(GuardError::InvalidGatewayArn(arn.to_owned()));
    }
    let uid = uid("AgentCore::Gateway", arn)?;
    let link_error = |message| GuardError::Link {
        arn: arn.to_owned(),
        message,
    };
    let set = sets.link_gateway(&uid).map_err(link_error)?;
    let slices = sets.gateway_slices(&uid).map_err(link_error)?;
    Ok(LinkedGateway {
        arn: arn.to_owned(),
        uid,
        set,
        slices,
    })
}

/// `arn:<partition>:bedrock-agentcore:<region>:<account>:gateway/<id>`.
fn is_gateway_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "bedrock-agentcore", region, account, resource]
            if !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("gateway/").is_some_and(|id| {
                    !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
    )
}

fn type_name(name: &str) -> Result<EntityTypeName, GuardError> {
    EntityTypeName::from_str(name).map_err(|e| GuardError::InvalidEntity {
        what: "entity type",
        message: format!("`{name}`: {e}"),
    })
}

fn uid(type_name_str: &str, id: &str) -> Result<EntityUid, GuardError> {
    Ok(EntityUid::from_type_name_and_id(
        type_name(type_name_str)?,
        EntityId::new(id),
    ))
}

/// An error's message with its causes, so "entity does not conform to the schema" says how.
fn describe(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_arns_are_checked_for_shape() {
        assert!(is_gateway_arn(
            "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789"
        ));
        for bad in [
            "",
            "gw-xyz789",
            "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/",
            "arn:aws:lambda:us-west-2:123456789012:function/x",
            "arn:aws:bedrock-agentcore:us-west-2:1234:gateway/gw",
            "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw\"x",
        ] {
            assert!(!is_gateway_arn(bad), "{bad}");
        }
    }

    #[test]
    fn config_reads_the_environment_names() {
        let env = |name: &str| match name {
            "GUARD_MODE" => Some("LOG_ONLY".to_owned()),
            "GATEWAY_ARN" => Some(" arn:x ".to_owned()),
            "GATEWAY_AUTHORIZER_TYPE" => Some("AWS_IAM".to_owned()),
            _ => None,
        };
        let (config, warnings) = GuardConfig::from_lookup(env);
        assert!(warnings.is_empty());
        assert_eq!(config.mode, Mode::LogOnly);
        assert_eq!(config.gateway_arn.as_deref(), Some("arn:x"));
        assert_eq!(config.caller_type, CallerType::IamEntity);
        assert_eq!(config.metrics_namespace, DEFAULT_METRICS_NAMESPACE);
    }

    #[test]
    fn config_warns_on_unknown_values_and_stays_safe() {
        let env = |name: &str| match name {
            "GUARD_MODE" => Some("OFF".to_owned()),
            "GATEWAY_AUTHORIZER_TYPE" => Some("NONE".to_owned()),
            _ => None,
        };
        let (config, warnings) = GuardConfig::from_lookup(env);
        assert_eq!(config.mode, Mode::Enforce);
        assert_eq!(config.caller_type, CallerType::OAuthUser);
        assert_eq!(warnings.len(), 2);
    }
}
