//! `guard prove`: the shipped policies against the invariants, for every request the schema
//! admits, with Cedar's symbolic compiler (SymCC) and a cvc5 process.
//!
//! An invariant is a `forbid` naming a region of requests (`policies/invariants/`). It is
//! PROVED when, in every request environment (principal type, action, resource type) its scope
//! covers, no request the shipped policies allow lies in the region; FAILED with one request
//! that does, replayed through the real guard; VACUOUS when the region is empty everywhere —
//! even a permit-everything set would satisfy it, so it proves nothing.

mod counterexample;
pub mod invariant;
mod shipped;

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use cedar_policy::{PolicySet, RequestEnv, Schema};
use cedar_policy_symcc::{
    CedarSymCompiler, CompiledPolicySet, Env,
    solver::{LocalSolver, Solver, SolverError},
};
use guard::{GuardError, LoadError, RenderError, TOOL_SEPARATOR};

pub use counterexample::Replayed;
pub use invariant::Invariant;
pub use shipped::Shipped;

use crate::cases::Expected;

/// Why a proof could not be attempted (as opposed to a proof that failed).
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The policies did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The gateway set could not be linked.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The gateway set could not be rendered as static policies.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A policy could not be put in SymCC's form.
    #[error("policies: {0}")]
    Policies(String),
    /// The invariant files are wrong.
    #[error("invalid invariants:\n  {}", .0.join("\n  "))]
    Invariants(Vec<String>),
    /// No solver process could be started or talked to.
    #[error(
        "no working cvc5 solver ({0}): `guard prove` runs `$CVC5`, else `cvc5` on PATH; \
         `source tests/env.sh` installs one into .venv and puts it on PATH"
    )]
    Solver(String),
    /// SymCC could not compile or decide a query.
    #[error("symbolic compiler, {context}: {message}")]
    Symcc {
        /// Which invariant or comparison, in which environment.
        context: String,
        /// What SymCC said.
        message: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// What became of one invariant.
#[derive(Debug)]
pub enum Verdict {
    /// No allowed request lies in the region, in any of these environments.
    Proved(Vec<RequestEnv>),
    /// This allowed request lies in the region.
    Failed {
        /// The environment the request belongs to.
        env: Box<RequestEnv>,
        /// The request as a case, and the guard's decision on it; `Err` when it could not
        /// be turned into one.
        replayed: Box<Result<Replayed, String>>,
    },
    /// The region is empty in every environment: the invariant says nothing.
    Vacuous,
    /// A `@read_only` invariant: these tools have a resource-check action in the schema.
    NotReadOnly(Vec<String>),
}

/// One invariant's result.
#[derive(Debug)]
pub struct Outcome {
    /// The invariant's `@id`.
    pub id: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// Time spent compiling and solving.
    pub elapsed: Duration,
}

impl Outcome {
    /// PROVED.
    pub fn proved(&self) -> bool {
        matches!(self.verdict, Verdict::Proved(_))
    }
}

/// How two policy directories compare.
#[derive(Debug)]
pub enum Comparison {
    /// Same decision on every request of these environments.
    Equivalent(Vec<RequestEnv>),
    /// A request they decide differently, replayed through each.
    Different {
        /// Its environment.
        env: Box<RequestEnv>,
        /// The request as a case expecting NEW's decision, with the OLD guard's decision.
        old: Box<Result<Replayed, String>>,
        /// The same request through the NEW guard.
        new: Box<Result<Replayed, String>>,
    },
    /// The schemas declare different request environments.
    Schemas {
        /// Only in OLD.
        only_old: Vec<RequestEnv>,
        /// Only in NEW.
        only_new: Vec<RequestEnv>,
    },
}

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

    /// Proves one invariant against `shipped`.
    pub async fn prove(
        &mut self,
        shipped: &Shipped,
        invariant: &Invariant,
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
            self.prove_region(shipped, invariant, envs).await?
        };
        Ok(Outcome {
            id: invariant.id.clone(),
            verdict,
            elapsed: started.elapsed(),
        })
    }

    async fn prove_region(
        &mut self,
        shipped: &Shipped,
        invariant: &Invariant,
        envs: Vec<RequestEnv>,
    ) -> Result<Verdict, ProveError> {
        let schema = &shipped.schema;
        let mut region = PolicySet::new();
        region
            .add(invariant.region.clone())
            .map_err(|e| ProveError::Policies(e.to_string()))?;
        let mut covered = Vec::new();
        for env in envs {
            let context = || format!("invariant `{}` in {}", invariant.id, describe(&env));
            let symcc = |e: cedar_policy_symcc::err::Error| symcc_error(context(), &e);
            let region = CompiledPolicySet::compile(&region, &env, schema).map_err(symcc)?;
            // Vacuity: a permit-everything set must break the invariant somewhere, i.e. the
            // region must hold some request. An environment where it holds none is not covered.
            if self
                .compiler
                .check_always_denies_opt(&region)
                .await
                .map_err(symcc)?
            {
                continue;
            }
            let policies = shipped.for_env(&env)?;
            let allowed = CompiledPolicySet::compile(&policies.set, &env, schema).map_err(symcc)?;
            if let Some(found) = self
                .compiler
                .check_disjoint_with_counterexample_opt(&allowed, &region)
                .await
                .map_err(symcc)?
            {
                let tool = policies.tool.unwrap_or_else(|| unknown_tool(&env));
                let name = format!("counterexample to {}", invariant.id);
                let replayed =
                    counterexample::replay(&found, name, &tool, Expected::Allow, &shipped.guard);
                return Ok(Verdict::Failed {
                    env: Box::new(env),
                    replayed: Box::new(replayed),
                });
            }
            covered.push(env);
        }
        Ok(if covered.is_empty() {
            Verdict::Vacuous
        } else {
            Verdict::Proved(covered)
        })
    }

    /// Whether `old` and `new` decide every request alike: the call check and the resource
    /// check each compared on their own, in every environment of the schemas.
    pub async fn compare(
        &mut self,
        old: &Shipped,
        new: &Shipped,
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
            // One schema for both, so both sets are compiled over the same symbolic request.
            let a = CompiledPolicySet::compile(old.own(env), env, &new.schema).map_err(symcc)?;
            let b = CompiledPolicySet::compile(new.own(env), env, &new.schema).map_err(symcc)?;
            if let Some(found) = self
                .compiler
                .check_equivalent_with_counterexample_opt(&a, &b)
                .await
                .map_err(symcc)?
            {
                let tool = call_tool(new, env);
                let name = format!("request telling {} and {} apart", old.origin, new.origin);
                let expected = decision(&found, new, env);
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
fn decision(found: &Env, new: &Shipped, env: &RequestEnv) -> Expected {
    let response = cedar_policy::Authorizer::new().is_authorized(
        &found.request,
        new.own(env),
        &found.entities,
    );
    match response.decision() {
        cedar_policy::Decision::Allow => Expected::Allow,
        cedar_policy::Decision::Deny => Expected::Deny,
    }
}

/// A `@read_only` invariant holds when no tool its scope names has a resource-check action.
fn read_only(schema: &Schema, envs: &[RequestEnv]) -> Verdict {
    if envs.is_empty() {
        return Verdict::Vacuous;
    }
    let resource_actions: BTreeSet<String> = schema
        .actions()
        .filter(|a| !shipped::is_call_action(a))
        .map(|a| a.id().unescaped().to_owned())
        .collect();
    let mutating: BTreeSet<String> = envs
        .iter()
        .filter_map(|env| {
            let id = env.action().id().unescaped();
            let tool = id.split_once(TOOL_SEPARATOR).map_or(id, |(_, t)| t);
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
        .for_env(env)
        .ok()
        .and_then(|p| p.tool)
        .unwrap_or_else(|| unknown_tool(env))
}

fn unknown_tool(env: &RequestEnv) -> String {
    format!("unknown{TOOL_SEPARATOR}{}", env.action().id().unescaped())
}

/// `Guard::Action::"terminate_instance" on Guard::Ec2Instance by AgentCore::OAuthUser`.
pub fn describe(env: &RequestEnv) -> String {
    format!(
        "{} on {} by {}",
        env.action(),
        env.resource(),
        env.principal()
    )
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
