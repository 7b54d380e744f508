//! `guard validate`: everything in the policies directory, or nothing passes.
//!
//! Parses, links and validates the policies (each problem with its file and line); loads the
//! budgets (`budgets.json`) as a function does, and checks they name declared tools; parses the
//! invariants (`invariants/`) against the schema as `guard prove` does, without a solver. Then
//! warns about what validates and still never works: literals folding makes dead, a gateway
//! policy pinned to another gateway, and files nothing reads (a policy saved at the top level,
//! in a subfolder or with the wrong extension).

mod files;
mod gateway;

pub use gateway::declared_tools;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use budget::Budgets;
use guard::{AGENTCORE_SCHEMA, Guard, LoadError, Mode, NoAudit, PolicySets, PolicySources};

use super::config;

use crate::prove::{ProveError, folding::warnings::warnings, invariant};

/// Where `guard validate` looks, besides the policies themselves.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The policies directory on disk, whose every file is checked for being read: `--policies
    /// DIR`, or the repository's `policies/` the embedded policies were compiled from (when it
    /// is still there).
    pub root: Option<PathBuf>,
    /// The invariants.
    pub invariants: InvariantSource,
    /// `--policies DIR` (budgets from `DIR/budgets.json`), or the compiled-in files.
    pub from_dir: bool,
}

/// Where the invariants come from.
#[derive(Debug, Clone)]
pub enum InvariantSource {
    /// Compiled in from the repository's `policies/invariants/`.
    Embedded,
    /// `DIR/invariants`.
    Dir(PathBuf),
}

impl Directory {
    /// `--policies DIR`, or the compiled-in policies (`None`).
    pub fn new(policies: Option<&Path>) -> Self {
        match policies {
            Some(dir) => Self {
                root: Some(dir.to_path_buf()),
                invariants: InvariantSource::Dir(dir.join("invariants")),
                from_dir: true,
            },
            None => {
                let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
                Self {
                    root: shipped.is_dir().then_some(shipped),
                    invariants: InvariantSource::Embedded,
                    from_dir: false,
                }
            }
        }
    }
}

/// What validation found: problems fail it, warnings do not.
#[derive(Debug, Default)]
struct Findings {
    problems: Vec<String>,
    notes: Vec<String>,
    warnings: Vec<String>,
}

/// Prints every problem, or what was validated, then every warning; fails when anything is
/// wrong (a warning is not).
pub fn run(
    sources: Result<PolicySources, LoadError>,
    gateway_arn: &str,
    dir: &Directory,
) -> ExitCode {
    let mut found = Findings::default();
    let loaded = sources.and_then(|s| PolicySets::load(&s).map(|sets| (s, sets)));
    match &loaded {
        Err(e) => {
            let files = policy_files(dir);
            let tools = gateway::declared_tools(&files);
            found.problems.extend(
                e.problems
                    .iter()
                    .map(|p| gateway::with_declared_tools(p, &tools)),
            );
        }
        Ok((sources, sets)) => {
            let guard = Guard::new(
                sources,
                &config(gateway_arn, Mode::Enforce),
                Arc::new(NoAudit),
            );
            if let Err(e) = guard.health() {
                found.problems.push(e.to_string());
            }
            found.notes.push(format!(
                "valid: {} ({} gateway policies linked to `{gateway_arn}`, validated against {} \
                 alone; {} resource policies, validated against the whole schema)",
                sources.origin,
                sets.gateway_len(),
                AGENTCORE_SCHEMA,
                sets.resource_len()
            ));
            check_budgets(dir, sets, &mut found);
            let invariant_files = check_invariants(dir, sets, &mut found);
            found.warnings.extend(
                folding_warnings(sources, &invariant_files)
                    .iter()
                    .map(ToString::to_string),
            );
            found
                .warnings
                .extend(gateway::pinned_elsewhere(sources.files(), gateway_arn));
        }
    }
    if let Some(root) = &dir.root {
        found
            .warnings
            .extend(files::ignored(root).iter().map(ToString::to_string));
    }
    report(&found)
}

fn report(found: &Findings) -> ExitCode {
    if found.problems.is_empty() {
        for line in found.notes.iter().chain(&found.warnings) {
            println!("{line}");
        }
        return ExitCode::SUCCESS;
    }
    for line in found.problems.iter().chain(&found.warnings) {
        println!("{line}");
    }
    println!(
        "{} problem(s): the policies are invalid",
        found.problems.len()
    );
    ExitCode::FAILURE
}

/// The policy files as they are on disk, for naming the declared tools when loading failed.
fn policy_files(dir: &Directory) -> Vec<guard::PolicyFile> {
    let sources = match (&dir.root, dir.from_dir) {
        (Some(root), true) => PolicySources::from_dir(root).ok(),
        _ => Some(PolicySources::embedded()),
    };
    sources.map(|s| s.files().to_vec()).unwrap_or_default()
}

/// Loads the budgets the way a function does — the file beside the policies, or the
/// compiled-in one — and checks each names a tool the schema declares.
fn check_budgets(dir: &Directory, sets: &PolicySets, found: &mut Findings) {
    let budgets = match (&dir.root, dir.from_dir) {
        (Some(root), true) => Budgets::from_dir(root),
        _ => Budgets::embedded(),
    };
    let checked = budgets.and_then(|b| b.check_tools(|t| sets.declares_tool(t)).map(|()| b));
    match checked {
        Ok(budgets) => found.notes.push(format!(
            "valid: {} ({} budgets, each for a tool the schema declares)",
            budgets.origin(),
            budgets.iter().count()
        )),
        Err(e) => found.problems.push(format!(
            "{e} (a broken budget file refuses every mutating call)"
        )),
    }
}

/// Parses the invariants against the schema, as `guard prove` does before it starts a solver.
/// Returns their files, for the folding warnings.
fn check_invariants(
    dir: &Directory,
    sets: &PolicySets,
    found: &mut Findings,
) -> Vec<(String, String)> {
    let files = match &dir.invariants {
        InvariantSource::Embedded => Ok(invariant::embedded()),
        InvariantSource::Dir(path) if !path.is_dir() => {
            found.warnings.push(format!(
                "{}: warning: no invariants: `guard prove` has nothing to prove",
                path.display()
            ));
            return Vec::new();
        }
        InvariantSource::Dir(path) => invariant::from_dir(path),
    };
    let parsed = files.and_then(|files| {
        invariant::parse(&files, sets.schema())?;
        Ok(files)
    });
    match parsed {
        Ok(files) => {
            found.notes.push(format!(
                "valid: {} invariant file(s), validated against the schema (`guard prove` \
                 proves them)",
                files.len()
            ));
            files
        }
        Err(ProveError::Invariants(problems)) => {
            found.problems.extend(problems);
            Vec::new()
        }
        Err(e) => {
            found.problems.push(e.to_string());
            Vec::new()
        }
    }
}

/// The folding warnings for the resource policies and the invariants (the gateway policies
/// see no real resource, so nothing of theirs is folded).
fn folding_warnings(
    sources: &PolicySources,
    invariants: &[(String, String)],
) -> Vec<crate::prove::folding::warnings::Warning> {
    let resource = sources
        .files()
        .iter()
        .filter(|f| f.name.starts_with("resource/"))
        .map(|f| (f.name.as_str(), f.text.as_str()));
    let invariants = invariants.iter().map(|(n, t)| (n.as_str(), t.as_str()));
    warnings(resource.chain(invariants))
}
