//! The `get_metrics` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let config = agentcore_target::aws::sdk_config().await;
    let tool = get_metrics::GetMetrics::from_env(aws_sdk_cloudwatch::Client::new(&config));
    agentcore_target::serve(tool).await
}
