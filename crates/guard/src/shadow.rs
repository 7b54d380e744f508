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

use serde::{Deserialize, Serialize};

use crate::{
    decision::{Reason, Verdict},
    evaluate::{Cedar, Evaluated, Evaluation},
    policy::{Slices, policy_is_shadow},
};

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
            approval: e.approval,
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
        Reason::NoPolicyPermits
        | Reason::Forbidden
        | Reason::OverBudget(_)
        | Reason::Stopped(_)
        | Reason::Error(_) => Verdict::Deny,
    }
}
