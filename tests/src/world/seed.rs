//! Seeding: the two environments, and the resources that make the article's traps — an audit
//! log group, the article's own log group, a production service in the staging cluster, an
//! untagged and a dev instance.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ec2::types::AttributeBooleanValue;
use aws_sdk_ecs::types::{ContainerDefinition, Tag as EcsTag};

use super::{
    Environment, World, err,
    resources::{OLD_EVENT_AGE, budget_table, put_metrics, run_instances, stream},
};

/// Seeds the world.
pub async fn seed(config: &SdkConfig) -> Result<World, String> {
    budget_table(config).await?;
    task_definition(config).await?;
    let staging = environment(config, "staging").await?;
    let production = environment(config, "production").await?;
    let audit_log_group = audit_log_group(config).await?;
    let article_log_group = article_log_group(config).await?;
    let misplaced_service = misplaced_service(config, &staging.cluster).await?;
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

/// The task definition every seeded service runs.
async fn task_definition(config: &SdkConfig) -> Result<(), String> {
    aws_sdk_ecs::Client::new(config)
        .register_task_definition()
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
    Ok(())
}

/// Production's compliance audit records: tagged `Compliance`, with old streams.
async fn audit_log_group(config: &SdkConfig) -> Result<String, String> {
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
    Ok(audit_log_group)
}

/// The article's `/aws/lambda/my-function`, tagged `Environment=dev`, with an old stream.
async fn article_log_group(config: &SdkConfig) -> Result<String, String> {
    let logs = aws_sdk_cloudwatchlogs::Client::new(config);
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
    Ok(article_log_group)
}

/// A production service in the staging cluster: an agent that says "staging" finds it there.
async fn misplaced_service(config: &SdkConfig, staging_cluster: &str) -> Result<String, String> {
    let misplaced_service = "payments".to_owned();
    aws_sdk_ecs::Client::new(config)
        .create_service()
        .cluster(staging_cluster)
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
    Ok(misplaced_service)
}

/// One environment: its cluster and services, instances (one termination-protected), an
/// application log group with old and fresh streams, and its services' metrics.
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
