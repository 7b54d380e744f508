//! `guard prove`: the shipped policies against the invariants, for every request the schema
//! admits, with Cedar's symbolic compiler (SymCC) and a cvc5 process.
//!
//! An invariant is a `forbid` naming a region of requests (`policies/invariants/`). It is
//! PROVED when, in every request environment (principal type, action, resource type) its scope
//! covers, no request the shipped policies allow lies in the region; FAILED with one request
//! that does, replayed through the real guard; VACUOUS when the region is empty everywhere —
//! even a permit-everything set would satisfy it, so it proves nothing.

mod counterexample;
pub mod folding;
pub mod invariant;
mod prover;
mod shipped;

use std::time::Duration;

use cedar_policy::RequestEnv;
use guard::{GuardError, LoadError, RenderError};

pub use counterexample::Replayed;
pub use folding::Folding;
pub use invariant::Invariant;
pub use prover::Prover;
pub use shipped::{Scope, Shipped};

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
    Vacuous {
        /// The schema admits requests in the region, but none about a resource the guard can
        /// build: the region needs a tag key or a name folding never produces.
        unbuildable: bool,
    },
    /// A `@read_only` invariant: these tools have a resource-check action in the schema.
    NotReadOnly(Vec<String>),
}

/// One invariant's result.
#[derive(Debug)]
pub struct Outcome {
    /// The invariant's `@id`.
    pub id: String,
    /// Its verdict over the policies the guard enforces.
    pub verdict: Verdict,
    /// With the shadow policies enforcing too; `None` when there are none.
    pub shadow: Option<ShadowVerdict>,
    /// Time spent compiling and solving.
    pub elapsed: Duration,
}

/// What an invariant would be once the shadow policies enforce.
#[derive(Debug)]
pub enum ShadowVerdict {
    /// No shadow policy can apply to a request of the invariant's environments: the same.
    Unaffected,
    /// Proved again with them enforcing.
    Decided(Verdict),
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

/// `Guard::Action::"terminate_instance" on Guard::Ec2Instance by AgentCore::OAuthUser`.
pub fn describe(env: &RequestEnv) -> String {
    format!(
        "{} on {} by {}",
        env.action(),
        env.resource(),
        env.principal()
    )
}
