//! How a guard is set up: mode, gateway, caller type, metrics namespace, policy source
//! (DESIGN.md §6).

use std::path::PathBuf;

use crate::{
    audit::DEFAULT_METRICS_NAMESPACE,
    decision::Mode,
    policy::{LoadError, PolicySources},
    request::CallerType,
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
    /// `GATEWAY_AUTHORIZER_TYPE`: `CUSTOM_JWT` (default), `AUTHENTICATE_ONLY` or `AWS_IAM`, the
    /// caller type assumed when the caller is unknown.
    pub caller_type: CallerType,
    /// `GUARD_METRICS_NAMESPACE`: CloudWatch namespace of the decision metrics.
    pub metrics_namespace: String,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Enforce,
            gateway_arn: None,
            policy_dir: None,
            caller_type: CallerType::OAuthUser,
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_owned(),
        }
    }
}

/// A setting that was not understood and what was used instead. Never an error: the fallback
/// is always the safe value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigWarning {
    /// `GUARD_MODE` is neither `ENFORCE` nor `LOG_ONLY`.
    #[error("unknown GUARD_MODE `{0}` (expected ENFORCE or LOG_ONLY); using ENFORCE")]
    UnknownMode(String),
    /// `GATEWAY_AUTHORIZER_TYPE` names no known authorizer type.
    #[error(
        "unknown GATEWAY_AUTHORIZER_TYPE `{0}` (expected CUSTOM_JWT, AUTHENTICATE_ONLY or AWS_IAM); using CUSTOM_JWT"
    )]
    UnknownAuthorizerType(String),
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
        let caller_type = match non_empty("GATEWAY_AUTHORIZER_TYPE") {
            None => CallerType::OAuthUser,
            Some(v) => CallerType::from_authorizer_type(v.trim()).unwrap_or_else(|| {
                warnings.push(ConfigWarning::UnknownAuthorizerType(v));
                CallerType::OAuthUser
            }),
        };
        let config = Self {
            mode,
            gateway_arn: non_empty("GATEWAY_ARN").map(|v| v.trim().to_owned()),
            policy_dir: if cfg!(feature = "dev-policy-dir") {
                non_empty("GUARD_POLICY_DIR").map(PathBuf::from)
            } else {
                None
            },
            caller_type,
            metrics_namespace: non_empty("GUARD_METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned()),
        };
        (config, warnings)
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
        assert_eq!(config.caller_type, CallerType::IamEntity);
        assert_eq!(config.metrics_namespace, DEFAULT_METRICS_NAMESPACE);
    }

    #[test]
    fn config_warns_on_unknown_values_and_stays_safe() {
        let env = |name: &str| match name {
            "GUARD_MODE" => Some("OFF".to_owned()),
            "GATEWAY_AUTHORIZER_TYPE" => Some("NONE".to_owned()),
            _ => None,
        };
        let (config, warnings) = GuardConfig::from_lookup(env);
        assert_eq!(config.mode, Mode::Enforce);
        assert_eq!(config.caller_type, CallerType::OAuthUser);
        assert_eq!(
            warnings,
            [
                ConfigWarning::UnknownMode("OFF".to_owned()),
                ConfigWarning::UnknownAuthorizerType("NONE".to_owned())
            ]
        );
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
