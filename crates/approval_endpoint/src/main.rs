//! The approval endpoint Lambda function, served through its function URL (AuthType AWS_IAM).

use std::sync::Arc;

use approval_endpoint::Endpoint;

#[tokio::main]
async fn main() -> Result<(), lambda_host::Error> {
    lambda_host::init_tracing();
    let endpoint = Arc::new(Endpoint::from_env().await);
    lambda_host::run(move |incoming| {
        let endpoint = Arc::clone(&endpoint);
        async move { endpoint.answer(incoming).await }
    })
    .await
}
