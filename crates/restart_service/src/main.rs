//! The `restart_service` Lambda function.

#[tokio::main]
async fn main() -> Result<(), agentcore_target::ServeError> {
    agentcore_target::serve(|config, clusters| {
        restart_service::RestartService::new(aws_sdk_ecs::Client::new(config), clusters)
    })
    .await
}
