//! `guard prove`: prove the invariants for every request the schema admits, one line each,
//! then `N proved, M failed`; or, with `--equivalent OLD NEW`, whether two policy directories
//! decide every request alike. Both are over what the guard enforces: shadow policies
//! (`@mode("LOG_ONLY")`) are reported apart, with what they would change once they enforce.

use std::{collections::BTreeMap, path::Path, process::ExitCode, time::Instant};

use cedar_policy::RequestEnv;
use guard::{LoadError, PolicySources};

use crate::{
    CliError,
    prove::{
        Comparison, Folding, Outcome, ProveError, Prover, Replayed, Scope, ShadowVerdict, Shipped,
        Verdict, describe, invariant,
    },
};

/// Where the invariants come from.
#[derive(Debug, Clone)]
pub enum InvariantFiles<'a> {
    /// Compiled in from the repository's `policies/invariants/`.
    Embedded,
    /// The `*.cedar` files of a directory.
    Dir(&'a Path),
}

/// Proves every invariant against `sources` linked to `gateway_arn`; fails when any is not
/// proved.
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    invariants: InvariantFiles<'_>,
) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let shipped = Shipped::load(sources, gateway_arn)?;
    let files = match invariants {
        InvariantFiles::Embedded => invariant::embedded(),
        InvariantFiles::Dir(dir) => invariant::from_dir(dir)?,
    };
    let invariants = invariant::parse(&files, &shipped.schema)?;
    let regions = invariants.iter().map(|i| &i.region);
    let folding = Folding::new(&shipped.schema, shipped.policies().chain(regions));
    println!(
        "proving {} (gateway set rendered for `{gateway_arn}`) against {} invariants",
        shipped.origin,
        invariants.len()
    );
    let shadows = shipped.shadows();
    if !shadows.is_empty() {
        println!(
            "not proved over: the shadow policies `{}` (@mode(\"LOG_ONLY\"): the guard never \
             enforces them); each invariant also says what it would be if they did",
            ids(&shadows)
        );
    }
    let outcomes = block_on(async {
        let mut prover = Prover::start().await?;
        let mut outcomes = Vec::new();
        for invariant in &invariants {
            let outcome = prover.prove(&shipped, invariant, &folding).await?;
            print_outcome(&outcome);
            print_shadow(&outcome, &shadows);
            outcomes.push(outcome);
        }
        Ok::<_, ProveError>(outcomes)
    })?;
    let proved = outcomes.iter().filter(|o| o.proved()).count();
    println!("total {} ms", started.elapsed().as_millis());
    println!("{proved} proved, {} failed", outcomes.len() - proved);
    Ok(if proved == outcomes.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Compares the policy directories `old` and `new`, both linked to `gateway_arn`; fails when
/// some request tells them apart.
pub fn run_equivalent(old: &Path, new: &Path, gateway_arn: &str) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let old = Shipped::load(PolicySources::from_dir(old), gateway_arn)?;
    let new = Shipped::load(PolicySources::from_dir(new), gateway_arn)?;
    let folding = Folding::new(&new.schema, old.policies().chain(new.policies()));
    let (old_shadows, new_shadows) = (old.shadows(), new.shadows());
    let shadowed = !(old_shadows.is_empty() && new_shadows.is_empty());
    let (enforced, with_shadows) = block_on(async {
        let mut prover = Prover::start().await?;
        let enforced = prover
            .compare(&old, &new, Scope::Enforced, &folding)
            .await?;
        let with_shadows = if shadowed {
            Some(
                prover
                    .compare(&old, &new, Scope::WithShadows, &folding)
                    .await?,
            )
        } else {
            None
        };
        Ok((enforced, with_shadows))
    })?;
    let elapsed = started.elapsed().as_millis();
    let code = print_comparison(&old, &new, enforced, elapsed);
    if let Some(with_shadows) = with_shadows {
        print_shadow_comparison(&old_shadows, &new_shadows, &with_shadows);
    }
    Ok(code)
}

/// The enforced sets compared: the verdict, and the request that tells them apart.
fn print_comparison(old: &Shipped, new: &Shipped, comparison: Comparison, ms: u128) -> ExitCode {
    match comparison {
        Comparison::Equivalent(envs) => {
            println!(
                "EQUIVALENT {} and {}: {} ({ms} ms)",
                old.origin,
                new.origin,
                environments(&envs)
            );
            ExitCode::SUCCESS
        }
        Comparison::Different {
            env,
            old: a,
            new: b,
        } => {
            println!(
                "DIFFERENT {} and {}: in {} ({ms} ms)",
                old.origin,
                new.origin,
                describe(&env)
            );
            match (*a, *b) {
                (Ok(a), Ok(b)) => {
                    println!("  OLD guard: {} ({})", a.got, a.detail);
                    println!("  NEW guard: {} ({})", b.got, b.detail);
                    println!("  the request, as a case expecting NEW's decision:");
                    print_case(&b);
                }
                (Err(e), _) | (_, Err(e)) => println!("  (cannot replay the request: {e})"),
            }
            ExitCode::FAILURE
        }
        Comparison::Schemas { only_old, only_new } => {
            println!(
                "DIFFERENT {} and {}: the schemas differ",
                old.origin, new.origin
            );
            for env in only_old {
                println!("  only in OLD: {}", describe(&env));
            }
            for env in only_new {
                println!("  only in NEW: {}", describe(&env));
            }
            ExitCode::FAILURE
        }
    }
}

/// Which shadow policies each side has, whether they differ, and whether the two sets would
/// still compare the same once their shadow policies enforce.
fn print_shadow_comparison(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    with_shadows: &Comparison,
) {
    let listed = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            "none".to_owned()
        } else {
            format!("`{}`", ids(m))
        }
    };
    let same = if old == new {
        "the same"
    } else {
        "they differ"
    };
    println!(
        "SHADOW policies (@mode(\"LOG_ONLY\"), not enforced, not compared above): OLD {}; NEW {}: \
         {same}",
        listed(old),
        listed(new)
    );
    let verdict = match with_shadows {
        Comparison::Equivalent(_) => "EQUIVALENT".to_owned(),
        Comparison::Different { env, .. } => format!("DIFFERENT, in {}", describe(env)),
        Comparison::Schemas { .. } => "DIFFERENT (the schemas differ)".to_owned(),
    };
    println!("SHADOW with the shadow policies enforcing: {verdict}");
}

/// The ids of a set of policies, `a`, `b`.
fn ids(policies: &BTreeMap<String, String>) -> String {
    policies.keys().cloned().collect::<Vec<_>>().join("`, `")
}

/// What the invariant would be with the shadow policies enforcing. Not indented: the lines
/// under a FAILED verdict are its case, ready to paste.
fn print_shadow(outcome: &Outcome, shadows: &BTreeMap<String, String>) {
    let Some(shadow) = &outcome.shadow else {
        return;
    };
    let verdict = match shadow {
        ShadowVerdict::Unaffected => "unchanged (no shadow policy applies to it)".to_owned(),
        ShadowVerdict::Decided(Verdict::Proved(_)) => "PROVED".to_owned(),
        ShadowVerdict::Decided(Verdict::Failed { env, .. }) => {
            format!(
                "FAILED, the policies would allow a request it forbids, in {}",
                describe(env)
            )
        }
        ShadowVerdict::Decided(Verdict::Vacuous { .. }) => "VACUOUS".to_owned(),
        ShadowVerdict::Decided(Verdict::NotReadOnly(_)) => "FAILED".to_owned(),
    };
    println!(
        "SHADOW {}: with the shadow policies `{}` enforcing: {verdict}",
        outcome.id,
        ids(shadows)
    );
}

fn print_outcome(outcome: &Outcome) {
    let ms = outcome.elapsed.as_millis();
    match &outcome.verdict {
        Verdict::Proved(envs) => {
            println!("PROVED {}: {} ({ms} ms)", outcome.id, environments(envs));
        }
        Verdict::Failed { env, replayed } => match replayed.as_ref() {
            Ok(replayed) => {
                let guard = if replayed.confirmed() {
                    format!("the guard confirms {}", replayed.got)
                } else {
                    format!(
                        "but the guard decides {} ({}): the proof and the guard disagree",
                        replayed.got, replayed.detail
                    )
                };
                println!(
                    "FAILED {}: the policies allow a request it forbids, in {}; {guard} \
                     ({ms} ms); as a case:",
                    outcome.id,
                    describe(env)
                );
                print_case(replayed);
            }
            Err(e) => println!(
                "FAILED {}: the policies allow a request it forbids, in {} ({ms} ms); it \
                 could not be replayed: {e}",
                outcome.id,
                describe(env)
            ),
        },
        Verdict::Vacuous { unbuildable: false } => println!(
            "VACUOUS {}: error: no request the schema admits lies in its region, so even a \
             permit-everything policy set satisfies it; it proves nothing ({ms} ms)",
            outcome.id
        ),
        Verdict::Vacuous { unbuildable: true } => println!(
            "VACUOUS {}: error: its region needs a resource the guard never builds — a tag key \
             or a name folding never produces (`guard validate` says which) — so no real \
             request lies in it and even a permit-everything policy set satisfies it; it \
             proves nothing ({ms} ms)",
            outcome.id
        ),
        Verdict::NotReadOnly(tools) => println!(
            "FAILED {}: declared read-only, but the schema declares a resource-check action \
             for `{}`",
            outcome.id,
            tools.join("`, `")
        ),
    }
}

fn print_case(replayed: &Replayed) {
    for line in replayed.case_json().lines() {
        println!("  {line}");
    }
}

/// `2 environments: Guard::Action::"clean_logs" on Guard::LogGroup by OAuthUser|IamEntity`.
fn environments(envs: &[RequestEnv]) -> String {
    let mut by_action: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for env in envs {
        by_action
            .entry(format!("{} on {}", env.action(), env.resource()))
            .or_default()
            .push(env.principal().basename().to_owned());
    }
    let groups: Vec<String> = by_action
        .into_iter()
        .map(|(scope, mut principals)| {
            principals.sort();
            format!("{scope} by {}", principals.join("|"))
        })
        .collect();
    format!("{} environments: {}", envs.len(), groups.join(", "))
}

/// Runs `future` on a single-threaded runtime: the solver is one process, spoken to in turn.
fn block_on<T>(future: impl Future<Output = Result<T, ProveError>>) -> Result<T, ProveError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}
