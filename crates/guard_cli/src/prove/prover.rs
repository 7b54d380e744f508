//! Cedar's symbolic compiler over one cvc5 process: one invariant proved, two policy sets
//! compared — over the policies the guard enforces, or with the shadow ones enforcing too,
//! and always over the entities the guard builds ([`Folding`]).

use std::{collections::BTreeSet, time::Instant};

use cedar_policy::{Policy, PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::{
    CedarSymCompiler, CompiledPolicySet, Env,
    solver::{LocalSolver, Solver, SolverError},
};
use guard::ToolName;

use crate::cases::Expected;

use super::{
    Comparison, Folding, Invariant, Outcome, ProveError, Scope, ShadowVerdict, Shipped, Verdict,
    counterexample, describe, invariant, shipped,
};

/// Cedar's symbolic compiler over one cvc5 process.
pub struct Prover {
    compiler: CedarSymCompiler<LocalSolver>,
}

impl Prover {
    /// Starts the solver and checks that it answers. Must run inside a tokio runtime.
    pub async fn start() -> Result<Self, ProveError> {
        let unavailable = |e: SolverError| ProveError::Solver(e.to_string());
        let mut solver = LocalSolver::cvc5().map_err(|e| match e {
            SolverError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                ProveError::Solver("not found".to_owned())
            }
            e => unavailable(e),
        })?;
        // An empty query is satisfiable: anything else means the process is not a solver.
        match solver.check_sat().await.map_err(unavailable)? {
            cedar_policy_symcc::solver::Decision::Sat => {}
            other => {
                return Err(ProveError::Solver(format!(
                    "answered {other:?} to an empty query"
                )));
            }
        }
        let compiler =
            CedarSymCompiler::new(solver).map_err(|e| ProveError::Solver(e.to_string()))?;
        Ok(Self { compiler })
    }

    /// Proves one invariant against the policies of `shipped` the guard enforces, over the
    /// entities the guard builds (`folding`); when `shipped` has shadow policies, again as if
    /// they enforced.
    pub async fn prove(
        &mut self,
        shipped: &Shipped,
        invariant: &Invariant,
        folding: &Folding,
    ) -> Result<Outcome, ProveError> {
        let started = Instant::now();
        let schema = &shipped.schema;
        let envs: Vec<RequestEnv> = schema
            .request_envs()
            .filter(|env| invariant::scope_matches(&invariant.region, env, schema))
            .collect();
        let verdict = if invariant.read_only {
            read_only(schema, &envs)
        } else {
            self.prove_region(shipped, invariant, &envs, Scope::Enforced, folding)
                .await?
        };
        let shadow = if shipped.shadows().is_empty() {
            None
        } else if invariant.read_only || !envs.iter().any(|env| shipped.shadowed(env)) {
            Some(ShadowVerdict::Unaffected)
        } else {
            let again = self
                .prove_region(shipped, invariant, &envs, Scope::WithShadows, folding)
                .await?;
            Some(ShadowVerdict::Decided(again))
        };
        Ok(Outcome {
            id: invariant.id.clone(),
            verdict,
            shadow,
            elapsed: started.elapsed(),
        })
    }

    async fn prove_region(
        &mut self,
        shipped: &Shipped,
        invariant: &Invariant,
        envs: &[RequestEnv],
        scope: Scope,
        folding: &Folding,
    ) -> Result<Verdict, ProveError> {
        let schema = &shipped.schema;
        let mut covered = Vec::new();
        let mut unbuildable = false;
        for env in envs {
            let context = || format!("invariant `{}` in {}", invariant.id, describe(env));
            let symcc = |e: cedar_policy_symcc::err::Error| symcc_error(context(), &e);
            // The region holds only requests about resources the guard can build.
            let restricted = folding.restrict(&invariant.region, env)?;
            let region = self.compile_region(&restricted, env, schema, &context)?;
            // Vacuity: a permit-everything set must break the invariant somewhere, i.e. the
            // region must hold some request. An environment where it holds none is not covered.
            if self.holds_nothing(&region, &context).await? {
                let schema_region =
                    self.compile_region(&invariant.region, env, schema, &context)?;
                unbuildable |= !self.holds_nothing(&schema_region, &context).await?;
                continue;
            }
            let policies = shipped.for_env(env, scope)?;
            let allowed = CompiledPolicySet::compile(&policies.set, env, schema).map_err(symcc)?;
            if let Some(found) = self
                .compiler
                .check_disjoint_with_counterexample_opt(&allowed, &region)
                .await
                .map_err(symcc)?
            {
                let tool = policies.tool.unwrap_or_else(|| unknown_tool(env));
                let name = format!("counterexample to {}", invariant.id);
                let replayed =
                    counterexample::replay(&found, name, &tool, Expected::Allow, &shipped.guard);
                return Ok(Verdict::Failed {
                    env: Box::new(env.clone()),
                    replayed: Box::new(replayed),
                });
            }
            covered.push(env.clone());
        }
        Ok(if covered.is_empty() {
            Verdict::Vacuous { unbuildable }
        } else {
            Verdict::Proved(covered)
        })
    }

    fn compile_region(
        &self,
        region: &Policy,
        env: &RequestEnv,
        schema: &Schema,
        context: &dyn Fn() -> String,
    ) -> Result<CompiledPolicySet, ProveError> {
        let mut set = PolicySet::new();
        set.add(region.clone())
            .map_err(|e| ProveError::Policies(e.to_string()))?;
        CompiledPolicySet::compile(&set, env, schema).map_err(|e| symcc_error(context(), &e))
    }

    /// Whether no request lies in `region`.
    async fn holds_nothing(
        &mut self,
        region: &CompiledPolicySet,
        context: &dyn Fn() -> String,
    ) -> Result<bool, ProveError> {
        self.compiler
            .check_always_denies_opt(region)
            .await
            .map_err(|e| symcc_error(context(), &e))
    }

    /// Whether `old` and `new` decide every request alike — every request about a resource
    /// the guard can build (`folding`), in every environment of the schemas, with the
    /// policies of `scope`: the call check on its own, the resource check as a tool runs it
    /// (each side's call check carried along), so a request telling them apart is one a tool
    /// decides differently and the replays show it.
    pub async fn compare(
        &mut self,
        old: &Shipped,
        new: &Shipped,
        scope: Scope,
        folding: &Folding,
    ) -> Result<Comparison, ProveError> {
        let old_envs: BTreeSet<RequestEnv> = old.schema.request_envs().collect();
        let new_envs: BTreeSet<RequestEnv> = new.schema.request_envs().collect();
        if old_envs != new_envs {
            return Ok(Comparison::Schemas {
                only_old: old_envs.difference(&new_envs).cloned().collect(),
                only_new: new_envs.difference(&old_envs).cloned().collect(),
            });
        }
        for env in &new_envs {
            let context = || format!("comparing in {}", describe(env));
            let symcc = |e: cedar_policy_symcc::err::Error| symcc_error(context(), &e);
            let old_set = folding.within(&old.for_env(env, scope)?.set, env)?;
            let new_set = folding.within(&new.for_env(env, scope)?.set, env)?;
            // One schema for both, so both sets are compiled over the same symbolic request.
            let a = CompiledPolicySet::compile(&old_set, env, &new.schema).map_err(symcc)?;
            let b = CompiledPolicySet::compile(&new_set, env, &new.schema).map_err(symcc)?;
            if let Some(found) = self
                .compiler
                .check_equivalent_with_counterexample_opt(&a, &b)
                .await
                .map_err(symcc)?
            {
                let tool = call_tool(new, env);
                let name = format!("request telling {} and {} apart", old.origin, new.origin);
                let expected = decision(&found, &new_set);
                let old_replay =
                    counterexample::replay(&found, name.clone(), &tool, expected, &old.guard);
                let new_replay = counterexample::replay(&found, name, &tool, expected, &new.guard);
                return Ok(Comparison::Different {
                    env: Box::new(env.clone()),
                    old: Box::new(old_replay),
                    new: Box::new(new_replay),
                });
            }
        }
        Ok(Comparison::Equivalent(new_envs.into_iter().collect()))
    }
}

/// NEW's decision on a distinguishing request, by Cedar's own authorizer on the solver's
/// entities (the guard's replay then shows whether the guard agrees).
fn decision(found: &Env, new: &PolicySet) -> Expected {
    let response =
        cedar_policy::Authorizer::new().is_authorized(&found.request, new, &found.entities);
    match response.decision() {
        cedar_policy::Decision::Allow => Expected::Allow,
        cedar_policy::Decision::Deny => Expected::Deny,
    }
}

/// A `@read_only` invariant holds when no tool its scope names has a resource-check action.
fn read_only(schema: &Schema, envs: &[RequestEnv]) -> Verdict {
    if envs.is_empty() {
        return Verdict::Vacuous { unbuildable: false };
    }
    let resource_actions: BTreeSet<String> = schema
        .actions()
        .filter(|a| !shipped::is_call_action(a))
        .map(|a| a.id().unescaped().to_owned())
        .collect();
    let mutating: BTreeSet<String> = envs
        .iter()
        .filter_map(|env| {
            let tool = ToolName::tool_part(env.action().id().unescaped());
            resource_actions.contains(tool).then(|| tool.to_owned())
        })
        .collect();
    if mutating.is_empty() {
        Verdict::Proved(envs.to_vec())
    } else {
        Verdict::NotReadOnly(mutating.into_iter().collect())
    }
}

/// The gateway tool of a call-check environment, or a made-up one naming the action.
fn call_tool(shipped: &Shipped, env: &RequestEnv) -> String {
    shipped
        .for_env(env, Scope::Enforced)
        .ok()
        .and_then(|p| p.tool)
        .unwrap_or_else(|| unknown_tool(env))
}

fn unknown_tool(env: &RequestEnv) -> String {
    ToolName::join("unknown", env.action().id().unescaped())
}

fn symcc_error(context: String, error: &cedar_policy_symcc::err::Error) -> ProveError {
    use cedar_policy_symcc::err::Error;
    let message = match error {
        Error::PolicyNotWellTyped { errs } => {
            let errs: Vec<String> = errs.iter().map(ToString::to_string).collect();
            format!("{error}: {}", errs.join("; "))
        }
        Error::SolverError(e) => return ProveError::Solver(e.to_string()),
        other => other.to_string(),
    };
    ProveError::Symcc { context, message }
}
