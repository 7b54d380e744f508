//! A request and entities the solver found, turned into a `guard test` case and replayed
//! through the real guard.

use cedar_policy::{Entities, EntityUid};
use cedar_policy_symcc::Env;
use guard::{Guard, Principal, ResourceFacts};
use serde_json::{Map, Value, json};

use crate::cases::{self, Case, Expected};

/// A counterexample as a case, and what the real guard decided about it.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The case, as `guard test` reads it; `expected` is what the proof says the policies do.
    pub case: Case,
    /// What the guard decided.
    pub got: Expected,
    /// The guard's decisions, explained.
    pub detail: String,
}

impl Replayed {
    /// The guard decided what the proof says.
    pub fn confirmed(&self) -> bool {
        self.got == self.case.expected
    }

    /// The case as JSON text, ready to paste into a case file.
    pub fn case_json(&self) -> String {
        let case = &self.case;
        let mut out = Map::new();
        out.insert("name".into(), json!(case.name));
        out.insert("tool".into(), json!(case.tool));
        out.insert("params".into(), case.params.clone());
        out.insert("expected".into(), json!(case.expected.to_string()));
        if let Some(p) = &case.principal {
            out.insert(
                "principal".into(),
                serde_json::to_value(p).unwrap_or(Value::Null),
            );
        }
        if let Some(r) = &case.resource {
            out.insert(
                "resource".into(),
                serde_json::to_value(r).unwrap_or(Value::Null),
            );
        }
        if let Some(a) = &case.approval {
            out.insert(
                "approval".into(),
                serde_json::to_value(a).unwrap_or(Value::Null),
            );
        }
        serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default()
    }
}

/// Turns `env` into a case named `name` through gateway tool `tool`, expecting `expected`,
/// and decides it with `guard` as a tool would (call check, then resource check).
pub fn replay(
    env: &Env,
    name: String,
    tool: &str,
    expected: Expected,
    guard: &Guard,
) -> Result<Replayed, String> {
    let request = &env.request;
    let context = request
        .context()
        .map(|c| c.to_json_value().map_err(|e| e.to_string()))
        .transpose()?;
    let params = context
        .as_ref()
        .and_then(|c| c.get("input").cloned())
        .unwrap_or_else(|| json!({}));
    // A person's approval the counterexample holds, as the tool would present it.
    let approval = context
        .as_ref()
        .and_then(|c| c.get("approval").cloned())
        .map(serde_json::from_value::<guard::Approval>)
        .transpose()
        .map_err(|e| format!("the counterexample's approval: {e}"))?;
    let principal = request
        .principal()
        .map(|uid| principal(uid, &env.entities))
        .transpose()?;
    let resource = match request.resource() {
        Some(uid) if uid.type_name().namespace() == "Guard" => Some(resource(uid, &env.entities)?),
        _ => None,
    };
    let case = Case {
        name,
        tool: tool.to_owned(),
        params,
        expected,
        principal,
        resource,
        mode: None,
        history: None,
        approval,
        approver_role: None,
        denied_by: None,
        policy: None,
    };
    let first = decide(guard, case);
    if first.confirmed() {
        return Ok(first);
    }
    // The prover rules out the tag keys the policies name that folding never produces, but a
    // key computed from the request can still come back as one (`Environment`); the guard
    // would fold it, perhaps onto a key the solver also chose. The same request as the guard
    // can be presented keeps only the keys folding produces.
    let mut folded = first.case.clone();
    if let Some(resource) = &mut folded.resource {
        resource.tags.retain(|k, _| guard::is_folded_tag_key(k));
    }
    let second = decide(guard, folded);
    Ok(if second.confirmed() { second } else { first })
}

fn decide(guard: &Guard, case: Case) -> Replayed {
    let (got, decisions) = cases::decide(guard, &case);
    let detail = decisions
        .iter()
        .map(guard::Decision::explain)
        .collect::<Vec<_>>()
        .join("; ");
    Replayed { case, got, detail }
}

/// The entity's JSON form (`{"uid", "attrs", "parents", "tags"}`), or an empty one when the
/// counterexample needed nothing of it.
fn entity_json(uid: &EntityUid, entities: &Entities) -> Result<Value, String> {
    match entities.get(uid) {
        Some(entity) => entity.to_json_value().map_err(|e| e.to_string()),
        None => Ok(json!({})),
    }
}

fn strings(value: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect()
}

fn principal(uid: &EntityUid, entities: &Entities) -> Result<Principal, String> {
    let id = uid.id().unescaped().to_owned();
    match uid.type_name().basename() {
        "OAuthUser" => Ok(Principal::OAuthUser {
            id,
            tags: strings(entity_json(uid, entities)?.get("tags")),
        }),
        "IamEntity" => Ok(Principal::IamEntity { id }),
        other => Err(format!(
            "the counterexample's principal type `{other}` is no caller type"
        )),
    }
}

fn resource(uid: &EntityUid, entities: &Entities) -> Result<ResourceFacts, String> {
    let json = entity_json(uid, entities)?;
    let mut facts = ResourceFacts::new(uid.type_name().to_string(), uid.id().unescaped())
        .tags(strings(json.get("tags")));
    if let Some(attrs) = json.get("attrs").and_then(Value::as_object) {
        facts.attributes = attrs.clone();
    }
    Ok(facts)
}
