//! The gateway set linked to one gateway, and rendered for upload to AgentCore Policy.

use cedar_policy::{EntityUid, Policy, PolicySet};

use crate::{
    entity::uid,
    error::GuardError,
    policy::{EnforcementMode, PolicySets, Slices},
};

/// The gateway set, linked to the configured gateway.
#[derive(Debug)]
pub(crate) struct LinkedGateway {
    pub arn: String,
    pub uid: EntityUid,
    /// `uid`, printed once for the audit records.
    pub uid_text: String,
    pub set: PolicySet,
    /// The enforced policies by action.
    pub slices: Slices,
    /// The slices that hold shadow policies (`crate::shadow`), with every other policy of the
    /// slice; empty when there are none.
    pub shadow: Slices,
}

impl LinkedGateway {
    /// Links the gateway templates of `sets` to the gateway `arn`.
    pub fn link(sets: &PolicySets, arn: &str) -> Result<Self, GuardError> {
        if !is_gateway_arn(arn) {
            return Err(GuardError::InvalidGatewayArn(arn.to_owned()));
        }
        let uid = uid("AgentCore::Gateway", arn)?;
        let link_error = |e: crate::policy::LinkError| GuardError::Link {
            arn: arn.to_owned(),
            message: e.to_string(),
        };
        let set = sets.link_gateway(&uid).map_err(link_error)?;
        let slices = sets.gateway_slices(&uid).map_err(link_error)?;
        let shadow = sets.gateway_shadow_slices(&uid).map_err(link_error)?;
        Ok(Self {
            arn: arn.to_owned(),
            uid_text: uid.to_string(),
            uid,
            set,
            slices,
            shadow,
        })
    }
}

/// `arn:<partition>:bedrock-agentcore:<region>:<account>:gateway/<id>`.
fn is_gateway_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "bedrock-agentcore", region, account, resource]
            if !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("gateway/").is_some_and(|id| {
                    !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
    )
}

/// A linked policy Cedar could not print as policy text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot render policy `{policy}` as Cedar text: {message}")]
pub struct RenderError {
    /// The policy id.
    pub policy: String,
    /// Cedar's message.
    pub message: String,
}

/// One gateway policy as AgentCore Policy takes it: a static statement naming the gateway, and
/// the `EnforcementMode` to create it with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedPolicy {
    /// The policy's `@id`.
    pub id: String,
    /// `LOG_ONLY` for a shadow policy, else `ACTIVE`: a `CreatePolicy` parameter, which the
    /// statement's `@mode` annotation does not set.
    pub enforcement_mode: EnforcementMode,
    /// The Cedar statement, linked to the gateway, annotations kept.
    pub statement: String,
}

/// The gateway set as static policies, sorted by id, each with the `EnforcementMode` to
/// upload it with.
pub fn render_statements(linked: &PolicySet) -> Result<Vec<RenderedPolicy>, RenderError> {
    let mut policies: Vec<&Policy> = linked.policies().collect();
    policies.sort_by_key(|p| p.id().to_string());
    policies
        .into_iter()
        .map(|policy| {
            let error = |message: String| RenderError {
                policy: policy.id().to_string(),
                message,
            };
            let text = match policy.to_cedar() {
                Some(text) => text,
                // A linked template has no text of its own: print it through its JSON form.
                None => {
                    let json = policy.to_json().map_err(|e| error(e.to_string()))?;
                    Policy::from_json(Some(policy.id().clone()), json)
                        .map_err(|e| error(e.to_string()))?
                        .to_cedar()
                        .ok_or_else(|| error("Cedar printed nothing".to_owned()))?
                }
            };
            Ok(RenderedPolicy {
                id: policy.id().to_string(),
                enforcement_mode: EnforcementMode::of(policy),
                statement: text.trim().to_owned(),
            })
        })
        .collect()
}

/// The gateway set as static policies, one statement per policy, sorted by id, for upload to
/// an AgentCore Policy Engine (which takes static policies naming its gateway). A shadow
/// policy keeps its `@mode("LOG_ONLY")` here, but AgentCore needs it said as the policy's
/// `EnforcementMode` ([`render_statements`]).
pub fn render_static(linked: &PolicySet) -> Result<String, RenderError> {
    let mut out = String::new();
    for rendered in render_statements(linked)? {
        out.push_str(&rendered.statement);
        out.push_str("\n\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_arns_are_checked_for_shape() {
        assert!(is_gateway_arn(
            "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789"
        ));
        for bad in [
            "",
            "gw-xyz789",
            "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/",
            "arn:aws:lambda:us-west-2:123456789012:function/x",
            "arn:aws:bedrock-agentcore:us-west-2:1234:gateway/gw",
            "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw\"x",
        ] {
            assert!(!is_gateway_arn(bad), "{bad}");
        }
    }
}
