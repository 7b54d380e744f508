//! What the attempts of one mutating call did, across the SDK's retries (issue 18, item 13):
//! a budget slot goes back only when AWS refused every attempt before it could act.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that cannot do its job fails the test"
)]

use std::time::Duration;

use agentcore_target::{Attempts, ToolError};
use aws_sdk_ec2::{
    Client, config::retry::RetryConfig, error::ErrorMetadata,
    operation::terminate_instances::TerminateInstancesError,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

fn throttled() -> TerminateInstancesError {
    TerminateInstancesError::generic(
        ErrorMetadata::builder()
            .code("RequestLimitExceeded")
            .message("Request limit exceeded.")
            .build(),
    )
}

/// Terminates one instance against `rule` with the SDK's standard retries (3 attempts).
async fn terminate(rule: &Rule) -> (ToolError, Attempts<TerminateInstancesError>) {
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [rule], |c| c
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(2))
        ));
    let attempts = Attempts::<TerminateInstancesError>::new();
    let err = ec2
        .terminate_instances()
        .instance_ids("i-0abc1234")
        .customize()
        .interceptor(attempts.clone())
        .send()
        .await
        .unwrap_err();
    let error = ToolError::aws_attempted("ec2:TerminateInstances", &err, &attempts);
    (error, attempts)
}

#[tokio::test]
async fn a_server_error_that_may_have_acted_keeps_the_slot_though_the_last_attempt_was_throttled() {
    let rule = mock!(Client::terminate_instances)
        .sequence()
        .http_status(500, None)
        .error(throttled)
        .times(2)
        .build();
    let (error, attempts) = terminate(&rule).await;
    assert_eq!(attempts.made(), 3, "{attempts:?}");
    assert_eq!(
        error.kind,
        agentcore_target::ErrorKind::Throttled,
        "{error:?}"
    );
    assert!(!error.changed_nothing, "{error:?}");
}

#[tokio::test]
async fn attempts_all_refused_before_acting_give_the_slot_back() {
    let rule = mock!(Client::terminate_instances)
        .sequence()
        .error(throttled)
        .times(3)
        .build();
    let (error, attempts) = terminate(&rule).await;
    assert_eq!(attempts.made(), 3, "{attempts:?}");
    assert!(error.changed_nothing, "{error:?}");
}

#[tokio::test]
async fn an_unclassified_failure_keeps_the_slot() {
    let rule = mock!(Client::terminate_instances)
        .sequence()
        .http_status(500, None)
        .times(3)
        .build();
    let (error, attempts) = terminate(&rule).await;
    assert_eq!(attempts.made(), 3, "{attempts:?}");
    assert!(!error.changed_nothing, "{error:?}");
}

#[test]
fn an_error_without_attempts_never_claims_to_have_changed_nothing() {
    let error = ToolError::new(agentcore_target::ErrorKind::Throttled, "throttled");
    assert!(!error.changed_nothing);
    assert!(ToolError::invalid_input("bad").changed_nothing);
}
