//! The `clean_logs` Lambda function.

#[tokio::main]
async fn main() -> Result<(), agentcore_target::ServeError> {
    agentcore_target::serve(|config, settings| {
        clean_logs::CleanLogs::new(aws_sdk_cloudwatchlogs::Client::new(config), settings)
    })
    .await
}
