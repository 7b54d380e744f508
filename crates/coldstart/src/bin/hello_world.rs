//! The cold-start reference: `lambda_runtime`'s basic example with an echo handler, nothing else.

use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(echo)).await
}
