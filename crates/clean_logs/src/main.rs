//! The `clean_logs` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let config = agentcore_target::aws::sdk_config().await;
    let tool = clean_logs::CleanLogs::new(aws_sdk_cloudwatchlogs::Client::new(&config));
    agentcore_target::serve(tool).await
}
