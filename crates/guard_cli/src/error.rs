//! Why a `guard` command could not do its job (exit code 2), as opposed to a result it reports
//! (invalid policies, failed cases: exit code 1).

use guard::{GuardError, LoadError, RenderError};

/// A command that could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The policies did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The guard cannot decide (no gateway, a bad gateway ARN, a link error).
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The gateway set could not be printed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A JSON argument did not parse.
    #[error("{flag} is not valid JSON of the expected shape: {source}")]
    Json {
        /// The flag (`--input`).
        flag: &'static str,
        /// What serde said.
        source: serde_json::Error,
    },
    /// An input file could not be read.
    #[error("cannot read `{file}`: {source}")]
    Read {
        /// The file (`stdin` for standard input).
        file: String,
        /// What the system said.
        source: std::io::Error,
    },
}
