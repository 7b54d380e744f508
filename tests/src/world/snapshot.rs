//! What the world looks like now: the state of everything seeded, to compare before and after.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use serde::Serialize;

use super::World;

/// What the world looks like now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// Instance id → state.
    pub instances: BTreeMap<String, String>,
    /// `cluster/service` → its deployments' ids.
    pub deployments: BTreeMap<String, Vec<String>>,
    /// Log group → its streams.
    pub streams: BTreeMap<String, Vec<String>>,
}

impl Snapshot {
    /// The state of one instance.
    pub fn instance(&self, id: &str) -> &str {
        self.instances.get(id).map_or("missing", String::as_str)
    }

    /// The deployment ids of one service.
    pub fn deployments_of(&self, cluster: &str, service: &str) -> &[String] {
        self.deployments
            .get(&format!("{cluster}/{service}"))
            .map_or(&[], Vec::as_slice)
    }

    /// The streams of one log group.
    pub fn streams_of(&self, group: &str) -> &[String] {
        self.streams.get(group).map_or(&[], Vec::as_slice)
    }
}

/// Reads the state of everything in `world`.
pub async fn snapshot(config: &SdkConfig, world: &World) -> Result<Snapshot, String> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let described = ec2
        .describe_instances()
        .send()
        .await
        .map_err(|e| format!("snapshot: {}", aws_sdk_ec2::Error::from(e)))?;
    let instances = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| {
            Some((
                i.instance_id()?.to_owned(),
                i.state()?.name()?.as_str().to_owned(),
            ))
        })
        .collect();

    let ecs = aws_sdk_ecs::Client::new(config);
    let mut deployments = BTreeMap::new();
    for env in [&world.staging, &world.production] {
        let mut services = env.services.clone();
        if env.name == world.staging.name {
            services.push(world.misplaced_service.clone());
        }
        let out = ecs
            .describe_services()
            .cluster(&env.cluster)
            .set_services(Some(services))
            .send()
            .await
            .map_err(|e| format!("snapshot: {}", aws_sdk_ecs::Error::from(e)))?;
        for service in out.services() {
            let ids = service
                .deployments()
                .iter()
                .filter_map(|d| d.id().map(ToOwned::to_owned))
                .collect();
            deployments.insert(
                format!(
                    "{}/{}",
                    env.cluster,
                    service.service_name().unwrap_or_default()
                ),
                ids,
            );
        }
    }

    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let mut streams = BTreeMap::new();
    for group in [
        &world.staging.log_group,
        &world.production.log_group,
        &world.audit_log_group,
        &world.article_log_group,
    ] {
        let out = logs
            .describe_log_streams()
            .log_group_name(group)
            .send()
            .await
            .map_err(|e| format!("snapshot: {}", aws_sdk_cloudwatchlogs::Error::from(e)))?;
        let mut names: Vec<String> = out
            .log_streams()
            .iter()
            .filter_map(|s| s.log_stream_name().map(ToOwned::to_owned))
            .collect();
        names.sort();
        streams.insert(group.clone(), names);
    }
    Ok(Snapshot {
        instances,
        deployments,
        streams,
    })
}
