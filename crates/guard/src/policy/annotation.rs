//! What a policy's annotations say: its `@id` names it, and its `@mode` says whether it is
//! enforced or a shadow policy (`@mode("LOG_ONLY")`, see `crate::shadow`).

use cedar_policy::{Policy, PolicySet, Template};
use serde::{Deserialize, Serialize};

use super::error::LinkError;

/// The annotation that names a policy's enforcement mode.
pub(crate) const MODE_ANNOTATION: &str = "mode";

/// The `@mode` value of a shadow policy (AgentCore's `EnforcementMode` spelling).
pub const SHADOW_MODE: &str = "LOG_ONLY";

/// Whether a policy annotated `@mode(value)` (or not annotated) is a shadow policy. Only
/// `LOG_ONLY`, `ACTIVE` and `ENFORCE` are modes: anything else is a load error, so a typo never
/// decides silently whether a policy enforces.
pub(crate) fn is_shadow(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("ACTIVE" | "ENFORCE") => Ok(false),
        Some(SHADOW_MODE) => Ok(true),
        Some(other) => Err(format!(
            "unknown `@{MODE_ANNOTATION}(\"{other}\")` (expected LOG_ONLY, ACTIVE or ENFORCE)"
        )),
    }
}

/// Whether `policy` is a shadow policy (`@mode("LOG_ONLY")`).
pub(crate) fn policy_is_shadow(policy: &Policy) -> bool {
    // INVARIANT: loading refused every other `@mode` value.
    is_shadow(annotation(policy.annotations(), MODE_ANNOTATION)).unwrap_or(false)
}

/// How AgentCore Policy is to apply a policy: its `EnforcementMode`, a parameter of
/// `CreatePolicy` (and of `AWS::BedrockAgentCore::Policy`), not part of the statement. The
/// guard's `@mode("LOG_ONLY")` annotation travels in the statement, but AgentCore does not
/// read it: a shadow policy uploaded without `LOG_ONLY` would enforce at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnforcementMode {
    /// Enforced.
    Active,
    /// Evaluated and logged, never enforced: a shadow policy.
    LogOnly,
}

impl EnforcementMode {
    /// The mode of `policy`: `LOG_ONLY` for a shadow policy (`@mode("LOG_ONLY")`), else
    /// `ACTIVE`. A policy that did not load through the guard and carries an unknown `@mode`
    /// counts as `ACTIVE`, as the guard would never have loaded it.
    pub fn of(policy: &Policy) -> Self {
        if policy_is_shadow(policy) {
            Self::LogOnly
        } else {
            Self::Active
        }
    }

    /// AgentCore's spelling: `ACTIVE` or `LOG_ONLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::LogOnly => SHADOW_MODE,
        }
    }
}

impl std::fmt::Display for EnforcementMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn template_is_shadow(template: &Template) -> bool {
    is_shadow(annotation(template.annotations(), MODE_ANNOTATION)).unwrap_or(false)
}

/// The value of annotation `key`. Cedar's own `annotation(key)` parses `key` as an identifier
/// on every call, which costs more than the rest of loading a policy.
pub(crate) fn annotation<'a>(
    mut annotations: impl Iterator<Item = (&'a str, &'a str)>,
    key: &str,
) -> Option<&'a str> {
    annotations.find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Whether `set` holds any shadow policy or template.
pub(crate) fn any(set: &PolicySet) -> bool {
    set.policies().any(policy_is_shadow) || set.templates().any(template_is_shadow)
}

/// `set` without its shadow policies and templates: what is enforced.
pub(crate) fn enforced(set: &PolicySet) -> Result<PolicySet, LinkError> {
    let mut kept = PolicySet::new();
    for policy in set.policies().filter(|p| !policy_is_shadow(p)) {
        kept.add(policy.clone())?;
    }
    for template in set.templates().filter(|t| !template_is_shadow(t)) {
        kept.add_template(template.clone())?;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shadow_policy_uploads_as_log_only_and_every_other_as_active() {
        let shadow: Policy = r#"@mode("LOG_ONLY") forbid (principal, action, resource);"#
            .parse()
            .unwrap();
        let active: Policy = r#"@mode("ACTIVE") permit (principal, action, resource);"#
            .parse()
            .unwrap();
        let plain: Policy = "permit (principal, action, resource);".parse().unwrap();
        assert_eq!(EnforcementMode::of(&shadow), EnforcementMode::LogOnly);
        assert_eq!(EnforcementMode::of(&active), EnforcementMode::Active);
        assert_eq!(EnforcementMode::of(&plain), EnforcementMode::Active);
        assert_eq!(
            serde_json::to_value([EnforcementMode::LogOnly, EnforcementMode::Active]).unwrap(),
            serde_json::json!(["LOG_ONLY", "ACTIVE"])
        );
    }

    #[test]
    fn only_log_only_active_and_enforce_are_modes() {
        assert_eq!(is_shadow(None), Ok(false));
        assert_eq!(is_shadow(Some("ACTIVE")), Ok(false));
        assert_eq!(is_shadow(Some("ENFORCE")), Ok(false));
        assert_eq!(is_shadow(Some("LOG_ONLY")), Ok(true));
        assert!(
            is_shadow(Some("log_only"))
                .unwrap_err()
                .contains("log_only")
        );
    }
}
