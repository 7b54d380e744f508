//! The `get_metrics` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    agentcore_target::serve(|config| {
        get_metrics::GetMetrics::from_env(aws_sdk_cloudwatch::Client::new(config))
    })
    .await
}
