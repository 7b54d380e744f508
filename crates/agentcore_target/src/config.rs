//! Per-tool settings from environment variables (DESIGN.md §6), read one way for every tool:
//! a tool's [`Settings`] type reads itself from an [`Env`], each setting with a documented
//! default or a [`ConfigError`] that names the variable.

use std::{collections::BTreeMap, fmt::Display, str::FromStr};

use crate::error::ToolError;

/// `GATEWAY_TARGET_NAME`: the gateway target this function is registered as.
pub const TARGET_NAME_VAR: &str = "GATEWAY_TARGET_NAME";
/// `BUDGET_TABLE`: the DynamoDB table the budgets are counted in (and the stop switch read).
pub const BUDGET_TABLE_VAR: &str = budget::TABLE_VAR;
/// `BUDGETS`: `ON` (the default) or `OFF`, the only way to run without budgets.
pub const BUDGETS_VAR: &str = "BUDGETS";
/// `ECS_CLUSTERS`: which ECS cluster each environment's services run in.
pub const CLUSTERS_VAR: &str = "ECS_CLUSTERS";

/// A setting that is present but unusable. A function with one refuses every call, clearly,
/// rather than failing to start: the agent and the audit log both see why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value that is none of the few a setting takes.
    #[error("{variable} is `{value}`; it must be {expected}, so every call is refused")]
    NotOneOf {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What it may be, in words.
        expected: &'static str,
    },
    /// Not a number.
    #[error("{variable} is `{value}`, which is not a number")]
    NotANumber {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// A number outside the accepted range.
    #[error("{variable} is {value}; it must be {bound}")]
    OutOfRange {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// The range, in words (`at least 1`, `at most 1000`).
        bound: String,
    },
    /// An `environment=cluster` list entry that is not one.
    #[error("{variable} entry `{entry}` is not `environment=cluster`")]
    NotAPair {
        /// The variable.
        variable: &'static str,
        /// The entry.
        entry: String,
    },
    /// An environment mapped twice.
    #[error("{variable} names environment `{environment}` twice")]
    Duplicate {
        /// The variable.
        variable: &'static str,
        /// The environment.
        environment: String,
    },
}

/// Where settings are read from: the process environment, or a map in tests.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    /// Settings read through `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// A variable's value exactly as set; `None` when unset or empty. For switches that must
    /// be spelled exactly, where a padded near miss is not the value it resembles.
    pub fn exact(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    /// A variable's value, trimmed; `None` when unset or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A number: `default` when unset, an error naming the variable when it does not parse
    /// or lies outside `min..=max`.
    pub fn number<T>(
        &self,
        name: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(value) = self.text(name) else {
            return Ok(default);
        };
        let n = value.parse::<T>().map_err(|_| ConfigError::NotANumber {
            variable: name,
            value: value.clone(),
        })?;
        let out_of_range = |bound: String| ConfigError::OutOfRange {
            variable: name,
            value: value.clone(),
            bound,
        };
        if n < min {
            return Err(out_of_range(format!("at least {min}")));
        }
        if n > max {
            return Err(out_of_range(format!("at most {max}")));
        }
        Ok(n)
    }
}

/// A tool's settings, read from the environment in one place.
pub trait Settings: Sized + Send + Sync + 'static {
    /// Reads every setting; the first unusable one is the error.
    fn from_env(env: &Env<'_>) -> Result<Self, ConfigError>;
}

/// A tool without settings.
impl Settings for () {
    fn from_env(_: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(())
    }
}

/// What every host reads besides the tool's own settings and the guard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    /// `GATEWAY_TARGET_NAME`, else the tool's default target.
    pub target: String,
    /// `BUDGETS`, exactly as set (`ON`, `OFF`, or a near miss that breaks the budgets).
    pub budgets: Option<String>,
    /// `BUDGET_TABLE`.
    pub budget_table: Option<String>,
    /// `CALLER`: whether a call must carry a caller assertion.
    pub caller: Result<crate::CallerMode, ConfigError>,
    /// `CALLER_SIGNING_KEY`: the KMS key whose public half verifies assertions.
    pub caller_key: Option<String>,
    /// `CALLER_ROLE_ARN`: the role mutations are made in, as the caller.
    pub caller_role: Option<String>,
    /// `GUARD_APPROVER_ROLE`: the role people approve in, named when a call needs one.
    pub approver_role: String,
    /// `GUARD_APPROVAL_TOPIC_ARN`: the SNS topic approval requests are announced on.
    pub approval_topic: Option<String>,
    /// `GUARD_APPROVED_ROLE_ARN`: the role approved calls are made in.
    pub approved_role: Option<String>,
}

impl HostSettings {
    /// Reads them from `env`; `default_target` when `GATEWAY_TARGET_NAME` is unset.
    pub fn from_env(env: &Env<'_>, default_target: &str) -> Self {
        Self {
            target: env
                .text(TARGET_NAME_VAR)
                .unwrap_or_else(|| default_target.to_owned()),
            budgets: env.exact(BUDGETS_VAR),
            budget_table: env.text(BUDGET_TABLE_VAR),
            caller: crate::CallerMode::from_env(env),
            caller_key: env.text(caller::SIGNING_KEY_VAR),
            caller_role: env.text(crate::CALLER_ROLE_VAR),
            approver_role: env
                .text(oversight::APPROVER_ROLE_VAR)
                .unwrap_or_else(|| oversight::DEFAULT_APPROVER_ROLE.to_owned()),
            approval_topic: env.text(oversight::APPROVAL_TOPIC_VAR),
            approved_role: env.text(crate::APPROVED_ROLE_VAR),
        }
    }
}

/// `ECS_CLUSTERS`: which ECS cluster each environment's services run in,
/// `staging=staging-cluster,dev=dev-cluster`. No default cluster: an environment that is not
/// listed is an error, never a guess.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterMap(BTreeMap<String, String>);

impl ClusterMap {
    /// Reads `ECS_CLUSTERS`; unset means no environment is mapped.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        env.text(CLUSTERS_VAR)
            .map_or_else(|| Ok(Self::default()), |v| v.parse())
    }

    /// The cluster of `environment`.
    pub fn cluster(&self, environment: &str) -> Result<&str, ToolError> {
        self.0.get(environment).map(String::as_str).ok_or_else(|| {
            let known: Vec<&str> = self.0.keys().map(String::as_str).collect();
            ToolError::configuration(format!(
                "no ECS cluster is configured for environment `{environment}` (ECS_CLUSTERS maps: {})",
                if known.is_empty() { "nothing".to_owned() } else { known.join(", ") }
            ))
        })
    }

    /// Every (environment, cluster) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(e, c)| (e.as_str(), c.as_str()))
    }
}

impl FromStr for ClusterMap {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = BTreeMap::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (env, cluster) = pair
                .split_once('=')
                .map(|(e, c)| (e.trim(), c.trim()))
                .filter(|(e, c)| !e.is_empty() && !c.is_empty())
                .ok_or_else(|| ConfigError::NotAPair {
                    variable: CLUSTERS_VAR,
                    entry: pair.to_owned(),
                })?;
            if map.insert(env.to_owned(), cluster.to_owned()).is_some() {
                return Err(ConfigError::Duplicate {
                    variable: CLUSTERS_VAR,
                    environment: env.to_owned(),
                });
            }
        }
        Ok(Self(map))
    }
}

/// The settings of a tool that maps environments to ECS clusters.
impl Settings for ClusterMap {
    fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Self::from_env(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_map_parses_and_refuses_unmapped_environments() {
        let map: ClusterMap = "staging=stg-cluster, dev = dev-cluster".parse().unwrap();
        assert_eq!(map.cluster("staging").unwrap(), "stg-cluster");
        assert_eq!(map.cluster("dev").unwrap(), "dev-cluster");
        let err = map.cluster("production").unwrap_err();
        assert_eq!(
            err.message,
            "no ECS cluster is configured for environment `production` (ECS_CLUSTERS maps: dev, staging)"
        );
    }

    #[test]
    fn malformed_cluster_maps_are_errors() {
        assert!("staging".parse::<ClusterMap>().is_err());
        assert!("staging=".parse::<ClusterMap>().is_err());
        assert!(
            "a=b,a=c"
                .parse::<ClusterMap>()
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert_eq!("".parse::<ClusterMap>().unwrap(), ClusterMap::default());
    }

    #[test]
    fn numbers_name_their_variable_and_bounds() {
        let lookup = |name: &str| (name == "N").then(|| " 5000 ".to_owned());
        let env = Env::new(&lookup);
        assert_eq!(env.number("M", 7_usize, 1, 10), Ok(7));
        assert_eq!(
            env.number("N", 7_usize, 1, 1000).unwrap_err().to_string(),
            "N is 5000; it must be at most 1000"
        );
        let lookup = |_: &str| Some("lots".to_owned());
        assert_eq!(
            Env::new(&lookup)
                .number("N", 7_usize, 1, 1000)
                .unwrap_err()
                .to_string(),
            "N is `lots`, which is not a number"
        );
    }
}
