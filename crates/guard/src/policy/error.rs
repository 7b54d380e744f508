//! Why the policies did not load, or did not link to a gateway.

use cedar_policy::{PolicyId, PolicySetError};

use super::problem::Problem;

/// The policies could not be loaded; every problem found, each with its file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policies are invalid ({} problem(s)): {}", .problems.len(), join(.problems))]
pub struct LoadError {
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
}

impl LoadError {
    /// One problem with `file` (or directory) as a whole.
    pub(crate) fn in_file(file: &str, error: impl std::fmt::Display) -> Self {
        Self {
            problems: vec![Problem::file(file, error.to_string())],
        }
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The gateway templates could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Cedar refused a policy, a template or a link.
    #[error(transparent)]
    Cedar(Box<PolicySetError>),
    /// A template was met with no gateway to link it to.
    #[error("template `{0}` needs a gateway to link")]
    NoGateway(PolicyId),
}

impl From<PolicySetError> for LinkError {
    fn from(e: PolicySetError) -> Self {
        Self::Cedar(Box::new(e))
    }
}
