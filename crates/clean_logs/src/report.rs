//! What a clean says: the summary of a result, and the errors of one that stopped part way.

use agentcore_target::{Stop, ToolError};

use crate::{CleanOutput, MAX_SCANNED_STREAMS};

/// One sentence about a result, for a person.
pub(crate) fn summary(out: &CleanOutput) -> String {
    let group = &out.log_group;
    let days = out.older_than_days;
    let mut notes = String::new();
    if out.remaining_old_streams > 0 {
        let remain = match out.remaining_old_streams {
            1 => "1 more old log stream remains".to_owned(),
            n => format!("{n} more old log streams remain"),
        };
        notes.push_str(&format!(
            "; {remain} beyond the cap of {} per call",
            out.max_streams
        ));
    }
    if !out.scan_complete {
        notes.push_str(&format!(
            "; not every stream was read (more than {MAX_SCANNED_STREAMS}, or time ran out), so more old ones may remain"
        ));
    }
    if out.out_of_time {
        notes.push_str("; stopped early to answer before the function's timeout");
    }
    if !out.kept_with_newer_events.is_empty() {
        notes.push_str(&format!(
            "; kept {} that looked old but hold newer events",
            out.kept_with_newer_events.len()
        ));
    }
    let handled = if out.dry_run {
        out.would_delete.len()
    } else {
        out.deleted.len()
    };
    match (out.dry_run, handled) {
        (true, 0) => format!(
            "dry run: no log stream of `{group}` is older than {days} days (no event since {}); nothing would be deleted{notes}",
            out.cutoff
        ),
        (true, n) => format!(
            "dry run: {} of `{group}` (no event since {}) would be deleted{notes}; nothing was changed",
            streams(n),
            out.cutoff
        ),
        (false, 0) => format!(
            "no log stream of `{group}` is older than {days} days (no event since {}); nothing to do{notes}",
            out.cutoff
        ),
        (false, n) => format!(
            "deleted {} of `{group}` (no event since {}, {days} days){notes}",
            streams(n),
            out.cutoff
        ),
    }
}

/// The error for a deletion that failed after `deleted` had been deleted: it says exactly
/// what is gone, so a half-done clean is never mistaken for success or for nothing.
pub(crate) fn partly_done(
    group: &str,
    deleted: &[String],
    failed: &str,
    total: usize,
    cause: &ToolError,
) -> ToolError {
    let message = if deleted.is_empty() {
        format!(
            "nothing was deleted: `{failed}`, the first of {} of `{group}`, could not be deleted ({})",
            streams(total),
            cause.message
        )
    } else {
        let names: Vec<String> = deleted.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "partly done: deleted {} of {} old log streams of `{group}` ({}); then `{failed}` could not be deleted ({}), so it and {} more remain",
            deleted.len(),
            total,
            names.join(", "),
            cause.message,
            total.saturating_sub(deleted.len()).saturating_sub(1)
        )
    };
    ToolError::new(cause.kind, message)
}

/// The error for a clean that a re-check stopped: what was deleted before, and why it stopped.
pub(crate) fn stopped(group: &str, deleted: &[String], total: usize, stop: &Stop) -> ToolError {
    let done = if deleted.is_empty() {
        "nothing was deleted".to_owned()
    } else {
        let names: Vec<String> = deleted.iter().map(|n| format!("`{n}`")).collect();
        format!(
            "deleted {} of {} old log streams of `{group}` ({}) before",
            deleted.len(),
            total,
            names.join(", ")
        )
    };
    ToolError::stopped(
        stop.clone(),
        format!(
            "stopped: {done} a re-check of the group denied going on ({}); the rest remain",
            stop.reason()
        ),
    )
}

pub(crate) fn streams(n: usize) -> String {
    if n == 1 {
        "1 old log stream".to_owned()
    } else {
        format!("{n} old log streams")
    }
}
