//! `guard approve ID` and `guard reject ID`: a person's answer to a call waiting for one.
//!
//! Who answers is who AWS says the credentials belong to (STS), never a name anyone types;
//! whether the policies would let the call run on their approval is asked first. The
//! person sees the request's one-screen summary first, and confirms (or passes `--yes` after
//! reading it elsewhere, e.g. in the notification). Nobody answers their own call: refused here
//! with a clear message, and refused by the table's conditional write whatever client writes.
//! Each answer is audited in the control log group before it is recorded: without its audit
//! record, nothing is decided.

use std::{io::BufRead, process::ExitCode, time::SystemTime};

use guard::{ControlAction, ControlRecord, Guard};
use oversight::{Approvals, Verdict, same_person};

use crate::{
    CliError,
    command::stop::Target,
    control::{self, ControlLog},
};

/// `guard approve` (`verdict` approve) or `guard reject`.
pub fn run(
    target: &Target,
    guard: &Guard,
    id: &str,
    verdict: Verdict,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let table = target.table.as_deref().ok_or(CliError::Usage(
        "no budget table: give --table or set BUDGET_TABLE (the stack's BudgetTableName output)",
    ))?;
    let group = target.log_group.as_deref().ok_or(CliError::Usage(
        "an answer is audited before it is recorded: give --control-log-group or set \
         GUARD_CONTROL_LOG_GROUP",
    ))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    runtime.block_on(async {
        let sdk = control::sdk_config().await;
        let by = control::identity(&sdk).await?;
        let approvals = Approvals::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        let request = approvals.read(id).await?;
        println!("{}\n", request.summary());
        if same_person(&request, &by) {
            return Err(oversight::ApprovalError::SelfApproval {
                id: request.id,
                approver: by,
                caller: request.caller,
            }
            .into());
        }
        // Who may approve is the policies' decision: an approval they would not honour is
        // refused now, not when the agent calls again.
        if verdict == Verdict::Approve {
            oversight::may_approve(guard, &request, &by)?;
        }
        let (word, action) = match verdict {
            Verdict::Approve => ("approve", ControlAction::Approve),
            Verdict::Reject => ("reject", ControlAction::Reject),
        };
        if !yes && !confirmed(&format!("{word} it as {by}?"))? {
            println!("nothing decided");
            return Ok(ExitCode::FAILURE);
        }
        let record = ControlRecord::new(action, by.clone()).request(&request.id);
        ControlLog::new(&sdk, group).write(&record).await?;
        println!("{}", record.line());
        let decided = approvals
            .decide(&request.id, &by, verdict, SystemTime::now())
            .await?;
        println!(
            "{}: {} is now {} by {by}; {}",
            word.to_uppercase(),
            decided.id,
            match verdict {
                Verdict::Approve => "approved",
                Verdict::Reject => "rejected",
            },
            match verdict {
                Verdict::Approve =>
                    "the agent may now call the tool again naming this request, once, before it expires",
                Verdict::Reject => "the call will not run",
            }
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// Asks `question` on standard error and reads `y`/`yes` from standard input.
fn confirmed(question: &str) -> Result<bool, CliError> {
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|source| CliError::Read {
            file: "stdin".to_owned(),
            source,
        })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
