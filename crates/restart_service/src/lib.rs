//! `restart_service`: force a new deployment of one ECS service.
//!
//! Input → call check → the real service (in the cluster `ECS_CLUSTERS` maps the environment
//! to: its ARN, status and tags) → resource check → `UpdateService` with
//! `forceNewDeployment`. ECS has no dry run of its own: with `dry_run` the lookup is the whole
//! of what is called.

use agentcore_target::{
    Access, Attempts, ClusterMap, ErrorKind, Found, Recheck, ResourceFacts, Tool, ToolError,
    check_identifier, tag_map,
};
use aws_sdk_ecs::{Client, operation::update_service::UpdateServiceError};
use serde::{Deserialize, Serialize};

/// The longest ECS service name.
const MAX_SERVICE_NAME: usize = 255;
/// The longest approval request id (`<tool>-<32 hex digits>`), with room.
const MAX_APPROVAL_ID: usize = 80;
/// The only service status ECS deploys to.
const ACTIVE: &str = "ACTIVE";

/// The arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartInput {
    /// The environment the agent says the service is in; `ECS_CLUSTERS` maps it to a cluster.
    pub environment: String,
    /// The ECS service name (1 to 255 letters, digits, hyphens and underscores).
    pub service: String,
    /// Report what would happen and change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// The approval request a person approved for this very call, when the policies ask for
    /// one (a production restart): the call runs once on it.
    #[serde(default)]
    pub approval_id: Option<String>,
}

/// The service as read before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    arn: String,
    name: String,
    /// The cluster's name, as reported and as the resource check sees it.
    cluster: String,
    /// The cluster as `ECS_CLUSTERS` names it (a name or an ARN), for the ECS calls.
    cluster_ref: String,
    status: String,
    desired_count: i32,
    running_count: i32,
    deployment_id: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartOutput {
    /// The cluster's name.
    pub cluster: String,
    /// The service's name.
    pub service: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether this call changed anything.
    pub changed: bool,
    /// The PRIMARY deployment after the call: the new one after a restart, the current one
    /// (unchanged) for a dry run; `None` if ECS reported none.
    pub deployment_id: Option<String>,
    /// The PRIMARY deployment before the call.
    pub previous_deployment_id: Option<String>,
    /// The number of tasks the service should run.
    pub desired_count: i32,
    /// The number of tasks running, as ECS last reported it.
    pub running_count: i32,
}

/// The tool, holding its ECS client and the environment → cluster map.
#[derive(Debug, Clone)]
pub struct RestartService {
    ecs: Client,
    clusters: ClusterMap,
}

impl RestartService {
    /// The tool over `ecs`, finding each environment's cluster in `clusters` (`ECS_CLUSTERS`).
    pub fn new(ecs: Client, clusters: ClusterMap) -> Self {
        Self { ecs, clusters }
    }
}

impl Tool for RestartService {
    const NAME: &'static str = "restart_service";
    const DEFAULT_TARGET: &'static str = "restart-service";
    const ACCESS: Access = Access::Mutating;
    type Settings = ClusterMap;
    type Input = RestartInput;
    type Resource = Service;
    type Output = RestartOutput;

    fn validate(input: &RestartInput) -> Result<(), ToolError> {
        check_identifier(
            "service",
            &input.service,
            MAX_SERVICE_NAME,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            "an ECS service name (1 to 255 letters, digits, hyphens and underscores)",
        )?;
        match &input.approval_id {
            Some(id) => check_identifier(
                agentcore_target::APPROVAL_ARGUMENT,
                id,
                MAX_APPROVAL_ID,
                |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_',
                "an approval request id (`restart_service-` and 32 hex digits)",
            ),
            None => Ok(()),
        }
    }

    async fn lookup(&self, input: &RestartInput) -> Result<Found<Service>, ToolError> {
        // No cluster, no call: an unmapped environment is never guessed at.
        let cluster_ref = self.clusters.cluster(&input.environment)?;
        let name = &input.service;
        let described = self
            .ecs
            .describe_services()
            .cluster(cluster_ref)
            .services(name)
            .send()
            .await
            .map_err(|e| ToolError::aws("ecs:DescribeServices", &e))?;
        // One service was asked for, so any failure is about it.
        if let Some(failure) = described.failures().first() {
            let reason = failure.reason().unwrap_or("no reason given");
            return Err(if reason == "MISSING" {
                not_found(name, cluster_ref)
            } else {
                ToolError::new(
                    ErrorKind::Aws,
                    format!(
                        "ECS could not describe service `{name}` in cluster `{cluster_ref}`: {reason}{}",
                        failure
                            .detail()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    ),
                )
            });
        }
        let service = described
            .services()
            .iter()
            .find(|s| s.service_name() == Some(name.as_str()))
            .ok_or_else(|| not_found(name, cluster_ref))?;
        let reported = |what: &str| {
            ToolError::new(
                ErrorKind::Aws,
                format!("ECS reported no {what} for service `{name}` in cluster `{cluster_ref}`"),
            )
        };
        let arn = service.service_arn().ok_or_else(|| reported("ARN"))?;
        let status = service.status().ok_or_else(|| reported("status"))?;
        let cluster = service
            .cluster_arn()
            .and_then(|arn| arn.rsplit_once('/'))
            .map_or(cluster_ref, |(_, name)| name);

        // The tags of the ARN just described: the resource check judges the very service
        // that would be restarted.
        let described = self
            .ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| ToolError::aws("ecs:ListTagsForResource", &e))?;
        let tags = tag_map(described.tags().iter().map(|t| (t.key(), t.value())));

        let facts = ResourceFacts::new("Guard::EcsService", arn)
            .attribute("name", name.as_str())
            .attribute("cluster", cluster)
            .attribute("status", status)
            .tags(tags);
        Ok(Found {
            facts: Some(facts),
            resource: Service {
                arn: arn.to_owned(),
                name: name.clone(),
                cluster: cluster.to_owned(),
                cluster_ref: cluster_ref.to_owned(),
                status: status.to_owned(),
                desired_count: service.desired_count(),
                running_count: service.running_count(),
                deployment_id: primary_deployment(service),
            },
        })
    }

    async fn operate(
        &self,
        input: &RestartInput,
        service: Service,
        // One AWS call: the resource check just before it is the check.
        _recheck: &Recheck<'_, Self>,
    ) -> Result<RestartOutput, ToolError> {
        // ECS refuses to deploy a draining or inactive service; saying so here is clearer
        // than its error, and a dry run must not promise what would fail.
        if service.status != ACTIVE {
            return Err(ToolError::new(
                ErrorKind::Conflict,
                format!(
                    "service `{}` in cluster `{}` is {}, not {ACTIVE}; only an active service can be restarted",
                    service.name, service.cluster, service.status
                ),
            )
            .unchanged());
        }
        let unchanged = RestartOutput {
            cluster: service.cluster.clone(),
            service: service.name.clone(),
            dry_run: input.dry_run,
            changed: false,
            deployment_id: service.deployment_id.clone(),
            previous_deployment_id: service.deployment_id.clone(),
            desired_count: service.desired_count,
            running_count: service.running_count,
        };
        if input.dry_run {
            return Ok(unchanged);
        }
        // INVARIANT: the service updated is the one the resource check judged: its ARN, not
        // its name again.
        let attempts = Attempts::<UpdateServiceError>::new();
        let updated = self
            .ecs
            .update_service()
            .cluster(&service.cluster_ref)
            .service(&service.arn)
            .force_new_deployment(true)
            // The budget slot goes back only if AWS refused every attempt before acting.
            .customize()
            .interceptor(attempts.clone())
            .send()
            .await
            .map_err(|e| ToolError::aws_attempted("ecs:UpdateService", &e, &attempts))?;
        // ECS accepted the restart: it is reported as done even if the answer lacks details.
        let after = updated.service();
        Ok(RestartOutput {
            changed: true,
            deployment_id: after.and_then(primary_deployment),
            desired_count: after.map_or(service.desired_count, |s| s.desired_count()),
            running_count: after.map_or(service.running_count, |s| s.running_count()),
            ..unchanged
        })
    }

    fn dry_run(input: &RestartInput) -> bool {
        input.dry_run
    }

    fn changed(out: &RestartOutput) -> bool {
        out.changed
    }

    fn acting_as(&self, config: &agentcore_target::SdkConfig) -> Option<Self> {
        Some(Self::new(Client::new(config), self.clusters.clone()))
    }

    fn summary(out: &RestartOutput) -> String {
        let (service, cluster) = (&out.service, &out.cluster);
        let counts = format!(
            "desired {}, running {}",
            out.desired_count, out.running_count
        );
        let previous = deployment(out.previous_deployment_id.as_deref());
        if out.dry_run {
            format!(
                "dry run: `{service}` in `{cluster}` would get a new deployment replacing {previous} ({counts}); nothing was changed"
            )
        } else {
            format!(
                "restarted `{service}` in `{cluster}`: new deployment {} replaces {previous} ({counts})",
                deployment(out.deployment_id.as_deref())
            )
        }
    }
}

/// The id of the service's PRIMARY deployment: the one ECS is rolling out.
fn primary_deployment(service: &aws_sdk_ecs::types::Service) -> Option<String> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id())
        .map(ToOwned::to_owned)
}

fn deployment(id: Option<&str>) -> String {
    id.map_or_else(
        || "(none reported by ECS)".to_owned(),
        |id| format!("`{id}`"),
    )
}

fn not_found(service: &str, cluster: &str) -> ToolError {
    ToolError::not_found(format!(
        "service `{service}` not found in cluster `{cluster}`"
    ))
}
