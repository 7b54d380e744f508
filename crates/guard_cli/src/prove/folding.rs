//! The entities the guard builds, as assumptions the prover adds.
//!
//! SymCC proves over every entity the schema admits, including tag keys and names the guard
//! never hands Cedar: the guard folds them ([`guard::fold_tag_key`], [`guard::fold_name`]). A
//! forbid and an invariant both on `resource.hasTag("DoNotTouch")` would be PROVED over the
//! schema's entities while the guard, which only ever hands Cedar `donottouch`, never applies
//! either. So each region is proved under what folding makes true of every real resource:
//!
//! - no tag key literal that folding can never produce is present
//!   (`!resource.hasTag("DoNotTouch")`);
//! - no folded attribute ([`guard::FOLDED_ATTRIBUTES`]) equals a literal, or matches a `like`
//!   pattern, that folding can never produce (`resource.name != "Audit"`,
//!   `!(resource.name like "*Audit*")`), and none holds an ASCII capital the policies could
//!   tell from its lowercase (so the solver's counterexamples are names the guard can build).
//!
//! Each is an exact consequence of folding for the literals the policies and invariants hold,
//! so a proof under them is a proof over every resource the guard can present, and an
//! invariant whose region needs an entity the guard never builds is VACUOUS. A tag key
//! computed from the request (`resource.hasTag(context.input.key)`) cannot be constrained
//! this way; `guard validate` warns about it.

use std::collections::{BTreeMap, BTreeSet};

use cedar_policy::{
    EntityTypeName, Policy, PolicyId, PolicySet, RequestEnv, Schema, ValidationMode, Validator,
};
use guard::{FOLDED_ATTRIBUTES, is_folded_name, is_folded_tag_key, name_pattern_can_match};
use serde_json::{Value, json};

use super::ProveError;

pub mod warnings;

/// The id of the forbid that keeps `--equivalent` to the entities the guard builds.
const OUTSIDE_FOLDING: &str = "guard prove: an entity the guard never builds";

/// The literals of a set of policies, and what the schema lets a resource type have.
#[derive(Debug, Clone, Default)]
pub struct Folding {
    /// Every string literal of the policies' conditions.
    strings: BTreeSet<String>,
    /// Every `like` pattern of the policies' conditions, in Cedar's JSON form.
    patterns: Vec<Value>,
    /// By resource type: whether it has string tags, and its folded string attributes.
    types: BTreeMap<String, Shape>,
}

#[derive(Debug, Clone, Default)]
struct Shape {
    tags: bool,
    folded: Vec<&'static str>,
}

impl Folding {
    /// The literals of `policies`, for the resource types of `schema`'s request environments.
    pub fn new<'a>(schema: &Schema, policies: impl IntoIterator<Item = &'a Policy>) -> Self {
        let mut folding = Self::default();
        for policy in policies {
            if let Ok(json) = policy.to_json() {
                for clause in conditions(&json) {
                    folding.collect(clause);
                }
            }
        }
        let types: BTreeSet<EntityTypeName> = schema
            .request_envs()
            .map(|e| e.resource().clone())
            .collect();
        for ty in types {
            let shape = Shape {
                tags: typechecks(schema, &ty, "resource.hasTag(\"k\")"),
                folded: FOLDED_ATTRIBUTES
                    .iter()
                    .copied()
                    .filter(|a| {
                        typechecks(
                            schema,
                            &ty,
                            &format!("resource has {a} && resource.{a} like \"*\""),
                        )
                    })
                    .collect(),
            };
            folding.types.insert(ty.to_string(), shape);
        }
        folding
    }

    fn collect(&mut self, expr: &Value) {
        match expr {
            Value::Object(fields) => {
                if let Some(Value::String(s)) = fields.get("Value") {
                    self.strings.insert(s.clone());
                }
                if let Some(pattern) = fields.get("like").and_then(|l| l.get("pattern")) {
                    self.patterns.push(pattern.clone());
                }
                fields.values().for_each(|v| self.collect(v));
            }
            Value::Array(items) => items.iter().for_each(|v| self.collect(v)),
            _ => {}
        }
    }

    /// What folding makes true of every resource of `env` the guard builds, as one Cedar
    /// expression (JSON form); `None` when nothing needs saying.
    pub fn assumption(&self, env: &RequestEnv) -> Option<Value> {
        let shape = self.types.get(&env.resource().to_string())?;
        let mut facts = Vec::new();
        if shape.tags {
            for key in self.strings.iter().filter(|k| !is_folded_tag_key(k)) {
                facts.push(not(
                    json!({"hasTag": {"left": resource(), "right": {"Value": key}}}),
                ));
            }
        }
        for attr in &shape.folded {
            let value = json!({".": {"left": resource(), "attr": attr}});
            let has = json!({"has": {"left": resource(), "attr": attr}});
            let never = |test: Value| not(and(has.clone(), test));
            for text in self.strings.iter().filter(|s| !is_folded_name(s)) {
                facts.push(never(
                    json!({"==": {"left": value, "right": {"Value": text}}}),
                ));
            }
            for pattern in self.patterns.iter().filter(|p| !can_match(p)) {
                facts.push(never(json!({"like": {"left": value, "pattern": pattern}})));
            }
            for capital in self.capitals() {
                let pattern = json!(["Wildcard", {"Literal": capital.to_string()}, "Wildcard"]);
                facts.push(never(json!({"like": {"left": value, "pattern": pattern}})));
            }
        }
        all(facts)
    }

    /// The ASCII capitals whose lowercase letter some literal holds: a name with one of them
    /// could be told from the name the guard would build.
    fn capitals(&self) -> BTreeSet<char> {
        let pattern_text = self.patterns.iter().flat_map(literal_parts);
        self.strings
            .iter()
            .map(String::as_str)
            .chain(pattern_text)
            .flat_map(str::chars)
            .filter(char::is_ascii_lowercase)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    }

    /// `region`, narrowed to the requests whose resource the guard can build.
    pub fn restrict(&self, region: &Policy, env: &RequestEnv) -> Result<Policy, ProveError> {
        let Some(assumption) = self.assumption(env) else {
            return Ok(region.clone());
        };
        let policies = |e: String| ProveError::Policies(format!("{}: {e}", region.id()));
        let mut json = region.to_json().map_err(|e| policies(e.to_string()))?;
        let clause = json!({"kind": "when", "body": assumption});
        match json.get_mut("conditions").and_then(Value::as_array_mut) {
            Some(conditions) => conditions.push(clause),
            None => {
                if let Some(fields) = json.as_object_mut() {
                    fields.insert("conditions".to_owned(), json!([clause]));
                }
            }
        }
        Policy::from_json(Some(region.id().clone()), json).map_err(|e| policies(e.to_string()))
    }

    /// `set` with a forbid on every request of `env` whose resource the guard cannot build:
    /// two sets compared this way differ only where a real request can tell them apart.
    pub fn within(&self, set: &PolicySet, env: &RequestEnv) -> Result<PolicySet, ProveError> {
        let Some(assumption) = self.assumption(env) else {
            return Ok(set.clone());
        };
        let action = env.action();
        let est = json!({
            "effect": "forbid",
            "principal": {"op": "All"},
            "action": {"op": "==", "entity": {
                "type": action.type_name().to_string(), "id": action.id().unescaped()}},
            "resource": {"op": "is", "entity_type": env.resource().to_string()},
            "conditions": [{"kind": "unless", "body": assumption}],
        });
        let error = |e: String| ProveError::Policies(format!("{OUTSIDE_FOLDING}: {e}"));
        let forbid = Policy::from_json(Some(PolicyId::new(OUTSIDE_FOLDING)), est)
            .map_err(|e| error(e.to_string()))?;
        let mut within = set.clone();
        within.add(forbid).map_err(|e| error(e.to_string()))?;
        Ok(within)
    }
}

/// The condition bodies of a policy in Cedar's JSON form.
pub(crate) fn conditions(policy: &Value) -> impl Iterator<Item = &Value> {
    policy
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("body"))
}

/// The literal (non-wildcard) parts of a pattern in Cedar's JSON form.
pub(crate) fn literal_parts(pattern: &Value) -> impl Iterator<Item = &str> {
    pattern
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|elem| elem.get("Literal").and_then(Value::as_str))
}

/// Whether some folded name can match `pattern` (Cedar's JSON form).
pub(crate) fn can_match(pattern: &Value) -> bool {
    name_pattern_can_match(literal_parts(pattern))
}

/// Whether `condition` typechecks (strict) on a resource of type `ty`.
fn typechecks(schema: &Schema, ty: &EntityTypeName, condition: &str) -> bool {
    let text = format!("permit (principal, action, resource is {ty}) when {{ {condition} }};");
    let Ok(set) = text.parse::<PolicySet>() else {
        return false;
    };
    // A condition Cedar types as always false (`has` of an attribute the type lacks, `hasTag`
    // on a type without tags) is no error but makes the policy impossible, a warning.
    let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    result.validation_passed_without_warnings()
}

fn resource() -> Value {
    json!({"Var": "resource"})
}

fn not(arg: Value) -> Value {
    json!({"!": {"arg": arg}})
}

fn and(left: Value, right: Value) -> Value {
    json!({"&&": {"left": left, "right": right}})
}

/// The conjunction of `facts`, as a balanced tree: a chain of a hundred `&&` nests deep
/// enough to overflow the stack of Cedar's recursive printing and parsing.
fn all(mut facts: Vec<Value>) -> Option<Value> {
    if facts.len() <= 1 {
        return facts.pop();
    }
    let right = facts.split_off(facts.len() / 2);
    match (all(facts), all(right)) {
        (Some(left), Some(right)) => Some(and(left, right)),
        (one, other) => one.or(other),
    }
}

#[cfg(test)]
mod tests;
