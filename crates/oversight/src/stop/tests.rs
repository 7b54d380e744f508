use aws_sdk_dynamodb::{
    Client,
    operation::{
        delete_item::DeleteItemOutput,
        get_item::{GetItemError, GetItemOutput},
        put_item::PutItemOutput,
    },
    types::error::ResourceNotFoundException,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::*;

fn stop_item() -> std::collections::HashMap<String, AttributeValue> {
    [
        (KEY, STOP_KEY),
        (STOPPED_BY, "arn:aws:iam::111122223333:user/oncall"),
        (STOPPED_AT, "2026-12-03T02:37:00Z"),
        (REASON, "agent looping on staging"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
    .collect()
}

#[tokio::test]
async fn an_item_means_stopped_and_says_by_whom_and_why() {
    let get = mock!(Client::get_item)
        .match_requests(|r| {
            r.consistent_read() == Some(true)
                && r.key().and_then(|k| k.get(KEY)) == Some(&AttributeValue::S(STOP_KEY.into()))
        })
        .then_output(|| GetItemOutput::builder().set_item(Some(stop_item())).build());
    let switch = StopSwitch::new(mock_client!(aws_sdk_dynamodb, [&get]), "t");
    let SwitchState::Stopped(stopped) = switch.state().await.unwrap() else {
        panic!("running")
    };
    assert_eq!(stopped.by, "arn:aws:iam::111122223333:user/oncall");
    assert!(
        stopped.sentence().contains("`agent looping on staging`"),
        "{}",
        stopped.sentence()
    );
    assert_eq!(get.num_calls(), 1);
}

#[tokio::test]
async fn no_item_means_running_and_a_read_is_trusted_for_the_cache_period() {
    let get = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let switch = StopSwitch::new(mock_client!(aws_sdk_dynamodb, [&get]), "t");
    for _ in 0..3 {
        assert_eq!(switch.state().await.unwrap(), SwitchState::Running);
    }
    assert_eq!(get.num_calls(), 1, "read once per {STOP_CACHE:?}");
}

#[tokio::test]
async fn an_unreadable_switch_is_an_error_and_is_asked_again_next_time() {
    let get = mock!(Client::get_item).then_error(|| {
        GetItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Requested resource not found")
                .build(),
        )
    });
    let switch = StopSwitch::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get]),
        "t",
    );
    for _ in 0..2 {
        let e = switch.state().await.unwrap_err();
        assert!(e.to_string().contains("`dynamodb:GetItem` failed"), "{e}");
    }
    assert_eq!(get.num_calls(), 2, "a failure is never cached");
}

#[tokio::test]
async fn without_a_table_the_switch_cannot_be_read_or_set() {
    let get = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let switch = StopSwitch::from_table(None, || mock_client!(aws_sdk_dynamodb, [&get]));
    assert_eq!(switch.state().await, Err(SwitchError::NoTable));
    assert_eq!(switch.stop("me", "why").await, Err(SwitchError::NoTable));
    assert_eq!(get.num_calls(), 0);
}

#[tokio::test]
async fn stop_writes_who_and_why_and_resume_returns_the_stop_it_lifted() {
    let put = mock!(Client::put_item)
        .match_requests(|r| {
            let item = r.item().cloned().unwrap_or_default();
            item.get(KEY) == Some(&AttributeValue::S(STOP_KEY.into()))
                && item.get(REASON) == Some(&AttributeValue::S("incident 42".into()))
                && item.get(STOPPED_BY) == Some(&AttributeValue::S("arn:me".into()))
                // A stop must never expire by the table's TTL.
                && !item.contains_key(budget::ledger::EXPIRES_AT)
        })
        .then_output(|| PutItemOutput::builder().build());
    let delete = mock!(Client::delete_item).then_output(|| {
        DeleteItemOutput::builder()
            .set_attributes(Some(stop_item()))
            .build()
    });
    let switch = StopSwitch::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&put, &delete]),
        "t",
    );
    let stopped = switch.stop("arn:me", "incident 42").await.unwrap();
    assert_eq!(stopped.reason, "incident 42");
    let lifted = switch.resume().await.unwrap().unwrap();
    assert_eq!(lifted.reason, "agent looping on staging");
    assert_eq!((put.num_calls(), delete.num_calls()), (1, 1));
}
