//! The resources the world is made of, one function per kind: instances, log streams,
//! metrics, and the budget table every function counts in.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use super::err;
use crate::emulator::{self, BUDGET_TABLE};

/// The image every seeded instance runs (the emulator does not check images).
pub const IMAGE: &str = "ami-12c6146b";
/// How old the "old" log events are: older than a week, inside CloudWatch's 14-day limit.
pub const OLD_EVENT_AGE: Duration = Duration::from_secs(10 * 24 * 3600);

/// Creates [`BUDGET_TABLE`] as the template makes it: `budget` (string) and `slot` (number)
/// keys, on-demand, `expires_at` as TTL.
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
        emulator::age_log_stream(config, group, name, age)?;
    }
    Ok(())
}

/// The CPU and memory values seeded for every service, one a minute for the last 10 minutes.
pub const CPU_VALUES: [f64; 10] = [12.0, 18.0, 25.0, 31.0, 22.0, 17.0, 40.0, 35.0, 28.0, 22.0];

pub(super) async fn put_metrics(
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
