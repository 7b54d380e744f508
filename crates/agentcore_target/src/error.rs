//! Tool errors: what went wrong, in words the agent and a person understand.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

/// What kind of failure, for the agent to decide whether to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The arguments are wrong; nothing was called.
    InvalidInput,
    /// The function is misconfigured; nothing was called.
    Configuration,
    /// The resource does not exist.
    NotFound,
    /// AWS refused the function's role.
    AccessDenied,
    /// AWS throttled the call, after the SDK's retries.
    Throttled,
    /// AWS did not answer in time.
    Timeout,
    /// AWS could not be reached.
    Unavailable,
    /// The resource is not in a state that allows the operation.
    Conflict,
    /// A re-check during the operation denied going on; the message lists what was done
    /// before it.
    Denied,
    /// Any other AWS error.
    Aws,
}

/// Why an operation must stop: the re-check's decision ([`crate::Recheck`]), which did not
/// let it go on (a deny, or a refusal when the resource could not be read again). Audited
/// like every check, and reported as the deciding check of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The re-check's decision.
    pub decision: guard::Decision,
}

impl Stop {
    /// What the re-check said, for a person.
    pub fn reason(&self) -> String {
        self.decision.explain()
    }
}

/// A failed tool call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What failed.
    pub message: String,
    /// Whether the failure certainly changed nothing: nothing was called, or AWS refused every
    /// attempt of the one mutating call before it acted (`Attempts`, beside the SDK helpers). Only then
    /// are the budget slots the call took given back; in doubt they are kept, which can only
    /// make a budget stricter.
    pub changed_nothing: bool,
    /// The re-check that stopped the operation ([`Stop`]): the call's deciding check.
    pub stopped_by: Option<Box<guard::Decision>>,
}

impl ToolError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            changed_nothing: false,
            stopped_by: None,
        }
    }

    /// An operation a re-check stopped; `message` says what was done before.
    pub fn stopped(stop: Stop, message: impl Into<String>) -> Self {
        Self {
            stopped_by: Some(Box::new(stop.decision)),
            ..Self::new(ErrorKind::Denied, message)
        }
    }

    /// Invalid arguments; nothing was called.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message).unchanged()
    }

    /// A configuration problem; nothing was called.
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Configuration, message).unchanged()
    }

    /// The same error, known to have changed nothing.
    #[must_use]
    pub fn unchanged(mut self) -> Self {
        self.changed_nothing = true;
        self
    }

    /// The resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// The error from an AWS call, classified. `action` names the call (`ec2:TerminateInstances`).
    pub fn aws<E, R>(action: &str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        match err {
            SdkError::TimeoutError(_) => {
                Self::new(ErrorKind::Timeout, format!("`{action}` timed out"))
            }
            SdkError::DispatchFailure(f) if f.is_timeout() => {
                Self::new(ErrorKind::Timeout, format!("`{action}` timed out"))
            }
            SdkError::DispatchFailure(f) => Self::new(
                ErrorKind::Unavailable,
                format!(
                    "could not reach AWS for `{action}`: {}",
                    chain(err).unwrap_or_else(|| format!("{f:?}"))
                ),
            ),
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code = e.code().unwrap_or("unknown");
                let message = e.message().unwrap_or("no message");
                let kind = classify(code);
                let what = match kind {
                    ErrorKind::Throttled => " (after the SDK's retries)",
                    _ => "",
                };
                Self::new(kind, format!("`{action}` failed{what}: {code}: {message}"))
            }
            _ => Self::new(
                ErrorKind::Aws,
                format!(
                    "`{action}` failed: {}",
                    chain(err).unwrap_or_else(|| err.to_string())
                ),
            ),
        }
    }
}

/// AWS error codes by kind; codes differ by service (`InvalidInstanceID.NotFound`,
/// `ResourceNotFoundException`, `ServiceNotFoundException`, `ThrottlingException`,
/// `RequestLimitExceeded`, `UnauthorizedOperation`, …).
pub(crate) fn classify(code: &str) -> ErrorKind {
    let has = |needle: &str| code.contains(needle);
    if has("NotFound") || (has("Malformed") && code.starts_with("InvalidInstanceID")) {
        ErrorKind::NotFound
    } else if has("AccessDenied") || has("Unauthorized") || has("AuthFailure") {
        ErrorKind::AccessDenied
    } else if has("Throttl") || has("RequestLimitExceeded") || has("TooManyRequests") {
        ErrorKind::Throttled
    } else if has("InvalidParameter") || has("Validation") || has("Malformed") {
        ErrorKind::InvalidInput
    } else if has("Conflict") || (has("Incorrect") && has("State")) || has("InvalidState") {
        ErrorKind::Conflict
    } else {
        ErrorKind::Aws
    }
}

/// The error's causes, joined (the SDK's top-level messages alone are terse).
fn chain(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    err.source().map(guard::with_causes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_by_kind() {
        for (code, kind) in [
            ("InvalidInstanceID.NotFound", ErrorKind::NotFound),
            ("InvalidInstanceID.Malformed", ErrorKind::NotFound),
            ("ResourceNotFoundException", ErrorKind::NotFound),
            ("ServiceNotFoundException", ErrorKind::NotFound),
            ("AccessDeniedException", ErrorKind::AccessDenied),
            ("UnauthorizedOperation", ErrorKind::AccessDenied),
            ("ThrottlingException", ErrorKind::Throttled),
            ("RequestLimitExceeded", ErrorKind::Throttled),
            ("InvalidParameterException", ErrorKind::InvalidInput),
            ("IncorrectInstanceState", ErrorKind::Conflict),
            ("ClusterContainsServicesException", ErrorKind::Aws),
        ] {
            assert_eq!(classify(code), kind, "{code}");
        }
    }
}
