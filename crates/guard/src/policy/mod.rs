//! The policy sets: where they come from, and loading them (parse, name, link, validate).
//!
//! Two sets, two questions (DESIGN.md §4):
//! - the **gateway set** (`policies/gateway/`): "may this tool be called with these arguments?",
//!   written against the AgentCore schema alone so it uploads to an AgentCore Policy Engine as
//!   is. Its policies are templates with `resource == ?resource`, linked here to the configured
//!   gateway ARN, so the files name no gateway;
//! - the **resource set** (`policies/resource/`): "may this tool touch this real resource?".
//!
//! Every policy carries an `@id("…")`; that id is what decisions, audit records and `guard test`
//! report. Anything wrong in the files is a [`LoadError`] that lists every problem with its file
//! and line; a guard holding one refuses every call.

mod annotation;
mod error;
mod load;
mod parse;
mod problem;
mod schema;

use std::{fs, path::Path};

pub(crate) use annotation::policy_is_shadow;
pub use annotation::{EnforcementMode, SHADOW_MODE};
pub use error::{LinkError, LoadError};
pub use load::PolicySets;
pub(crate) use load::Slices;
pub use problem::{PolicyFile, Problem};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_policies.rs"));
}

/// The schema file that mirrors what AgentCore Policy generates; the gateway set must validate
/// against it alone.
pub const AGENTCORE_SCHEMA: &str = "schema/agentcore.cedarschema";

/// The three kinds of file under a policies directory.
pub(crate) const GATEWAY_DIR: &str = "gateway";
pub(crate) const RESOURCE_DIR: &str = "resource";
pub(crate) const SCHEMA_DIR: &str = "schema";

/// The policy and schema files a guard is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySources {
    /// Where the files came from, for messages (`embedded policies/` or a directory).
    pub origin: String,
    /// The directory the files were read from, when they were ([`PolicySources::from_dir`]):
    /// a real path, for what lives beside the policies (`budgets.json`).
    dir: Option<std::path::PathBuf>,
    pub(crate) files: Vec<PolicyFile>,
    /// For the embedded policies only: what build.rs made of them after validating them.
    /// Files from anywhere else are validated when loaded.
    pub(crate) prevalidated: Option<Prevalidated>,
}

/// The embedded files as build.rs left them, validated against the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prevalidated {
    /// Each schema file as a JSON schema fragment.
    pub schema_json: &'static [(&'static str, &'static str)],
    /// Each policy file in Cedar's JSON policy form, with each policy's offset in the file;
    /// `None` to parse the policy text (see [`PolicySources::compiled`]).
    pub policy_est: Option<&'static [PolicyEst]>,
}

/// One policy file's name, its JSON form, and each of its policies' offsets by parsed id.
pub(crate) type PolicyEst = (&'static str, &'static str, &'static [(&'static str, usize)]);

impl PolicySources {
    /// The policies compiled into this binary from the repository's `policies/`.
    pub fn embedded() -> Self {
        Self::built(None)
    }

    /// The embedded policies in the form a deployed function loads fastest: the policies from
    /// Cedar's JSON form, so Cedar's policy parser is never built. A guard built from these
    /// decides exactly as one built from [`PolicySources::embedded`]; its policies print in
    /// Cedar's canonical layout rather than as written, which is why the `guard` CLI (which
    /// renders and explains policies) uses `embedded`.
    pub fn compiled() -> Self {
        Self::built(Some(embedded::POLICY_EST))
    }

    /// The embedded files, with build.rs's schema JSON and, when given, its policy JSON.
    fn built(policy_est: Option<&'static [PolicyEst]>) -> Self {
        Self {
            origin: "embedded policies/".to_owned(),
            dir: None,
            files: embedded::EMBEDDED
                .iter()
                .map(|(name, text)| PolicyFile {
                    name: (*name).to_owned(),
                    text: (*text).to_owned(),
                })
                .collect(),
            prevalidated: Some(Prevalidated {
                schema_json: embedded::SCHEMA_JSON,
                policy_est,
            }),
        }
    }

    /// Reads `gateway/*.cedar`, `resource/*.cedar` and `schema/*.cedarschema` under `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for (sub, ext) in [
            (GATEWAY_DIR, "cedar"),
            (RESOURCE_DIR, "cedar"),
            (SCHEMA_DIR, "cedarschema"),
        ] {
            let path = dir.join(sub);
            let entries = match fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) => {
                    problems.push(Problem::file(
                        path.display().to_string(),
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            };
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect();
            paths.sort();
            for p in paths {
                let name = format!(
                    "{sub}/{}",
                    p.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                );
                match fs::read_to_string(&p) {
                    Ok(text) => files.push(PolicyFile { name, text }),
                    Err(e) => problems.push(Problem::file(name, format!("cannot read: {e}"))),
                }
            }
        }
        if problems.is_empty() {
            Ok(Self {
                origin: dir.display().to_string(),
                dir: Some(dir.to_path_buf()),
                files,
                prevalidated: None,
            })
        } else {
            Err(LoadError { problems })
        }
    }

    /// Builds sources from files given in memory (tests, tools that generate policies).
    pub fn from_files(origin: impl Into<String>, files: Vec<PolicyFile>) -> Self {
        Self {
            origin: origin.into(),
            dir: None,
            files,
            prevalidated: None,
        }
    }

    /// The directory the policies were read from, if they were.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Whether these are the policies compiled into this binary.
    pub fn is_embedded(&self) -> bool {
        self.prevalidated.is_some()
    }

    /// All files, in a stable order.
    pub fn files(&self) -> &[PolicyFile] {
        &self.files
    }

    pub(crate) fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a PolicyFile> + 'a {
        self.files.iter().filter(move |f| {
            f.name
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}
