//! A staging and a production world on the emulator — ECS clusters and services, EC2
//! instances, log groups (an audit one among them), metrics — all tagged the way a platform team
//! tags them; and a snapshot of their state, to prove what changed and what did not.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag, TagSpecification};
use aws_sdk_ecs::types::{ContainerDefinition, Tag as EcsTag};
use serde::Serialize;

/// The image every seeded instance runs (the emulator does not check images).
pub const IMAGE: &str = "ami-12c6146b";
/// How old the "old" log events are: older than a week, inside CloudWatch's 14-day limit.
pub const OLD_EVENT_AGE: Duration = Duration::from_secs(10 * 24 * 3600);

/// The budget table every function is pointed at (`BUDGET_TABLE`), as the template makes it:
/// `budget` (string) and `slot` (number) keys, on-demand, `expires_at` as TTL.
pub const BUDGET_TABLE: &str = "agent-guard-budgets";

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

fn err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |e| format!("seeding {what}: {e}")
}

/// Seeds the world.
pub async fn seed(config: &SdkConfig) -> Result<World, String> {
    budget_table(config).await?;
    let ecs = aws_sdk_ecs::Client::new(config);
    ecs.register_task_definition()
        .family("app")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("public.ecr.aws/nginx/nginx:latest")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .map_err(|e| err("task definition")(&aws_sdk_ecs::Error::from(e)))?;
    let staging = environment(config, "staging").await?;
    let production = environment(config, "production").await?;

    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let audit_log_group = "/audit/production/compliance-trail".to_owned();
    logs.create_log_group()
        .log_group_name(&audit_log_group)
        .tags("Environment", "production")
        .tags("Compliance", "SOC2")
        .send()
        .await
        .map_err(|e| err("audit log group")(&aws_sdk_cloudwatchlogs::Error::from(e)))?;
    stream(
        config,
        &logs,
        &audit_log_group,
        "2026-11-01-audit",
        OLD_EVENT_AGE,
    )
    .await?;
    stream(
        config,
        &logs,
        &audit_log_group,
        "2026-11-02-audit",
        OLD_EVENT_AGE,
    )
    .await?;

    let article_log_group = "/aws/lambda/my-function".to_owned();
    logs.create_log_group()
        .log_group_name(&article_log_group)
        .tags("Environment", "dev")
        .send()
        .await
        .map_err(|e| err("article log group")(&aws_sdk_cloudwatchlogs::Error::from(e)))?;
    stream(
        config,
        &logs,
        &article_log_group,
        "2026/11/01/[$LATEST]old",
        OLD_EVENT_AGE,
    )
    .await?;

    // A production service in the staging cluster: an agent that says "staging" finds it there.
    let misplaced_service = "payments".to_owned();
    ecs.create_service()
        .cluster(&staging.cluster)
        .service_name(&misplaced_service)
        .task_definition("app")
        .desired_count(2)
        .tags(
            EcsTag::builder()
                .key("Environment")
                .value("production")
                .build(),
        )
        .send()
        .await
        .map_err(|e| err("misplaced service")(&aws_sdk_ecs::Error::from(e)))?;

    let ec2 = aws_sdk_ec2::Client::new(config);
    let untagged = run_instances(&ec2, None, 1).await?;
    let dev = run_instances(&ec2, Some("dev"), 1).await?;
    Ok(World {
        staging,
        production,
        audit_log_group,
        untagged_instance: untagged.into_iter().next().unwrap_or_default(),
        dev_instance: dev.into_iter().next().unwrap_or_default(),
        misplaced_service,
        article_log_group,
    })
}

/// Creates [`BUDGET_TABLE`].
pub async fn budget_table(config: &SdkConfig) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let attribute = |name: &str, kind| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(|e| err("budget table")(&e))
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| err("budget table")(&e))
    };
    dynamodb
        .create_table()
        .table_name(BUDGET_TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("budget", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("slot", ScalarAttributeType::N)?)
        .key_schema(key("budget", KeyType::Hash)?)
        .key_schema(key("slot", KeyType::Range)?)
        .send()
        .await
        .map_err(|e| err("budget table")(&aws_sdk_dynamodb::Error::from(e)))?;
    dynamodb
        .update_time_to_live()
        .table_name(BUDGET_TABLE)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .map_err(|e| err("budget table TTL")(&e))?,
        )
        .send()
        .await
        .map_err(|e| err("budget table TTL")(&aws_sdk_dynamodb::Error::from(e)))?;
    Ok(())
}

async fn environment(config: &SdkConfig, name: &str) -> Result<Environment, String> {
    let ecs = aws_sdk_ecs::Client::new(config);
    let cluster = format!("{name}-cluster");
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .map_err(|e| err("cluster")(&aws_sdk_ecs::Error::from(e)))?;
    let services = vec!["api-gateway".to_owned(), "worker".to_owned()];
    for service in &services {
        ecs.create_service()
            .cluster(&cluster)
            .service_name(service)
            .task_definition("app")
            .desired_count(2)
            .tags(EcsTag::builder().key("Environment").value(name).build())
            .send()
            .await
            .map_err(|e| err("service")(&aws_sdk_ecs::Error::from(e)))?;
    }

    let ec2 = aws_sdk_ec2::Client::new(config);
    let instances = run_instances(&ec2, Some(name), 2).await?;
    let protected_instance = run_instances(&ec2, Some(name), 1)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    ec2.modify_instance_attribute()
        .instance_id(&protected_instance)
        .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .map_err(|e| err("termination protection")(&aws_sdk_ec2::Error::from(e)))?;

    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
    let log_group = format!("/ecs/{name}/api-gateway");
    logs.create_log_group()
        .log_group_name(&log_group)
        .tags("Environment", name)
        .send()
        .await
        .map_err(|e| err("log group")(&aws_sdk_cloudwatchlogs::Error::from(e)))?;
    let old_streams = vec!["app/old-1".to_owned(), "app/old-2".to_owned()];
    let fresh_streams = vec!["app/fresh-1".to_owned()];
    for s in &old_streams {
        stream(config, &logs, &log_group, s, OLD_EVENT_AGE).await?;
    }
    for s in &fresh_streams {
        stream(config, &logs, &log_group, s, Duration::ZERO).await?;
    }

    let cloudwatch = aws_sdk_cloudwatch::Client::new(config);
    for service in &services {
        put_metrics(&cloudwatch, &cluster, service).await?;
    }
    Ok(Environment {
        name: name.to_owned(),
        cluster,
        services,
        instances,
        protected_instance,
        log_group,
        old_streams,
        fresh_streams,
    })
}

/// Starts `count` instances, tagged `Environment=<environment>` when given.
pub async fn run_instances(
    ec2: &aws_sdk_ec2::Client,
    environment: Option<&str>,
    count: i32,
) -> Result<Vec<String>, String> {
    let mut request = ec2
        .run_instances()
        .image_id(IMAGE)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(count)
        .max_count(count);
    if let Some(env) = environment {
        request = request.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Environment").value(env).build())
                .tags(
                    Tag::builder()
                        .key("Name")
                        .value(format!("{env}-node"))
                        .build(),
                )
                .build(),
        );
    }
    let out = request
        .send()
        .await
        .map_err(|e| err("instances")(&aws_sdk_ec2::Error::from(e)))?;
    Ok(out
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(ToOwned::to_owned))
        .collect())
}

/// A log stream with one event `age` old, received `age` ago: the emulator stamps creation
/// and ingestion with the time events arrive, so the stream is aged in its backend after.
pub async fn stream(
    config: &SdkConfig,
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    name: &str,
    age: Duration,
) -> Result<(), String> {
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(name)
        .send()
        .await
        .map_err(|e| err("log stream")(&aws_sdk_cloudwatchlogs::Error::from(e)))?;
    let at = SystemTime::now() - age;
    let millis = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(name)
        .log_events(
            InputLogEvent::builder()
                .timestamp(millis)
                .message(format!("{name}: request served"))
                .build()
                .map_err(|e| err("log event")(&e))?,
        )
        .send()
        .await
        .map_err(|e| err("log events")(&aws_sdk_cloudwatchlogs::Error::from(e)))?;
    if !age.is_zero() {
        crate::emulator::age_log_stream(config, group, name, age)?;
    }
    Ok(())
}

/// The CPU and memory values seeded for every service, one a minute for the last 10 minutes.
pub const CPU_VALUES: [f64; 10] = [12.0, 18.0, 25.0, 31.0, 22.0, 17.0, 40.0, 35.0, 28.0, 22.0];

async fn put_metrics(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    cluster: &str,
    service: &str,
) -> Result<(), String> {
    let now = SystemTime::now();
    let mut data = Vec::new();
    for (i, cpu) in CPU_VALUES.iter().enumerate() {
        let minutes_ago = u64::try_from(CPU_VALUES.len() - i).unwrap_or(0);
        let at = now - Duration::from_secs(60 * minutes_ago);
        for (metric, value) in [("CPUUtilization", *cpu), ("MemoryUtilization", cpu + 30.0)] {
            data.push(
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(
                        Dimension::builder()
                            .name("ClusterName")
                            .value(cluster)
                            .build(),
                    )
                    .dimensions(
                        Dimension::builder()
                            .name("ServiceName")
                            .value(service)
                            .build(),
                    )
                    .timestamp(at.into())
                    .value(value)
                    .unit(StandardUnit::Percent)
                    .build(),
            );
        }
    }
    cloudwatch
        .put_metric_data()
        .namespace("AWS/ECS")
        .set_metric_data(Some(data))
        .send()
        .await
        .map_err(|e| err("metrics")(&aws_sdk_cloudwatch::Error::from(e)))?;
    Ok(())
}

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
