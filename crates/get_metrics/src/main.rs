//! The `get_metrics` Lambda function.

#[tokio::main]
async fn main() -> Result<(), agentcore_target::ServeError> {
    agentcore_target::serve(|config, clusters| {
        get_metrics::GetMetrics::new(aws_sdk_cloudwatch::Client::new(config), clusters)
    })
    .await
}
