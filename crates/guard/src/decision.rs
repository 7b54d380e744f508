//! Decisions: what the policies said, what happens to the call, and how to say it.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::error::GuardError;

/// Whether denials are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Denials stop the call (the default).
    #[default]
    Enforce,
    /// Policy denials are recorded as would-deny and the call goes on. Errors still stop it:
    /// LOG_ONLY trials policies, it never runs a tool unguarded.
    LogOnly,
}

impl Mode {
    /// The configuration spelling, `ENFORCE` or `LOG_ONLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "ENFORCE",
            Self::LogOnly => "LOG_ONLY",
        }
    }

    /// Reads `GUARD_MODE`: unset is ENFORCE; an unknown value is ENFORCE and a warning.
    pub fn from_setting(value: Option<&str>) -> (Self, Option<String>) {
        match value.map(str::trim) {
            None | Some("") => (Self::Enforce, None),
            Some(v) => match v.parse() {
                Ok(mode) => (mode, None),
                Err(e) => (Self::Enforce, Some(format!("{e}; using ENFORCE"))),
            },
        }
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ENFORCE" => Ok(Self::Enforce),
            "LOG_ONLY" => Ok(Self::LogOnly),
            other => Err(format!(
                "unknown guard mode `{other}` (expected ENFORCE or LOG_ONLY)"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// Which of the two questions was asked (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// "May this tool be called with these arguments?" (gateway parity).
    Call,
    /// "May this tool touch this real resource?"
    Resource,
}

impl Check {
    /// `call` or `resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Resource => "resource",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the decision is what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A permit applied and no forbid did.
    Permitted,
    /// No permit applied: denied by default.
    NoPolicyPermits,
    /// A forbid applied.
    Forbidden,
    /// No decision could be reached: denied, as an error, not as a policy decision.
    Error(GuardError),
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Which check.
    pub check: Check,
    /// The tool name as given (`<target>___<tool>`).
    pub tool: String,
    /// The real resource's id, for the resource check.
    pub resource: Option<String>,
    /// Why.
    pub reason: Reason,
    /// The determining policies' ids: the permits that allowed, or the forbids that denied.
    pub policies: Vec<String>,
    /// The mode the decision was taken in.
    pub mode: Mode,
}

impl Decision {
    /// The policies permit the request.
    pub fn is_allow(&self) -> bool {
        self.reason == Reason::Permitted
    }

    /// The policies deny it (by default or by a forbid), as opposed to an error.
    pub fn is_policy_deny(&self) -> bool {
        matches!(self.reason, Reason::NoPolicyPermits | Reason::Forbidden)
    }

    /// No decision could be reached.
    pub fn error(&self) -> Option<&GuardError> {
        match &self.reason {
            Reason::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The call may go on: allowed, or a policy deny in LOG_ONLY.
    pub fn proceeds(&self) -> bool {
        self.is_allow() || self.would_deny()
    }

    /// A policy deny that LOG_ONLY let through.
    pub fn would_deny(&self) -> bool {
        self.mode == Mode::LogOnly && self.is_policy_deny()
    }

    /// The decision is carried out as decided (false only for a would-deny).
    pub fn enforced(&self) -> bool {
        !self.would_deny()
    }

    /// `allow`, `deny`, `would_deny` or `error`: the four outcomes the metrics count.
    pub fn outcome(&self) -> &'static str {
        match &self.reason {
            Reason::Permitted => "allow",
            Reason::Error(_) => "error",
            _ if self.would_deny() => "would_deny",
            _ => "deny",
        }
    }

    /// The policy decision itself: `ALLOW` or `DENY` (errors deny).
    pub fn verdict(&self) -> &'static str {
        if self.is_allow() { "ALLOW" } else { "DENY" }
    }

    /// A sentence a person understands: what was decided, about what, by which policy.
    pub fn explain(&self) -> String {
        let subject = match &self.resource {
            Some(resource) => format!("`{}` on `{resource}`", self.tool),
            None => format!("`{}`", self.tool),
        };
        let by = |policies: &[String]| {
            policies
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.reason {
            Reason::Permitted => format!(
                "{} check: {subject} permitted by {}",
                self.check,
                by(&self.policies)
            ),
            Reason::NoPolicyPermits => {
                format!("{} check: no policy permits {subject}", self.check)
            }
            Reason::Forbidden => format!(
                "{} check: {subject} forbidden by {}",
                self.check,
                by(&self.policies)
            ),
            Reason::Error(e) => format!("{} check: error, not a policy decision: {e}", self.check),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(reason: Reason, mode: Mode) -> Decision {
        Decision {
            check: Check::Call,
            tool: "t___x".to_owned(),
            resource: None,
            reason,
            policies: vec![],
            mode,
        }
    }

    #[test]
    fn log_only_lets_policy_denies_through_as_would_deny() {
        let d = decision(Reason::NoPolicyPermits, Mode::LogOnly);
        assert!(d.proceeds() && d.would_deny() && !d.enforced());
        assert_eq!(d.outcome(), "would_deny");
        assert_eq!(d.verdict(), "DENY");
    }

    #[test]
    fn log_only_never_lets_errors_through() {
        let d = decision(Reason::Error(GuardError::NoGatewayArn), Mode::LogOnly);
        assert!(!d.proceeds() && !d.would_deny());
        assert_eq!(d.outcome(), "error");
        assert!(d.explain().contains("error, not a policy decision"));
    }

    #[test]
    fn enforce_blocks_policy_denies() {
        let d = decision(Reason::Forbidden, Mode::Enforce);
        assert!(!d.proceeds() && d.enforced());
        assert_eq!(d.outcome(), "deny");
    }

    #[test]
    fn unknown_mode_falls_back_to_enforce_with_a_warning() {
        assert_eq!(Mode::from_setting(None), (Mode::Enforce, None));
        assert_eq!(Mode::from_setting(Some("LOG_ONLY")).0, Mode::LogOnly);
        let (mode, warning) = Mode::from_setting(Some("log_only"));
        assert_eq!(mode, Mode::Enforce);
        assert!(warning.unwrap().contains("`log_only`"));
    }
}
