//! How a guard is set up: mode, gateway, caller type, metrics namespace, policy source
//! (DESIGN.md §6).

use std::path::PathBuf;

use crate::{
    audit::DEFAULT_METRICS_NAMESPACE,
    caller::{AuthorizerType, CallerType, UnknownAuthorizerType},
    decision::Mode,
    policy::{LoadError, PolicySources},
};

/// How a guard is set up. [`GuardConfig::from_env`] reads it from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardConfig {
    /// `GUARD_MODE`: `ENFORCE` (default) or `LOG_ONLY`.
    pub mode: Mode,
    /// `GATEWAY_ARN`: the gateway the gateway policies are linked to.
    pub gateway_arn: Option<String>,
    /// `GUARD_POLICY_DIR`: load policies from this directory instead of the embedded ones.
    /// Read from the environment only in builds with the `dev-policy-dir` feature, which no
    /// shipped build enables: a deployed function runs the policies compiled into it, and
    /// whoever can edit its configuration cannot swap them.
    pub policy_dir: Option<PathBuf>,
    /// `GATEWAY_AUTHORIZER_TYPE`: `CUSTOM_JWT` (default), `AUTHENTICATE_ONLY`, `AWS_IAM` or
    /// `NONE`, read here and nowhere else. An unknown value is kept as the error it is: a guard
    /// built with it refuses every call rather than guess which gateway it is behind.
    pub authorizer_type: Result<AuthorizerType, UnknownAuthorizerType>,
    /// `GUARD_METRICS_NAMESPACE`: CloudWatch namespace of the decision metrics.
    pub metrics_namespace: String,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Enforce,
            gateway_arn: None,
            policy_dir: None,
            authorizer_type: Ok(AuthorizerType::CustomJwt),
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
        }
    }
}

/// A setting that was not understood and what was used instead. Never an error: the fallback
/// is always the safe value. (An unknown `GATEWAY_AUTHORIZER_TYPE` has no safe value to fall
/// back to, so it is no warning: see [`GuardConfig::authorizer_type`].)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigWarning {
    /// `GUARD_MODE` is neither `ENFORCE` nor `LOG_ONLY`.
    #[error("unknown GUARD_MODE `{0}` (expected ENFORCE or LOG_ONLY); using ENFORCE")]
    UnknownMode(String),
}

impl GuardConfig {
    /// Reads the configuration from the process environment; returns it with any warnings.
    pub fn from_env() -> (Self, Vec<ConfigWarning>) {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Self, Vec<ConfigWarning>) {
        let mut warnings = Vec::new();
        // Exactly `ENFORCE` or `LOG_ONLY`: no trimming, no case folding. `" LOG_ONLY "` or
        // `"LOG_ONLY\u{a0}"` is a typo or a trick, and either way means ENFORCE.
        let mode = match lookup("GUARD_MODE").as_deref() {
            None | Some("") => Mode::Enforce,
            Some(v) => Mode::from_setting(v).unwrap_or_else(|| {
                warnings.push(ConfigWarning::UnknownMode(v.to_owned()));
                Mode::Enforce
            }),
        };
        let non_empty = |name| lookup(name).filter(|v| !v.trim().is_empty());
        // Exactly as AgentCore spells it, like GUARD_MODE; unlike GUARD_MODE an unknown value
        // stays an error (see the field).
        let authorizer_type =
            AuthorizerType::from_setting(lookup("GATEWAY_AUTHORIZER_TYPE").as_deref());
        let config = Self {
            mode,
            gateway_arn: non_empty("GATEWAY_ARN").map(|v| v.trim().to_owned()),
            policy_dir: if cfg!(feature = "dev-policy-dir") {
                non_empty("GUARD_POLICY_DIR").map(PathBuf::from)
            } else {
                None
            },
            authorizer_type,
            metrics_namespace: non_empty("GUARD_METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
        };
        (config, warnings)
    }

    /// The kind of caller the configured gateway authenticates. With an unknown authorizer type
    /// the guard refuses every call whatever this says.
    pub fn caller_type(&self) -> CallerType {
        self.authorizer_type
            .as_ref()
            .map_or(CallerType::OAuthUser, |t| t.caller_type())
    }

    /// The policy sources this configuration names: the directory override, or the embedded
    /// policies in their fastest-loading form.
    pub fn sources(&self) -> Result<PolicySources, LoadError> {
        match &self.policy_dir {
            Some(dir) => PolicySources::from_dir(dir),
            None => Ok(PolicySources::compiled()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_the_environment_names() {
        let env = |name: &str| match name {
            "GUARD_MODE" => Some("LOG_ONLY".to_owned()),
            "GATEWAY_ARN" => Some(" arn:x ".to_owned()),
            "GATEWAY_AUTHORIZER_TYPE" => Some("AWS_IAM".to_owned()),
            _ => None,
        };
        let (config, warnings) = GuardConfig::from_lookup(env);
        assert!(warnings.is_empty());
        assert_eq!(config.mode, Mode::LogOnly);
        assert_eq!(config.gateway_arn.as_deref(), Some("arn:x"));
        assert_eq!(config.authorizer_type, Ok(AuthorizerType::AwsIam));
        assert_eq!(config.caller_type(), CallerType::IamEntity);
        assert_eq!(config.metrics_namespace, DEFAULT_METRICS_NAMESPACE);
    }

    #[test]
    fn config_warns_on_an_unknown_mode_and_stays_safe() {
        let (config, warnings) =
            GuardConfig::from_lookup(|name| (name == "GUARD_MODE").then(|| "OFF".to_owned()));
        assert_eq!(config.mode, Mode::Enforce);
        assert_eq!(warnings, [ConfigWarning::UnknownMode("OFF".to_owned())]);
    }

    #[test]
    fn an_unknown_authorizer_type_is_kept_as_an_error_not_replaced_by_a_default() {
        for near_miss in [" AWS_IAM ", "aws_iam", "OAUTH", "NONE\u{a0}"] {
            let (config, warnings) = GuardConfig::from_lookup(|name| {
                (name == "GATEWAY_AUTHORIZER_TYPE").then(|| near_miss.to_owned())
            });
            assert_eq!(
                config.authorizer_type,
                Err(UnknownAuthorizerType(near_miss.to_owned())),
                "{near_miss:?}"
            );
            assert!(warnings.is_empty());
        }
        let (config, _) = GuardConfig::from_lookup(|_| None);
        assert_eq!(config.authorizer_type, Ok(AuthorizerType::CustomJwt));
        let (config, _) = GuardConfig::from_lookup(|name| {
            (name == "GATEWAY_AUTHORIZER_TYPE").then(|| "NONE".to_owned())
        });
        assert_eq!(config.authorizer_type, Ok(AuthorizerType::None));
        assert_eq!(config.caller_type(), CallerType::OAuthUser);
    }

    #[test]
    fn a_guard_with_an_unknown_authorizer_type_refuses_every_call_audited() {
        use crate::{
            EXAMPLE_GATEWAY_ARN, Guard, MemoryAudit, Outcome, RequestIds, ToolCall,
            error::GuardError,
        };
        let (mut config, _) = GuardConfig::from_lookup(|name| {
            (name == "GATEWAY_AUTHORIZER_TYPE").then(|| "custom_jwt".to_owned())
        });
        config.gateway_arn = Some(EXAMPLE_GATEWAY_ARN.to_owned());
        config.mode = Mode::LogOnly;
        let audit = MemoryAudit::new();
        let guard = Guard::new(
            &PolicySources::embedded(),
            &config,
            std::sync::Arc::new(audit.clone()),
        );
        let unknown =
            GuardError::UnknownAuthorizerType(UnknownAuthorizerType("custom_jwt".to_owned()));
        assert_eq!(guard.health(), Err(unknown));
        let input = serde_json::json!({"service_name": "api"});
        let ids = RequestIds::default();
        let call = ToolCall {
            tool: "get-metrics___get_metrics",
            input: &input,
            principal: None,
            ids: &ids,
        };
        // Even a read-only call in LOG_ONLY: an error is never let through.
        let decision = guard.check_call(&call);
        assert_eq!(decision.outcome(), Outcome::Error);
        assert!(!decision.proceeds());
        assert!(
            decision
                .explain()
                .contains("unknown GATEWAY_AUTHORIZER_TYPE `custom_jwt`")
        );
        assert!(!guard.may_call("get-metrics___get_metrics", None));
        assert_eq!(
            guard
                .check_tool("get-metrics___get_metrics", None, &ids)
                .outcome(),
            Outcome::Error
        );
        let records = audit.records();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.outcome == Outcome::Error));
    }

    #[test]
    fn guard_mode_must_be_spelled_exactly() {
        for near_miss in [
            " LOG_ONLY ",
            "LOG_ONLY\u{a0}",
            "log_only",
            "LOG-ONLY",
            "\u{200b}LOG_ONLY",
        ] {
            let (config, warnings) = GuardConfig::from_lookup(|name| {
                (name == "GUARD_MODE").then(|| near_miss.to_owned())
            });
            assert_eq!(config.mode, Mode::Enforce, "{near_miss:?}");
            assert_eq!(warnings.len(), 1, "{near_miss:?}");
        }
    }

    #[cfg(not(feature = "dev-policy-dir"))]
    #[test]
    fn a_shipped_build_ignores_the_policy_directory_override() {
        let (config, _) = GuardConfig::from_lookup(|name| {
            (name == "GUARD_POLICY_DIR").then(|| "/tmp/permit-all".to_owned())
        });
        assert_eq!(config.policy_dir, None);
        assert_eq!(config.sources(), Ok(PolicySources::compiled()));
    }

    #[test]
    fn unknown_mode_falls_back_to_enforce_with_a_warning() {
        let (config, warnings) = GuardConfig::from_lookup(|_| Some("log_only".to_owned()));
        assert_eq!(config.mode, Mode::Enforce);
        assert!(warnings[0].to_string().contains("`log_only`"));
    }
}
