//! The caller's steps of the request path (issue 20): who is calling, that the call is new,
//! and the role session a mutation is made in as that caller.

use caller::{Binding, Verified};
use serde_json::Value;

use super::{
    Access, Tool,
    checks::{Checks, Ended, Step},
    host::{ToolHost, call},
};
use crate::identity::Invocation;

impl<T: Tool> ToolHost<T> {
    /// Who is calling: the caller the interceptor asserted, verified, bound to this call and
    /// used once; unknown when none is asserted and none is required. Any other case is an
    /// audited refusal, in every mode.
    pub(super) async fn caller(
        &self,
        invocation: &Invocation,
        arguments: &Value,
        assertion: Option<&Value>,
    ) -> Step<Option<Verified>> {
        let binding = Binding {
            gateway: self.guard.gateway_arn().unwrap_or_default(),
            tool: &invocation.tool,
            arguments,
            mcp_request: invocation.ids.mcp_message.as_deref(),
        };
        self.callers
            .verify(assertion, &binding)
            .await
            .map_err(|refusal| {
                let mut checks = Checks::new(&self.guard, call(invocation, arguments, None));
                checks.refuse_as_denied(refusal.to_string()).into()
            })
    }

    /// The verified call, accepted once — after the call check, so that a call it denies has
    /// made no AWS call at all. A replay is an audited refusal, in every mode.
    pub(super) async fn first_use(
        &self,
        checks: &mut Checks<'_>,
        invocation: &Invocation,
        verified: Option<&Verified>,
    ) -> Step<()> {
        let Some(verified) = verified else {
            return Ok(());
        };
        self.callers
            .first_use(T::NAME, verified, invocation.ids.mcp_message.as_deref())
            .await
            .map_err(|refusal| Ended::from(checks.refuse_as_denied(refusal.to_string())))
    }

    /// The role session a mutation is made in, as the caller, when mutations go through one
    /// (`CALLER_ROLE_ARN`): the tool as it acts in it, and the session's `SourceIdentity`.
    /// Before the budget, so a refusal here takes no slot. A dry run changes nothing and
    /// needs none.
    pub(super) async fn session(
        &self,
        checks: &mut Checks<'_>,
        tool: &T,
        dry_run: bool,
    ) -> Step<Option<(T, String)>> {
        let (Some(sessions), Access::Mutating, false) = (&self.sessions, T::ACCESS, dry_run) else {
            return Ok(None);
        };
        let session = sessions
            .for_caller(checks.call().principal, T::NAME)
            .await
            .map_err(|e| Ended::from(checks.refuse_as_denied(e.to_string())))?;
        let acting = tool.acting_as(&session.config).ok_or_else(|| {
            Ended::from(checks.refuse_as_denied(format!(
                "`{}` cannot act in a role session, and mutations are made as the caller",
                T::NAME
            )))
        })?;
        Ok(Some((acting, session.source_identity)))
    }
}
