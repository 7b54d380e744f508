//! The shipped policies as SymCC sees them: the gateway set rendered for the configured gateway
//! (SymCC rejects template-linked policies), the resource set, and, for a resource check, the
//! call check carried along — a tool runs both, so a request is allowed only when both allow.
//!
//! Shadow policies (`@mode("LOG_ONLY")`) are kept apart: the guard never enforces them, so
//! what is proved is the enforced policies ([`Scope::Enforced`]); what the set would prove
//! once they enforce is asked separately ([`Scope::WithShadows`]).

use std::{collections::BTreeMap, str::FromStr, sync::Arc};

use cedar_policy::{
    Effect, EntityUid, Policy, PolicyId, PolicySet, PrincipalConstraint, RequestEnv,
    ResourceConstraint, Schema,
};
use guard::{
    ActionType, EnforcementMode, Guard, GuardConfig, LoadError, Mode, NoAudit, PolicySources,
    ToolName, render_static,
};
use serde_json::{Value, json};

use super::{
    ProveError,
    invariant::{action_matches, scope_matches},
};

/// One policies directory, loaded as the guard loads it, with its sets in SymCC's form.
pub struct Shipped {
    /// Where the policies came from, for messages.
    pub origin: String,
    /// The combined schema (call check and resource check).
    pub schema: Schema,
    /// The real guard over the same policies, for replaying counterexamples.
    pub guard: Guard,
    gateway: Split,
    gateway_uid: EntityUid,
    resource: Split,
}

/// Which policies decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// What the guard enforces: every policy but the shadow ones.
    Enforced,
    /// As if the shadow policies enforced too: what the set proves once they do.
    WithShadows,
}

/// One set, its enforced policies apart from its shadow ones.
struct Split {
    enforced: PolicySet,
    shadow: PolicySet,
}

impl Split {
    fn new(all: &PolicySet) -> Result<Self, ProveError> {
        let mut split = Self {
            enforced: PolicySet::new(),
            shadow: PolicySet::new(),
        };
        for policy in all.policies() {
            let into = match EnforcementMode::of(policy) {
                EnforcementMode::Active => &mut split.enforced,
                EnforcementMode::LogOnly => &mut split.shadow,
            };
            into.add(policy.clone())
                .map_err(|e| ProveError::Policies(e.to_string()))?;
        }
        Ok(split)
    }

    fn get(&self, scope: Scope) -> Result<PolicySet, ProveError> {
        let mut set = self.enforced.clone();
        if scope == Scope::WithShadows {
            for policy in self.shadow.policies() {
                set.add(policy.clone())
                    .map_err(|e| ProveError::Policies(e.to_string()))?;
            }
        }
        Ok(set)
    }
}

/// The policies SymCC is to judge in one request environment.
pub struct EnvPolicies {
    /// The policy set.
    pub set: PolicySet,
    /// The gateway tool name (`<target>___<tool>`) a request of this environment is made
    /// through, for the `guard test` case; `None` when the schema names no gateway action
    /// for a resource-check action.
    pub tool: Option<String>,
}

impl Shipped {
    /// Loads `sources` as the guard does and links the gateway set to `gateway_arn`.
    pub fn load(
        sources: Result<PolicySources, LoadError>,
        gateway_arn: &str,
    ) -> Result<Self, ProveError> {
        let sources = sources?;
        let config = GuardConfig {
            mode: Mode::Enforce,
            gateway_arn: Some(gateway_arn.to_owned()),
            ..GuardConfig::default()
        };
        let guard = Guard::new(&sources, &config, Arc::new(NoAudit));
        let sets = guard.policy_sets().map_err(Clone::clone)?;
        let schema = sets.schema().clone();
        // The `render` path: static text naming the gateway, parsed back.
        let linked = guard.gateway_set().map_err(Clone::clone)?;
        let gateway = Split::new(&named_set("gateway (rendered)", &render_static(linked)?)?)?;
        let mut resource = PolicySet::new();
        for file in sources
            .files()
            .iter()
            .filter(|f| f.name.starts_with("resource/"))
        {
            for policy in named_set(&file.name, &file.text)?.policies() {
                resource
                    .add(policy.clone())
                    .map_err(|e| ProveError::Policies(format!("{}: {e}", file.name)))?;
            }
        }
        let resource = Split::new(&resource)?;
        let gateway_uid = EntityUid::from_str(&format!(
            "AgentCore::Gateway::{}",
            Value::String(gateway_arn.to_owned())
        ))
        .map_err(|e| ProveError::Policies(e.to_string()))?;
        Ok(Self {
            origin: sources.origin.clone(),
            schema,
            guard,
            gateway,
            gateway_uid,
            resource,
        })
    }

    /// Whether `env` is a call check's.
    pub fn is_call(env: &RequestEnv) -> bool {
        is_call_action(env.action())
    }

    /// Every policy, enforced and shadow, gateway (rendered) and resource.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        [&self.gateway, &self.resource]
            .into_iter()
            .flat_map(|s| s.enforced.policies().chain(s.shadow.policies()))
    }

    /// The shadow policies, by id, each in Cedar's JSON form (the same for the same policy,
    /// however it was laid out).
    pub fn shadows(&self) -> BTreeMap<String, String> {
        [&self.gateway, &self.resource]
            .into_iter()
            .flat_map(|s| s.shadow.policies())
            .map(|p| {
                let json = p.to_json().map(|j| j.to_string());
                (p.id().to_string(), json.unwrap_or_else(|e| e.to_string()))
            })
            .collect()
    }

    /// Whether some shadow policy can apply to a request of `env`.
    pub fn shadowed(&self, env: &RequestEnv) -> bool {
        let own = if Self::is_call(env) {
            &self.gateway
        } else {
            &self.resource
        };
        let carried = !Self::is_call(env) && !self.gateway.shadow.is_empty();
        carried
            || own
                .shadow
                .policies()
                .any(|p| scope_matches(p, env, &self.schema))
    }

    /// What a tool allows in `env`: for a call check the gateway set; for a resource check the
    /// resource set *and* the call check of the same tool, carried over as forbids (the tool
    /// runs both; its `context.input` is the same arguments).
    pub fn for_env(&self, env: &RequestEnv, scope: Scope) -> Result<EnvPolicies, ProveError> {
        if Self::is_call(env) {
            return Ok(EnvPolicies {
                set: self.gateway.get(scope)?,
                tool: Some(env.action().id().unescaped().to_owned()),
            });
        }
        let tool = env.action().id().unescaped();
        let calls: Vec<EntityUid> = self
            .schema
            .actions()
            .filter(|a| is_call_action(a))
            .filter(|a| ToolName::parse(a.id().unescaped()).is_ok_and(|name| name.tool == tool))
            .cloned()
            .collect();
        let mut set = self.resource.get(scope)?;
        // With several gateway tools for one action, which call check ran is not known here:
        // prove the resource check alone, which is the stronger claim.
        let [call] = calls.as_slice() else {
            return Ok(EnvPolicies { set, tool: None });
        };
        for policy in self.carried(call, env.action(), scope)? {
            set.add(policy)
                .map_err(|e| ProveError::Policies(e.to_string()))?;
        }
        Ok(EnvPolicies {
            set,
            tool: Some(call.id().unescaped().to_owned()),
        })
    }

    /// The gateway policies for `call`, as forbids on `action`: one forbid unless some permit's
    /// condition holds, one per gateway forbid when its condition holds.
    fn carried(
        &self,
        call: &EntityUid,
        action: &EntityUid,
        scope: Scope,
    ) -> Result<Vec<Policy>, ProveError> {
        let mut permits = Vec::new();
        let mut policies = Vec::new();
        for policy in self.gateway.get(scope)?.policies() {
            let applies = action_matches(&policy.action_constraint(), call, &self.schema)
                && match policy.resource_constraint() {
                    ResourceConstraint::Eq(uid) => uid == self.gateway_uid,
                    _ => true,
                };
            if !applies {
                continue;
            }
            let condition = condition(policy)?;
            match policy.effect() {
                Effect::Permit => permits.push(condition),
                Effect::Forbid => policies.push(carried_forbid(
                    &format!("call check: {}", policy.id()),
                    action,
                    "when",
                    condition,
                )?),
            }
        }
        // Nested to the right, `p1 || (p2 || (p3 || ...))`: the symbolic compiler refers to
        // the left operand of `||` twice, so a left-nested chain doubles at every permit
        // (a proof with 25 carried permits did not finish in 10 minutes) while this one
        // grows by one permit's size. Cedar's `||` is associative, errors and short-circuit
        // included: the same condition either way.
        let any_permit = permits
            .into_iter()
            .rev()
            .reduce(|rest, permit| json!({"||": {"left": permit, "right": rest}}))
            .unwrap_or_else(|| json!({"Value": false}));
        policies.push(carried_forbid(
            "call check: no permit",
            action,
            "unless",
            any_permit,
        )?);
        Ok(policies)
    }
}

/// Whether `action` is a call check's ([`ActionType::Call`]); every other action is a resource
/// check's.
pub fn is_call_action(action: &EntityUid) -> bool {
    ActionType::of(action) == Some(ActionType::Call)
}

/// A forbid on `action` (any principal, any resource) with one condition.
fn carried_forbid(
    id: &str,
    action: &EntityUid,
    kind: &str,
    body: Value,
) -> Result<Policy, ProveError> {
    let est = json!({
        "effect": "forbid",
        "principal": {"op": "All"},
        "action": {"op": "==", "entity": entity(action)},
        "resource": {"op": "All"},
        "conditions": [{"kind": kind, "body": body}],
    });
    Policy::from_json(Some(PolicyId::new(id)), est)
        .map_err(|e| ProveError::Policies(format!("cannot carry the call check over: {e}")))
}

/// A policy's principal scope and conditions as one expression (JSON form). Its action and
/// resource scopes are left out: the caller has matched them.
fn condition(policy: &Policy) -> Result<Value, ProveError> {
    let principal = json!({"Var": "principal"});
    let mut parts = vec![match policy.principal_constraint() {
        PrincipalConstraint::Any => json!({"Value": true}),
        PrincipalConstraint::Eq(uid) => {
            json!({"==": {"left": principal, "right": {"Value": {"__entity": entity(&uid)}}}})
        }
        PrincipalConstraint::In(uid) => {
            json!({"in": {"left": principal, "right": {"Value": {"__entity": entity(&uid)}}}})
        }
        PrincipalConstraint::Is(ty) => {
            json!({"is": {"left": principal, "entity_type": ty.to_string()}})
        }
        PrincipalConstraint::IsIn(ty, uid) => json!({"is": {
            "left": principal,
            "entity_type": ty.to_string(),
            "in": {"Value": {"__entity": entity(&uid)}},
        }}),
    }];
    let est = policy
        .to_json()
        .map_err(|e| ProveError::Policies(format!("{}: {e}", policy.id())))?;
    for clause in est
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let body = clause
            .get("body")
            .cloned()
            .unwrap_or(json!({"Value": true}));
        parts.push(match clause.get("kind").and_then(Value::as_str) {
            Some("unless") => json!({"!": {"arg": body}}),
            _ => body,
        });
    }
    Ok(parts
        .into_iter()
        .reduce(|a, b| json!({"&&": {"left": a, "right": b}}))
        .unwrap_or_else(|| json!({"Value": true})))
}

fn entity(uid: &EntityUid) -> Value {
    json!({"type": uid.type_name().to_string(), "id": uid.id().unescaped()})
}

/// Parses `text` and names each policy by its `@id` (Cedar numbers them otherwise).
fn named_set(file: &str, text: &str) -> Result<PolicySet, ProveError> {
    let parsed =
        PolicySet::from_str(text).map_err(|e| ProveError::Policies(format!("{file}: {e}")))?;
    let mut set = PolicySet::new();
    for policy in parsed.policies() {
        let named = match policy.annotation("id") {
            Some(id) => policy.new_id(PolicyId::new(id)),
            None => policy.clone(),
        };
        set.add(named)
            .map_err(|e| ProveError::Policies(format!("{file}: {e}")))?;
    }
    Ok(set)
}

#[cfg(test)]
mod tests;
