//! `guard approve ID` and `guard reject ID`: a person's answer to a call waiting for one.
//!
//! Who answers is who AWS says the credentials belong to, never a name anyone types. Two ways:
//!
//! - **Through the approval endpoint** (`--endpoint URL`, or `GUARD_APPROVAL_URL`; deployed
//!   stacks): the summary is fetched from the endpoint's function URL and the decision sent to
//!   it, both SigV4-signed ([`signed`]). Lambda verifies the signature and hands the endpoint the
//!   signer's IAM ARN, which the endpoint records; it audits the answer first and asks the
//!   policies whether the approver may approve. The operators' role holds no write on the
//!   approvals, so nothing else can record a decision in their name.
//! - **Directly in the table** (without `--endpoint`; the local demo and the emulator, which
//!   serves no function URLs): who answers is STS's answer for the credentials, the answer is
//!   audited in the control log group, then written with the operator's own credentials.
//!
//! Either way the person sees the request's one-screen summary first, and confirms (or passes
//! `--yes` after reading it elsewhere, e.g. in the notification). Nobody answers their own
//! call: refused with a clear message, and refused by the table's conditional write whatever
//! client writes. Without its audit record, nothing is decided.

mod signed;

use std::{io::BufRead, process::ExitCode, time::SystemTime};

use guard::{ControlAction, ControlRecord, Guard};
use oversight::{Approvals, Verdict, same_person};
use serde_json::Value;

pub use signed::{ApprovalEndpoint, SERVICE, signed_request};

use crate::{
    CliError,
    command::stop::Target,
    control::{self, ControlLog},
};

/// `GUARD_APPROVAL_URL`: the approval endpoint's function URL (the stack's
/// ApprovalEndpointUrl output), for `--endpoint`.
pub const APPROVAL_URL_VAR: &str = "GUARD_APPROVAL_URL";

/// `guard approve` (`verdict` approve) or `guard reject`: through the approval endpoint at
/// `endpoint`, or directly in `target`'s table without one.
pub fn run(
    target: &Target,
    guard: &Guard,
    id: &str,
    verdict: Verdict,
    yes: bool,
    endpoint: Option<&str>,
) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    match endpoint {
        Some(url) => runtime.block_on(async {
            let sdk = control::sdk_config().await;
            let endpoint = ApprovalEndpoint::from_sdk(url, &sdk).await?;
            through_endpoint(&endpoint, id, verdict, yes).await
        }),
        None => run_direct(&runtime, target, guard, id, verdict, yes),
    }
}

/// Through the approval endpoint: its summary, the person's confirmation, its decision.
pub async fn through_endpoint(
    endpoint: &ApprovalEndpoint,
    id: &str,
    verdict: Verdict,
    yes: bool,
) -> Result<ExitCode, CliError> {
    let shown = endpoint.show(id).await?;
    let text = |v: &Value, field: &str| {
        v.get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    println!("{}\n", text(&shown, "summary"));
    let word = word(verdict);
    let by = text(&shown, "asked_by");
    if !yes && !confirmed(&format!("{word} it as {by}?"))? {
        println!("nothing decided");
        return Ok(ExitCode::FAILURE);
    }
    let decided = endpoint.decide(id, verdict).await?;
    println!("{}: {}", word.to_uppercase(), text(&decided, "message"));
    Ok(ExitCode::SUCCESS)
}

/// The verdict as the endpoint's body and the prompt say it.
fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Approve => "approve",
        Verdict::Reject => "reject",
    }
}

/// Directly in the table, with the operator's own credentials.
fn run_direct(
    runtime: &tokio::runtime::Runtime,
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
        // refused now, not when the agent calls again (the endpoint asks the same).
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
