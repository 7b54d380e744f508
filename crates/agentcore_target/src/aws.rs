//! The AWS SDK configuration every tool builds its client from.

use std::{collections::BTreeMap, time::Duration};

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

/// Tags as the resource check reads them, from any SDK's `(key, value)` pairs; a tag without a
/// key is no tag, a tag without a value has the empty value.
pub fn tag_map<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(key, value)| Some((key?.to_owned(), value.unwrap_or_default().to_owned())))
        .collect()
}
