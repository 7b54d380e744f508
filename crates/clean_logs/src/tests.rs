use aws_sdk_cloudwatchlogs::types::LogStream;

use crate::{report::partly_done, scan::OldStream};
use agentcore_target::{ErrorKind, ToolError};

fn stream(name: &str, created: Option<i64>, last_event: Option<i64>) -> LogStream {
    LogStream::builder()
        .log_stream_name(name)
        .set_creation_time(created)
        .set_last_event_timestamp(last_event)
        .build()
}

#[test]
fn a_stream_is_as_old_as_its_last_event_or_its_creation_when_empty() {
    let cutoff = 1_000;
    assert!(OldStream::read(&stream("old", Some(10), Some(999)), cutoff).is_some());
    assert!(OldStream::read(&stream("fresh", Some(10), Some(1_000)), cutoff).is_none());
    // Created long ago but written to since: its last event decides.
    assert!(OldStream::read(&stream("busy", Some(10), Some(5_000)), cutoff).is_none());
    assert!(OldStream::read(&stream("empty-old", Some(10), None), cutoff).is_some());
    assert!(OldStream::read(&stream("empty-new", Some(2_000), None), cutoff).is_none());
    assert!(OldStream::read(&stream("undated", None, None), cutoff).is_none());
}

#[test]
fn a_stream_ingested_recently_is_not_old_whatever_its_events_say() {
    let cutoff = 1_000;
    let backdated = LogStream::builder()
        .log_stream_name("backdated")
        .creation_time(10)
        .last_event_timestamp(20)
        .last_ingestion_time(5_000)
        .build();
    assert!(OldStream::read(&backdated, cutoff).is_none());
    let ingested_only = LogStream::builder()
        .log_stream_name("ingested")
        .creation_time(10)
        .last_ingestion_time(5_000)
        .build();
    assert!(OldStream::read(&ingested_only, cutoff).is_none());
}

#[test]
fn a_partial_failure_names_everything_already_deleted() {
    let cause = ToolError::new(ErrorKind::Throttled, "`logs:DeleteLogStream` failed: x");
    let err = partly_done("/g", &["a".to_owned(), "b".to_owned()], "c", 4, &cause);
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(
        err.message,
        "partly done: deleted 2 of 4 old log streams of `/g` (`a`, `b`); then `c` could not be deleted (`logs:DeleteLogStream` failed: x), so it and 1 more remain"
    );
    let err = partly_done("/g", &[], "a", 1, &cause);
    assert!(
        err.message
            .starts_with("nothing was deleted: `a`, the first of 1 old log stream of `/g`")
    );
}
