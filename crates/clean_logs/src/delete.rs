//! The deletions themselves: oldest first, the group re-checked between them.

use std::time::Instant;

use agentcore_target::{Recheck, ToolError};

use crate::{
    CleanLogs, CleanOutput, RECHECK_EVERY, RECHECK_INTERVAL,
    report::{partly_done, stopped},
    scan::OldStream,
};

impl CleanLogs {
    /// Deletes the `confirmed` streams of `group`, in order, into `output`; the group is read
    /// and checked again every [`RECHECK_EVERY`] deletions or [`RECHECK_INTERVAL`]. Stops at
    /// the first deny or failure, saying exactly what is gone, and before the work budget
    /// runs out, saying what remains.
    pub(crate) async fn delete(
        &self,
        group: &str,
        confirmed: &[OldStream],
        output: &mut CleanOutput,
        recheck: &Recheck<'_, Self>,
        started: Instant,
    ) -> Result<(), ToolError> {
        // The resource check that let this call in happened before the scan: the first
        // deletion is re-checked too once the scan has taken longer than the interval.
        let mut checked = started;
        for (done, stream) in confirmed.iter().enumerate() {
            if started.elapsed() >= self.budget {
                output.out_of_time = true;
                output.remaining_old_streams += confirmed.len() - done;
                break;
            }
            if (done > 0 && done % RECHECK_EVERY == 0) || checked.elapsed() >= RECHECK_INTERVAL {
                if let Err(stop) = recheck.confirm().await {
                    return Err(stopped(group, &output.deleted, confirmed.len(), &stop));
                }
                checked = Instant::now();
            }
            if let Err(e) = self
                .logs
                .delete_log_stream()
                .log_group_name(group)
                .log_stream_name(&stream.name)
                .send()
                .await
            {
                let cause = ToolError::aws("logs:DeleteLogStream", &e);
                return Err(partly_done(
                    group,
                    &output.deleted,
                    &stream.name,
                    confirmed.len(),
                    &cause,
                ));
            }
            output.deleted.push(stream.name.clone());
            output.bytes_freed_reported = output
                .bytes_freed_reported
                .saturating_add(stream.stored_bytes);
        }
        Ok(())
    }
}
