//! The authorizer Lambda function: an AgentCore Gateway interceptor or an API Gateway
//! authorizer, as `AUTHORIZER_FORM` says.

use std::sync::Arc;

use authorizer::Authorizer;

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let authorizer = Arc::new(Authorizer::from_env().await);
    lambda_host::run(move |incoming| {
        let authorizer = Arc::clone(&authorizer);
        async move { authorizer.answer(incoming).await }
    })
    .await
}
