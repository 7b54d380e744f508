//! The cold-start bar a tool is held to: the echo function plus the AWS SDK set up once, as a
//! tool sets it up, and one EC2 client kept alive in the handler.

use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // The tools' own loader (timeouts on top of the standard chain), not a bare
    // `aws_config::load_from_env()`, so the comparison measures the tool and not the loader.
    let config = agentcore_target::sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let _kept = ec2.clone();
        async move { Ok::<_, Error>(event.payload) }
    }))
    .await
}
