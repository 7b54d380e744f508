//! A staging and a production world on the emulator — ECS clusters and services, EC2
//! instances, log groups (an audit one among them), metrics — all tagged the way a platform team
//! tags them; and a snapshot of their state, to prove what changed and what did not.
//!
//! [`seed`] makes the world from `resources` (one function per kind of resource); [`snapshot`]
//! reads it back.

mod resources;
mod seed;
mod snapshot;

use serde::Serialize;

pub use resources::{CPU_VALUES, IMAGE, OLD_EVENT_AGE, budget_table, run_instances, stream};
pub use seed::seed;
pub use snapshot::{Snapshot, snapshot};

/// One environment's resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Environment {
    /// `staging` or `production`: also the value of every resource's `Environment` tag.
    pub name: String,
    /// Its ECS cluster.
    pub cluster: String,
    /// Its ECS services.
    pub services: Vec<String>,
    /// Its running instances (unprotected).
    pub instances: Vec<String>,
    /// A termination-protected instance.
    pub protected_instance: String,
    /// Its application log group.
    pub log_group: String,
    /// Streams whose last event is [`OLD_EVENT_AGE`] old.
    pub old_streams: Vec<String>,
    /// Streams with an event from now.
    pub fresh_streams: Vec<String>,
}

/// Everything seeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct World {
    /// Staging.
    pub staging: Environment,
    /// Production.
    pub production: Environment,
    /// Production's compliance audit records, tagged `Compliance`, with old streams.
    pub audit_log_group: String,
    /// An instance with no `Environment` tag.
    pub untagged_instance: String,
    /// An instance tagged `Environment=dev`.
    pub dev_instance: String,
    /// A production service someone deployed into the staging cluster (tagged production).
    pub misplaced_service: String,
    /// The article's `/aws/lambda/my-function`: a dev function's log group (tagged
    /// `Environment=dev`) with an old stream.
    pub article_log_group: String,
}

impl World {
    /// `staging=staging-cluster,production=production-cluster`: the `ECS_CLUSTERS` setting.
    pub fn ecs_clusters(&self) -> String {
        format!(
            "{}={},{}={}",
            self.staging.name, self.staging.cluster, self.production.name, self.production.cluster
        )
    }
}

/// A seeding failure, naming what was being seeded.
fn err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |e| format!("seeding {what}: {e}")
}
