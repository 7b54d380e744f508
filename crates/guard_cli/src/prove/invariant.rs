//! Invariants: the `forbid` policies under `policies/invariants/`, each naming a region of
//! requests the shipped policies must never allow.

use std::{fs, path::Path, str::FromStr};

use cedar_policy::{
    ActionConstraint, Effect, EntityUid, Policy, PolicyId, PolicySet, PrincipalConstraint,
    RequestEnv, ResourceConstraint, Schema, ValidationMode, Validator,
};

use super::ProveError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_invariants.rs"));
}

/// The annotation that makes an invariant a claim about the schema: the tools its scope names
/// have no resource check to pass.
pub const READ_ONLY: &str = "read_only";

/// One invariant: what must never be allowed.
#[derive(Debug, Clone)]
pub struct Invariant {
    /// Its `@id`.
    pub id: String,
    /// The file it was written in.
    pub file: String,
    /// The forbidden region as a `permit`: the requests it allows are the ones the shipped
    /// policies must not. SymCC compares what policy sets allow, so the region is a permit.
    pub region: Policy,
    /// `@read_only`: a claim about the schema, not a region.
    pub read_only: bool,
}

/// Reads the invariants compiled in from `policies/invariants/`.
pub fn embedded() -> Vec<(String, String)> {
    embedded::EMBEDDED
        .iter()
        .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
        .collect()
}

/// Reads every `*.cedar` file of `dir`, sorted by name.
pub fn from_dir(dir: &Path) -> Result<Vec<(String, String)>, ProveError> {
    let unreadable =
        |e: std::io::Error| ProveError::Invariants(vec![format!("{}: {e}", dir.display())]);
    let mut paths: Vec<_> = fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).map_err(unreadable)?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

/// Parses and validates (strict, against `schema`) the invariant files. Every policy must be a
/// `forbid` with an `@id` unique across the files.
pub fn parse(files: &[(String, String)], schema: &Schema) -> Result<Vec<Invariant>, ProveError> {
    let mut problems = Vec::new();
    let mut invariants: Vec<Invariant> = Vec::new();
    for (file, text) in files {
        let set = match PolicySet::from_str(text) {
            Ok(set) => set,
            Err(e) => {
                problems.push(format!("{file}: {e}"));
                continue;
            }
        };
        if set.templates().next().is_some() {
            problems.push(format!("{file}: an invariant cannot be a template"));
        }
        let mut policies: Vec<&Policy> = set.policies().collect();
        // `from_str` numbers policies in file order (`policy0`…); keep that order.
        policies.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        for policy in policies {
            let Some(id) = policy.annotation("id").map(str::to_owned) else {
                problems.push(format!("{file}: every invariant needs an `@id(\"…\")`"));
                continue;
            };
            if policy.effect() != Effect::Forbid {
                problems.push(format!(
                    "{file}: invariant `{id}` is a permit: write what must never be allowed as a forbid"
                ));
                continue;
            }
            if invariants.iter().any(|i| i.id == id) {
                problems.push(format!("{file}: invariant id `{id}` is used twice"));
                continue;
            }
            match as_region(policy, &id) {
                Ok(region) => invariants.push(Invariant {
                    id,
                    file: file.clone(),
                    region,
                    read_only: policy.annotation(READ_ONLY).is_some(),
                }),
                Err(e) => problems.push(format!("{file}: invariant `{id}`: {e}")),
            }
        }
    }
    let mut regions = PolicySet::new();
    for invariant in &invariants {
        if let Err(e) = regions.add(invariant.region.clone()) {
            problems.push(format!("{}: {e}", invariant.file));
        }
    }
    let validation = Validator::new(schema.clone()).validate(&regions, ValidationMode::Strict);
    for error in validation.validation_errors() {
        let file = invariants
            .iter()
            .find(|i| i.id == error.policy_id().to_string())
            .map_or("invariants", |i| i.file.as_str());
        problems.push(format!("{file}: {error}"));
    }
    if invariants.is_empty() && problems.is_empty() {
        problems.push("no invariants found: nothing would be proved".to_owned());
    }
    if problems.is_empty() {
        Ok(invariants)
    } else {
        Err(ProveError::Invariants(problems))
    }
}

/// The same policy as a `permit` named `id`.
fn as_region(policy: &Policy, id: &str) -> Result<Policy, String> {
    let mut json = policy.to_json().map_err(|e| e.to_string())?;
    if let Some(effect) = json.get_mut("effect") {
        *effect = serde_json::Value::String("permit".to_owned());
    }
    Policy::from_json(Some(PolicyId::new(id)), json).map_err(|e| e.to_string())
}

/// Whether `policy`'s scope can match requests of `env` (by entity types and the schema's
/// action groups); conservative: a scope it cannot rule out matches.
pub fn scope_matches(policy: &Policy, env: &RequestEnv, schema: &Schema) -> bool {
    let principal = match policy.principal_constraint() {
        PrincipalConstraint::Eq(uid) => uid.type_name() == env.principal(),
        PrincipalConstraint::Is(ty) | PrincipalConstraint::IsIn(ty, _) => &ty == env.principal(),
        PrincipalConstraint::Any | PrincipalConstraint::In(_) => true,
    };
    let resource = match policy.resource_constraint() {
        ResourceConstraint::Eq(uid) => uid.type_name() == env.resource(),
        ResourceConstraint::Is(ty) | ResourceConstraint::IsIn(ty, _) => &ty == env.resource(),
        ResourceConstraint::Any | ResourceConstraint::In(_) => true,
    };
    principal && resource && action_matches(&policy.action_constraint(), env.action(), schema)
}

/// Whether an action scope covers `action`, through the schema's action groups.
pub fn action_matches(constraint: &ActionConstraint, action: &EntityUid, schema: &Schema) -> bool {
    match constraint {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => a == action,
        ActionConstraint::In(groups) => {
            let ancestors: Vec<EntityUid> = schema
                .action_entities()
                .ok()
                .and_then(|entities| entities.ancestors(action).map(|a| a.cloned().collect()))
                .unwrap_or_default();
            groups.iter().any(|g| g == action || ancestors.contains(g))
        }
    }
}
