//! A policy file and what is wrong in it, each problem located at its file and line.
//!
//! Shared with the build script, which checks the shipped policies with the same messages
//! (`build.rs` includes this file by path: a build script cannot use its own crate). So this
//! file names nothing of the crate, and uses only `std` and `miette`, which both have.

use std::fmt;

use miette::Diagnostic;

/// One policy or schema file, named by its path under the policies directory
/// (`gateway/restart_service.cedar`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// Path relative to the policies directory, with `/` separators.
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// One thing wrong with the policy files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the policies directory.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    pub(crate) fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(file: &PolicyFile, offset: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.name.clone(),
            line: offset.map(|o| line_of(&file.text, o)),
            message: message.into(),
        }
    }

    /// Every problem a Cedar diagnostic reports, each at the line of its first label.
    pub(crate) fn from_diagnostic(file: &PolicyFile, diagnostic: &dyn Diagnostic) -> Vec<Self> {
        let one = |d: &dyn Diagnostic| {
            let offset = d
                .labels()
                .and_then(|mut labels| labels.next())
                .map(|l| l.offset());
            let mut message = d.to_string();
            if let Some(help) = d.help() {
                message.push_str(&format!(" (help: {help})"));
            }
            Self::at(file, offset, message)
        };
        let found: Vec<Self> = diagnostic
            .related()
            .map(|related| related.map(one).collect())
            .unwrap_or_default();
        if found.is_empty() {
            vec![one(diagnostic)]
        } else {
            found
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}
