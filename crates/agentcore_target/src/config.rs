//! Per-tool settings from environment variables (DESIGN.md §6): each with a documented default
//! or a clear error.

use std::{collections::BTreeMap, str::FromStr};

use crate::error::ToolError;

/// `GATEWAY_TARGET_NAME`: the gateway target this function is registered as.
pub fn target_name(default: &str) -> String {
    std::env::var("GATEWAY_TARGET_NAME")
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A number from the environment, `default` when unset, an error naming the variable when
/// it does not parse or is below `min`.
pub fn number<T>(name: &str, default: T, min: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) if v.trim().is_empty() => Ok(default),
        Ok(v) => match v.trim().parse::<T>() {
            Ok(n) if n >= min => Ok(n),
            Ok(n) => Err(format!("{name} is {n}; it must be at least {min}")),
            Err(_) => Err(format!("{name} is `{v}`, which is not a number")),
        },
    }
}

/// `ECS_CLUSTERS`: which ECS cluster each environment's services run in,
/// `staging=staging-cluster,dev=dev-cluster`. No default cluster: an environment that is not
/// listed is an error, never a guess.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterMap(BTreeMap<String, String>);

impl ClusterMap {
    /// Reads `ECS_CLUSTERS`; unset means no environment is mapped.
    pub fn from_env() -> Result<Self, String> {
        std::env::var("ECS_CLUSTERS").map_or_else(|_| Ok(Self::default()), |v| v.parse())
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
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = BTreeMap::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (env, cluster) = pair
                .split_once('=')
                .map(|(e, c)| (e.trim(), c.trim()))
                .filter(|(e, c)| !e.is_empty() && !c.is_empty())
                .ok_or_else(|| {
                    format!("ECS_CLUSTERS entry `{pair}` is not `environment=cluster`")
                })?;
            if map.insert(env.to_owned(), cluster.to_owned()).is_some() {
                return Err(format!("ECS_CLUSTERS names environment `{env}` twice"));
            }
        }
        Ok(Self(map))
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
                .contains("twice")
        );
        assert_eq!("".parse::<ClusterMap>().unwrap(), ClusterMap::default());
    }
}
