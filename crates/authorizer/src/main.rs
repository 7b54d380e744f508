//! The authorizer Lambda function: an AgentCore Gateway interceptor or an API Gateway
//! authorizer, as `AUTHORIZER_FORM` says.

use std::sync::Arc;

use authorizer::Authorizer;

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let authorizer = Arc::new(Authorizer::from_env());
    lambda_host::run(move |event| {
        let authorizer = Arc::clone(&authorizer);
        async move { authorizer.handle(event) }
    })
    .await
}
