//! The operator's side of the tools' controls (`guard stop`, `guard resume`): who the operator
//! is, as AWS authenticated them, and the audit record of each order in CloudWatch Logs. The
//! only part of the `guard` command that talks to AWS; the policy tooling stays offline.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use guard::ControlRecord;

use crate::CliError;

/// The most a reason may hold: a sentence or two, shown to agents and in notifications.
pub const MAX_REASON_CHARS: usize = 500;

/// The SDK configuration from the standard chain (profile, environment, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Who is giving the order: the IAM ARN STS says the credentials belong to. Never a name
/// anyone types.
pub async fn identity(sdk: &SdkConfig) -> Result<String, CliError> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CliError::Identity(guard::with_causes(&e)))?;
    out.arn()
        .map(ToOwned::to_owned)
        .ok_or_else(|| CliError::Identity("STS returned no ARN".to_owned()))
}

/// A reason an operator gave: one line, not empty, at most [`MAX_REASON_CHARS`].
pub fn reason(text: &str) -> Result<&str, CliError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CliError::Usage("--reason must say why"));
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(CliError::Usage("--reason is longer than 500 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(CliError::Usage(
            "--reason must be one line without control characters",
        ));
    }
    Ok(text)
}

/// Where an order's audit record goes: a CloudWatch Logs group, one stream per order.
pub struct ControlLog {
    client: aws_sdk_cloudwatchlogs::Client,
    group: String,
}

impl ControlLog {
    /// The log group `group`.
    pub fn new(sdk: &SdkConfig, group: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_cloudwatchlogs::Client::new(sdk),
            group: group.into(),
        }
    }

    /// Writes `record` as one event of a new stream named for the order and the time.
    pub async fn write(&self, record: &ControlRecord) -> Result<(), CliError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let stream = format!("guard-{}-{}", record.action.as_str(), now.as_nanos());
        let failed = |action: &'static str, message: String| CliError::ControlLog {
            group: self.group.clone(),
            action,
            message,
        };
        self.client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&stream)
            .send()
            .await
            .map_err(|e| failed("logs:CreateLogStream", guard::with_causes(&e)))?;
        let event = InputLogEvent::builder()
            .timestamp(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
            .message(record.line())
            .build()
            .map_err(|e| failed("logs:PutLogEvents", e.to_string()))?;
        self.client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&stream)
            .log_events(event)
            .send()
            .await
            .map_err(|e| failed("logs:PutLogEvents", guard::with_causes(&e)))?;
        Ok(())
    }
}
