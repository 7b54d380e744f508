//! The `terminate_instance` Lambda function.

#[tokio::main]
async fn main() -> Result<(), agentcore_target::ServeError> {
    agentcore_target::serve(|config, ()| {
        terminate_instance::TerminateInstance::new(aws_sdk_ec2::Client::new(config))
    })
    .await
}
