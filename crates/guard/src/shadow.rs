//! Shadow policies: a policy annotated `@mode("LOG_ONLY")` is trialled, not enforced.
//!
//! As AgentCore Policy's per-policy `EnforcementMode: LOG_ONLY`: a shadow policy never changes
//! a decision. Where shadow policies can apply to the action asked about, the guard decides a
//! second time with them enforced beside the others, and the audit record says whether that
//! would have flipped the decision (the `WouldFlip` metric counts it). So a team trials one new
//! policy in production while every other policy keeps enforcing. `guard render` keeps the
//! annotation, so AgentCore gets the policy as `LOG_ONLY` too.
//!
//! Only the two checks that decide a call compare: the call check and the resource check.
//! [`crate::Guard::check_tool`] (any arguments) does not.

use cedar_policy::{Policy, PolicySet, PolicySetError, Template};
use serde::{Deserialize, Serialize};

use crate::{
    decision::{Reason, Verdict},
    evaluate::{Cedar, Evaluated, Evaluation},
    policy::Slices,
};

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

fn policy_is_shadow(policy: &Policy) -> bool {
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
pub(crate) fn enforced(set: &PolicySet) -> Result<PolicySet, PolicySetError> {
    let mut kept = PolicySet::new();
    for policy in set.policies().filter(|p| !policy_is_shadow(p)) {
        kept.add(policy.clone())?;
    }
    for template in set.templates().filter(|t| !template_is_shadow(t)) {
        kept.add_template(template.clone())?;
    }
    Ok(kept)
}

/// Of slices built from every policy, the ones a shadow policy can apply to: the only actions
/// decided twice.
pub(crate) fn shadowed(all: Slices) -> Slices {
    all.into_iter()
        .filter(|(_, set)| set.policies().any(policy_is_shadow))
        .collect()
}

/// What the decision would have been with the shadow policies enforced too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowDecision {
    /// The shadow policies that were evaluated (those that can apply to the action).
    pub policies: Vec<String>,
    /// The decision with them enforced beside the others (errors deny).
    pub decision: Verdict,
    /// Its determining policies.
    pub determining: Vec<String>,
    /// Whether that differs from the decision taken: the shadow policies would flip it.
    pub would_flip: bool,
    /// What went wrong, when the shadowed decision could not be reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Cedar<'_> {
    /// Decides `e` with the `enforced` slices; where the action has a `shadowed` slice, decides
    /// again with it and compares. An error in the enforced decision stands alone: there is no
    /// decision to flip.
    pub(crate) fn evaluate_beside_shadow(
        &self,
        enforced: &Slices,
        shadowed: &Slices,
        e: Evaluation<'_>,
    ) -> (Evaluated, Option<ShadowDecision>) {
        let with_shadow = shadowed.get(&e.action);
        let again = with_shadow.map(|_| Evaluation {
            tool: e.tool,
            principal: e.principal,
            action: e.action.clone(),
            resource: e.resource.clone(),
            resource_entity: e.resource_entity,
            input: e.input,
        });
        let outcome = self.evaluate(enforced, e);
        let (Some(set), Some(again), Ok((reason, _))) = (with_shadow, again, &outcome) else {
            return (outcome, None);
        };
        let taken = verdict(reason);
        let mut policies: Vec<String> = set
            .policies()
            .filter(|p| policy_is_shadow(p))
            .map(|p| p.id().to_string())
            .collect();
        policies.sort();
        let shadow = match self.evaluate(shadowed, again) {
            Ok((reason, determining)) => ShadowDecision {
                policies,
                decision: verdict(&reason),
                determining,
                would_flip: verdict(&reason) != taken,
                errors: Vec::new(),
            },
            Err(error) => ShadowDecision {
                policies,
                decision: Verdict::Deny,
                determining: Vec::new(),
                // Enforced, the shadow policies would make this call an error, which denies.
                would_flip: taken == Verdict::Allow,
                errors: vec![error.to_string()],
            },
        };
        (outcome, Some(shadow))
    }
}

fn verdict(reason: &Reason) -> Verdict {
    match reason {
        Reason::Permitted => Verdict::Allow,
        Reason::NoPolicyPermits | Reason::Forbidden | Reason::OverBudget(_) | Reason::Error(_) => {
            Verdict::Deny
        }
    }
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
