//! The `terminate_instance` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let config = agentcore_target::aws::sdk_config().await;
    let tool = terminate_instance::TerminateInstance::new(aws_sdk_ec2::Client::new(&config));
    agentcore_target::serve(tool).await
}
