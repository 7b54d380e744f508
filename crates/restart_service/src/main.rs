//! The `restart_service` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let config = agentcore_target::aws::sdk_config().await;
    let tool = restart_service::RestartService::new(
        aws_sdk_ecs::Client::new(&config),
        agentcore_target::config::ClusterMap::from_env(),
    );
    agentcore_target::serve(tool).await
}
