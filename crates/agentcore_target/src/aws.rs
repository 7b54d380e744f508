//! The AWS SDK configuration every tool builds its client from.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};

/// How long one attempt of an AWS call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an AWS call may take, retries included; inside the function's 30 s timeout, so a
/// slow AWS answer is a clear tool error rather than a killed invocation.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);

/// The standard chain (region, credentials, `AWS_ENDPOINT_URL`), standard retries, and the
/// timeouts above.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}
