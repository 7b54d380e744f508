//! Mutations under the caller's name (issue 20): the tool assumes a role whose session carries
//! the verified caller as its `SourceIdentity` and session tags, and makes its mutating calls
//! with those credentials — so CloudTrail attributes each termination, restart and deletion to
//! the person or agent it was made for, and an organisation can write SCPs on it. The tag
//! conditions live on that role: the tool's own role can do nothing destructive by itself.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use aws_config::SdkConfig;
use aws_sdk_sts::{
    config::{Credentials, SharedCredentialsProvider},
    types::Tag,
};
use caller::arguments_digest;
use guard::Principal;

/// `CALLER_ROLE_ARN`: the role mutations are made in, as the caller.
pub const CALLER_ROLE_VAR: &str = "CALLER_ROLE_ARN";

/// `GUARD_APPROVED_ROLE_ARN`: the role a call a person approved is made in (the template's
/// RestartServiceApprovedRole, the one role IAM lets restart production). Assumed only after
/// the approval was used, once per approval, so no other code path holds its credentials.
pub const APPROVED_ROLE_VAR: &str = "GUARD_APPROVED_ROLE_ARN";

/// How long a session lasts (STS's minimum), and how long before its end it is renewed.
const SESSION: Duration = Duration::from_secs(900);
const RENEW_BEFORE: Duration = Duration::from_secs(120);

/// Why a session could not be had: the call is refused, audited, before any slot is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Mutations go through the role, and the call has no verified caller to name.
    #[error(
        "mutations are made as the caller ({CALLER_ROLE_VAR}), and this call has no verified \
         caller: refused"
    )]
    NoCaller,
    /// STS refused or could not be reached.
    #[error("the role session for the caller could not be had: {0}")]
    AssumeRole(String),
}

/// The session a mutation is made in.
#[derive(Debug, Clone)]
pub struct Session {
    /// The SDK configuration with the session's credentials.
    pub config: SdkConfig,
    /// The `SourceIdentity` the session carries.
    pub source_identity: String,
}

/// Role sessions, one per caller, kept within their lifetime.
pub struct Sessions {
    role_arn: String,
    sts: aws_sdk_sts::Client,
    base: SdkConfig,
    cache: Mutex<HashMap<String, (Session, Instant)>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions of `role_arn`, assumed with the function's own credentials from `sdk`.
    pub fn new(role_arn: String, sdk: &SdkConfig) -> Self {
        Self {
            role_arn,
            sts: aws_sdk_sts::Client::new(sdk),
            base: sdk.clone(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The session `tool` makes mutations in for `caller`: a cached one while it has more
    /// than two minutes left, else a new one.
    pub async fn for_caller(
        &self,
        caller: Option<&Principal>,
        tool: &str,
    ) -> Result<Session, SessionError> {
        let caller = caller.ok_or(SessionError::NoCaller)?;
        let key = format!("{}\u{0}{}", caller.uid_string(), tool);
        if let Some(session) = self.cached(&key) {
            return Ok(session);
        }
        let session = self.assume(caller, tool, None).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                key,
                (session.clone(), Instant::now() + SESSION - RENEW_BEFORE),
            );
        }
        Ok(session)
    }

    /// A session for one approved call, never cached: its session tags name the approval
    /// (`guard:approval`), so CloudTrail shows which person's OK each production change used.
    pub async fn for_approval(
        &self,
        caller: Option<&Principal>,
        tool: &str,
        approval: &str,
    ) -> Result<Session, SessionError> {
        let caller = caller.ok_or(SessionError::NoCaller)?;
        self.assume(caller, tool, Some(approval)).await
    }

    fn cached(&self, key: &str) -> Option<Session> {
        let cache = self.cache.lock().ok()?;
        let (session, renew_at) = cache.get(key)?;
        (Instant::now() < *renew_at).then(|| session.clone())
    }

    async fn assume(
        &self,
        caller: &Principal,
        tool: &str,
        approval: Option<&str>,
    ) -> Result<Session, SessionError> {
        let source_identity = source_identity(caller.id());
        let tag = |key: &str, value: &str| {
            Tag::builder()
                .key(key)
                .value(tag_value(value))
                .build()
                .map_err(|e| SessionError::AssumeRole(e.to_string()))
        };
        let mut request = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(session_name(tool, &source_identity))
            .source_identity(&source_identity)
            .tags(tag("guard:caller", &caller.uid_string())?)
            .tags(tag("guard:tool", tool)?)
            .duration_seconds(i32::try_from(SESSION.as_secs()).unwrap_or(900));
        if let Some(approval) = approval {
            request = request.tags(tag("guard:approval", approval)?);
        }
        let out = request
            .send()
            .await
            .map_err(|e| SessionError::AssumeRole(guard::with_causes(&e)))?;
        let creds = out
            .credentials()
            .ok_or_else(|| SessionError::AssumeRole("STS returned no credentials".to_owned()))?;
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            None,
            "agent-guard-caller-session",
        );
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        Ok(Session {
            config,
            source_identity,
        })
    }
}

/// The caller's id as STS accepts a `SourceIdentity` (2 to 64 of `[A-Za-z0-9_+=,.@-]`): the
/// id itself when it fits, else a readable prefix and a digest, so two callers never share one.
pub fn source_identity(id: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&id.len()) && id.chars().all(allowed) {
        return id.to_owned();
    }
    let prefix: String = id.chars().filter(|c| allowed(*c)).take(40).collect();
    let digest = arguments_digest(&serde_json::Value::String(id.to_owned()));
    format!("{prefix}-{}", digest.get(..16).unwrap_or(&digest))
}

/// A session name (2 to 64 of the same characters) that says which tool and whom.
fn session_name(tool: &str, source_identity: &str) -> String {
    let name: String = format!("{tool}-{source_identity}")
        .chars()
        .take(64)
        .collect();
    name
}

/// A session tag value: at most 256 of the characters STS allows; others become `_`.
fn tag_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_identity_is_the_caller_when_sts_accepts_it_and_a_digest_otherwise() {
        assert_eq!(source_identity("agent-7"), "agent-7");
        let arn = source_identity("arn:aws:iam::123456789012:role/agent");
        assert!(
            arn.len() <= 64 && arn.starts_with("arnawsiam123456789012roleagent-"),
            "{arn}"
        );
        assert_ne!(source_identity("a/b"), source_identity("a:b"));
        let short = source_identity("x");
        assert!(short.len() >= 2, "{short}");
        assert!(source_identity(&"é".repeat(100)).len() <= 64);
    }
}
