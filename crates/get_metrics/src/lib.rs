//! `get_metrics`: read an ECS service's CPU or memory utilization (read-only).
//!
//! Input → call check → the clusters to read (the configured one for the environment, or every
//! cluster CloudWatch lists for the service) → `GetMetricData` on `AWS/ECS`. Reading touches
//! nothing, so there is no resource check: the call check alone guards it.

use std::time::{Duration, Instant, SystemTime};

use agentcore_target::{
    Access, ClusterMap, ErrorKind, Flow, Found, PageBounds, PagesEnd, Recheck, Tool, ToolError,
    check_identifier, read_pages,
};
use aws_sdk_cloudwatch::{
    Client,
    primitives::{DateTime, DateTimeFormat},
    types::{
        Dimension, DimensionFilter, Metric as CloudWatchMetric, MetricDataQuery, MetricStat, ScanBy,
    },
};
use serde::{Deserialize, Serialize};

const NAMESPACE: &str = "AWS/ECS";
/// The longest window, in minutes (a day).
pub const MAX_MINUTES: u32 = 1440;

/// The most pages one listing reads: `ListMetrics` (500 metrics a page) for one service, and
/// `GetMetricData` for a day of minutes across its clusters, each need a handful.
pub const MAX_PAGES: usize = 20;

/// How long one call keeps requesting pages, inside the function's timeout (30 s in
/// template.yaml) with room for a last call (the SDK's 12 s operation timeout) and the answer.
pub const WORK_BUDGET: Duration = Duration::from_secs(15);

/// The metrics this tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum Metric {
    /// `CPUUtilization`, percent.
    #[default]
    CPUUtilization,
    /// `MemoryUtilization`, percent.
    MemoryUtilization,
}

impl Metric {
    fn name(self) -> &'static str {
        match self {
            Self::CPUUtilization => "CPUUtilization",
            Self::MemoryUtilization => "MemoryUtilization",
        }
    }
}

/// The arguments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsInput {
    /// The ECS service.
    pub service_name: String,
    /// The environment whose cluster to read; every cluster reporting the service when absent.
    #[serde(default)]
    pub environment: Option<String>,
    /// Which metric.
    #[serde(default)]
    pub metric: Metric,
    /// How far back to read.
    #[serde(default = "default_minutes")]
    pub minutes: u32,
}

fn default_minutes() -> u32 {
    60
}

/// One cluster's series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The ECS cluster.
    pub cluster: String,
    /// The datapoints, oldest first.
    pub datapoints: Vec<Datapoint>,
    /// Their average, when there are any.
    pub average: Option<f64>,
    /// Their maximum, when there are any.
    pub maximum: Option<f64>,
}

/// One datapoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datapoint {
    /// RFC 3339.
    pub timestamp: String,
    /// The period's average, percent.
    pub value: f64,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsOutput {
    /// The service.
    pub service_name: String,
    /// The metric.
    pub metric: Metric,
    /// `Percent`.
    pub unit: &'static str,
    /// The window, in minutes.
    pub minutes: u32,
    /// The period of each datapoint, in seconds.
    pub period_seconds: i32,
    /// One series per cluster.
    pub series: Vec<Series>,
}

/// The tool, holding its CloudWatch client and the environment → cluster map.
#[derive(Debug, Clone)]
pub struct GetMetrics {
    cloudwatch: Client,
    clusters: ClusterMap,
}

impl GetMetrics {
    /// The tool over `cloudwatch`, mapping environments to clusters with `clusters`
    /// (`ECS_CLUSTERS`).
    pub fn new(cloudwatch: Client, clusters: ClusterMap) -> Self {
        Self {
            cloudwatch,
            clusters,
        }
    }

    /// Every cluster CloudWatch lists this service's metric under.
    async fn clusters_reporting(&self, input: &MetricsInput) -> Result<Vec<String>, ToolError> {
        let mut clusters = Vec::new();
        let pages = self
            .cloudwatch
            .list_metrics()
            .namespace(NAMESPACE)
            .metric_name(input.metric.name())
            .dimensions(
                DimensionFilter::builder()
                    .name("ServiceName")
                    .value(&input.service_name)
                    .build(),
            )
            .into_paginator()
            .send();
        let bounds = PageBounds {
            max_pages: MAX_PAGES,
            deadline: Some(Instant::now() + WORK_BUDGET),
        };
        let end = read_pages(
            pages,
            bounds,
            |p| p.next_token(),
            |page| {
                clusters.extend(page.metrics().iter().filter_map(|m| {
                    m.dimensions()
                        .iter()
                        .find(|d| d.name() == Some("ClusterName"))
                        .and_then(|d| d.value())
                        .map(ToOwned::to_owned)
                }));
                Flow::Continue
            },
        )
        .await
        .map_err(|e| ToolError::aws("cloudwatch:ListMetrics", &e))?;
        unfinished("cloudwatch:ListMetrics", end)?;
        clusters.sort();
        clusters.dedup();
        Ok(clusters)
    }
}

impl Tool for GetMetrics {
    const NAME: &'static str = "get_metrics";
    const DEFAULT_TARGET: &'static str = "get-metrics";
    const ACCESS: Access = Access::ReadOnly;
    type Settings = ClusterMap;
    type Input = MetricsInput;
    type Resource = Vec<String>;
    type Output = MetricsOutput;

    fn validate(input: &MetricsInput) -> Result<(), ToolError> {
        check_identifier(
            "service_name",
            &input.service_name,
            255,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            "an ECS service name (letters, digits, `-` and `_`, at most 255)",
        )?;
        if !(1..=MAX_MINUTES).contains(&input.minutes) {
            return Err(ToolError::invalid_input(format!(
                "`minutes` is {}; it must be from 1 to {MAX_MINUTES}",
                input.minutes
            )));
        }
        Ok(())
    }

    async fn lookup(&self, input: &MetricsInput) -> Result<Found<Vec<String>>, ToolError> {
        let clusters = match &input.environment {
            Some(environment) => vec![self.clusters.cluster(environment)?.to_owned()],
            None => self.clusters_reporting(input).await?,
        };
        if clusters.is_empty() {
            return Err(ToolError::not_found(format!(
                "CloudWatch has no `{}` for service `{}` in {NAMESPACE}",
                input.metric.name(),
                input.service_name
            )));
        }
        Ok(Found {
            facts: None,
            resource: clusters,
        })
    }

    async fn operate(
        &self,
        input: &MetricsInput,
        clusters: Vec<String>,
        // Reads only: there is nothing to re-check.
        _recheck: &Recheck<'_, Self>,
    ) -> Result<MetricsOutput, ToolError> {
        let period_seconds = if input.minutes <= 360 { 60 } else { 300 };
        let end = SystemTime::now();
        let start = end - Duration::from_secs(u64::from(input.minutes) * 60);
        let queries = clusters
            .iter()
            .enumerate()
            .map(|(i, cluster)| query(i, cluster, input, period_seconds))
            .collect();
        let mut series = self.read_series(&clusters, queries, start, end).await?;
        for s in &mut series {
            s.summarise();
        }
        Ok(MetricsOutput {
            service_name: input.service_name.clone(),
            metric: input.metric,
            unit: "Percent",
            minutes: input.minutes,
            period_seconds,
            series,
        })
    }

    fn summary(out: &MetricsOutput) -> String {
        let parts: Vec<String> = out
            .series
            .iter()
            .map(|s| match (s.average, s.maximum) {
                (Some(avg), Some(max)) => format!(
                    "{}: {} datapoints, average {avg:.1}%, maximum {max:.1}%",
                    s.cluster,
                    s.datapoints.len()
                ),
                _ => format!("{}: no datapoints", s.cluster),
            })
            .collect();
        format!(
            "`{}` {} over the last {} minutes — {}",
            out.service_name,
            out.metric.name(),
            out.minutes,
            parts.join("; ")
        )
    }
}

/// A listing that did not end is an error: a partial series would read as the whole story.
fn unfinished(action: &str, end: PagesEnd) -> Result<(), ToolError> {
    let why = match end {
        PagesEnd::Complete | PagesEnd::Stopped => return Ok(()),
        PagesEnd::PageCap => format!("more than {MAX_PAGES} pages"),
        PagesEnd::OutOfTime => format!("still paging after {} s", WORK_BUDGET.as_secs()),
        PagesEnd::RepeatedToken => "it handed back a page token it had already given".to_owned(),
    };
    Err(ToolError::new(
        ErrorKind::Aws,
        format!("`{action}` did not finish: {why}; nothing partial is reported"),
    ))
}

/// The average of `input.metric` for its service in `cluster`, per period, as query `m<i>`.
fn query(i: usize, cluster: &str, input: &MetricsInput, period_seconds: i32) -> MetricDataQuery {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let metric = CloudWatchMetric::builder()
        .namespace(NAMESPACE)
        .metric_name(input.metric.name())
        .dimensions(dimension("ClusterName", cluster))
        .dimensions(dimension("ServiceName", &input.service_name))
        .build();
    MetricDataQuery::builder()
        .id(format!("m{i}"))
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period_seconds)
                .stat("Average")
                .build(),
        )
        .return_data(true)
        .build()
}

impl Series {
    /// An empty series of `cluster`.
    fn of(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_owned(),
            datapoints: Vec::new(),
            average: None,
            maximum: None,
        }
    }

    /// Sorts the datapoints and works out their average and maximum.
    fn summarise(&mut self) {
        self.datapoints
            .sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        let values: Vec<f64> = self.datapoints.iter().map(|d| d.value).collect();
        if !values.is_empty() {
            let count = f64::from(u32::try_from(values.len()).unwrap_or(u32::MAX));
            self.average = Some(values.iter().sum::<f64>() / count);
            self.maximum = values.iter().copied().reduce(f64::max);
        }
    }
}

impl GetMetrics {
    /// The datapoints of `queries` (query `m<i>` is `clusters[i]`'s) from `start` to `end`,
    /// every page within bounds.
    async fn read_series(
        &self,
        clusters: &[String],
        queries: Vec<MetricDataQuery>,
        start: SystemTime,
        end: SystemTime,
    ) -> Result<Vec<Series>, ToolError> {
        let mut series: Vec<Series> = clusters.iter().map(|c| Series::of(c)).collect();
        let pages = self
            .cloudwatch
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(end))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        let bounds = PageBounds {
            max_pages: MAX_PAGES,
            deadline: Some(Instant::now() + WORK_BUDGET),
        };
        let mut unknown_id = None;
        let ended = read_pages(
            pages,
            bounds,
            |p| p.next_token(),
            |page| {
                for result in page.metric_data_results() {
                    let index = result
                        .id()
                        .and_then(|id| id.strip_prefix('m'))
                        .and_then(|i| i.parse::<usize>().ok());
                    let Some(target) = index.and_then(|i| series.get_mut(i)) else {
                        unknown_id = Some(result.id().unwrap_or_default().to_owned());
                        return Flow::Stop;
                    };
                    for (timestamp, value) in result.timestamps().iter().zip(result.values()) {
                        target.datapoints.push(Datapoint {
                            timestamp: timestamp
                                .fmt(DateTimeFormat::DateTime)
                                .unwrap_or_else(|_| timestamp.to_string()),
                            value: *value,
                        });
                    }
                }
                Flow::Continue
            },
        )
        .await
        .map_err(|e| ToolError::aws("cloudwatch:GetMetricData", &e))?;
        if let Some(id) = unknown_id {
            return Err(ToolError::new(
                ErrorKind::Aws,
                format!("CloudWatch answered an unknown query id `{id}`"),
            ));
        }
        unfinished("cloudwatch:GetMetricData", ended)?;
        Ok(series)
    }
}
