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

    /// The mode a setting names exactly (`ENFORCE` or `LOG_ONLY`), if any.
    pub fn from_setting(value: &str) -> Option<Self> {
        match value {
            "ENFORCE" => Some(Self::Enforce),
            "LOG_ONLY" => Some(Self::LogOnly),
            _ => None,
        }
    }
}

/// A mode name that is neither `ENFORCE` nor `LOG_ONLY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown guard mode `{0}` (expected ENFORCE or LOG_ONLY)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_setting(s).ok_or_else(|| UnknownMode(s.to_owned()))
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// "May this tool be called with these arguments?" (gateway parity).
    Call,
    /// "May this tool touch this real resource?"
    Resource,
    /// "Is there room in the tool's budgets over time?" Counted outside the guard (the budget
    /// table); recorded through it so it is audited and counted like the other two.
    Budget,
    /// "Are the tools stopped?" The operators' stop switch (`guard stop`), read outside the
    /// guard; recorded through it when it stops a call.
    Stop,
}

impl Check {
    /// `call` or `resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Resource => "resource",
            Self::Budget => "budget",
            Self::Stop => "stop",
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
    /// A budget over time has no slot left (which budget, when a slot frees up): a deny the
    /// mode treats like a policy deny.
    OverBudget(String),
    /// An operator stopped the tools (`guard stop`; who, when and why): enforced in every
    /// mode, since a stop is a person's order, not a policy on trial.
    Stopped(String),
    /// No decision could be reached: denied, as an error, not as a policy decision.
    Error(GuardError),
}

/// What a check means for the call: the four outcomes audit records, metrics, tool results
/// and the authorizer report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The policies permit it.
    Allow,
    /// The policies deny it and the denial is enforced.
    Deny,
    /// The policies deny it, and LOG_ONLY lets the call go on.
    WouldDeny,
    /// No decision could be reached: denied, as an error, never as a policy decision.
    Error,
}

impl Outcome {
    /// `allow`, `deny`, `would_deny` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::WouldDeny => "would_deny",
            Self::Error => "error",
        }
    }

    /// The call may go on: allowed, or a policy deny that LOG_ONLY let through.
    pub fn proceeds(self) -> bool {
        matches!(self, Self::Allow | Self::WouldDeny)
    }

    /// The policy decision itself, as Cedar says it (errors deny).
    pub fn verdict(self) -> Verdict {
        match self {
            Self::Allow => Verdict::Allow,
            Self::Deny | Self::WouldDeny | Self::Error => Verdict::Deny,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cedar's answer, `ALLOW` or `DENY`, whatever the mode did with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Permitted.
    Allow,
    /// Denied, by the policies or by an error.
    Deny,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Allow => "ALLOW",
            Self::Deny => "DENY",
        })
    }
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

    /// No decision could be reached.
    pub fn error(&self) -> Option<&GuardError> {
        match &self.reason {
            Reason::Error(e) => Some(e),
            _ => None,
        }
    }

    /// The call may go on: allowed, or a policy deny in LOG_ONLY.
    pub fn proceeds(&self) -> bool {
        self.outcome().proceeds()
    }

    /// A policy deny that LOG_ONLY let through.
    pub fn would_deny(&self) -> bool {
        self.outcome() == Outcome::WouldDeny
    }

    /// The decision is carried out as decided (false only for a would-deny).
    pub fn enforced(&self) -> bool {
        !self.would_deny()
    }

    /// Allow, deny, would-deny or error: the four outcomes the metrics count.
    pub fn outcome(&self) -> Outcome {
        match &self.reason {
            Reason::Permitted => Outcome::Allow,
            Reason::Error(_) => Outcome::Error,
            Reason::Stopped(_) => Outcome::Deny,
            _ if self.mode == Mode::LogOnly => Outcome::WouldDeny,
            _ => Outcome::Deny,
        }
    }

    /// The policy decision itself: `ALLOW` or `DENY` (errors deny).
    pub fn verdict(&self) -> Verdict {
        self.outcome().verdict()
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
            Reason::OverBudget(why) => {
                format!("{} check: {subject} is over budget: {why}", self.check)
            }
            Reason::Stopped(why) => format!("{} check: {subject} refused: {why}", self.check),
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
        assert_eq!(d.outcome(), Outcome::WouldDeny);
        assert_eq!(d.verdict(), Verdict::Deny);
    }

    #[test]
    fn log_only_never_lets_errors_through() {
        let d = decision(Reason::Error(GuardError::NoGatewayArn), Mode::LogOnly);
        assert!(!d.proceeds() && !d.would_deny());
        assert_eq!(d.outcome(), Outcome::Error);
        assert!(d.explain().contains("error, not a policy decision"));
    }

    #[test]
    fn over_budget_is_a_deny_that_log_only_lets_through() {
        let why = "budget `b` is used up".to_owned();
        let mut d = decision(Reason::OverBudget(why.clone()), Mode::Enforce);
        d.check = Check::Budget;
        assert_eq!(d.outcome(), Outcome::Deny);
        assert_eq!(
            d.explain(),
            "budget check: `t___x` is over budget: budget `b` is used up"
        );
        let d = decision(Reason::OverBudget(why), Mode::LogOnly);
        assert_eq!(d.outcome(), Outcome::WouldDeny);
    }

    #[test]
    fn a_stop_is_enforced_even_in_log_only() {
        let mut d = decision(
            Reason::Stopped("stopped by `ops`".to_owned()),
            Mode::LogOnly,
        );
        d.check = Check::Stop;
        assert!(!d.proceeds() && d.enforced());
        assert_eq!(d.outcome(), Outcome::Deny);
        assert_eq!(d.explain(), "stop check: `t___x` refused: stopped by `ops`");
    }

    #[test]
    fn enforce_blocks_policy_denies() {
        let d = decision(Reason::Forbidden, Mode::Enforce);
        assert!(!d.proceeds() && d.enforced());
        assert_eq!(d.outcome(), Outcome::Deny);
    }
}
