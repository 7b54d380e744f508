//! The `restart_service` Lambda function.

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    agentcore_target::serve(|config| {
        restart_service::RestartService::new(
            aws_sdk_ecs::Client::new(config),
            agentcore_target::config::ClusterMap::from_env(),
        )
    })
    .await
}
