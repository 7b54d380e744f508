//! `guard stop --reason TEXT` and `guard resume`: the operators' stop switch. While stopped,
//! every mutating call of every tool is refused (within `oversight::STOP_CACHE`), with who
//! stopped them and why; read-only tools keep working.
//!
//! Each order is made under the operator's own AWS credentials: who they are comes from STS,
//! and the order's audit record goes to the control log group (`GUARD_CONTROL_LOG_GROUP`),
//! where the template alarms on it. A stop is made first and audited after (a missing or
//! failing log group never delays a stop; it fails the command, exit 1, after stopping). A
//! resume is audited first: without its record, nothing is resumed.

use std::process::ExitCode;

use guard::{ControlAction, ControlRecord};
use oversight::{STOP_CACHE, StopSwitch};

use crate::{
    CliError,
    control::{self, ControlLog},
};

/// Where the switch and the audit records are.
#[derive(Debug, Clone)]
pub struct Target {
    /// The budget table (`--table`, `BUDGET_TABLE`).
    pub table: Option<String>,
    /// The control log group (`--control-log-group`, `GUARD_CONTROL_LOG_GROUP`).
    pub log_group: Option<String>,
}

/// `guard stop`.
pub fn run_stop(target: &Target, reason: &str) -> Result<ExitCode, CliError> {
    let reason = control::reason(reason)?;
    let table = table(target)?;
    runtime()?.block_on(async {
        let sdk = control::sdk_config().await;
        let by = control::identity(&sdk).await?;
        let switch = StopSwitch::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        let stopped = switch.stop(&by, reason).await?;
        println!(
            "STOPPED by {} at {}: every mutating call of every tool is refused within {} s; \
             read-only tools keep working. `guard resume` lifts it.",
            stopped.by,
            stopped.at,
            STOP_CACHE.as_secs()
        );
        let record = ControlRecord::new(ControlAction::Stop, by).reason(reason);
        audit(&sdk, target, &record).await
    })
}

/// `guard resume`.
pub fn run_resume(target: &Target) -> Result<ExitCode, CliError> {
    let table = table(target)?;
    let group = target.log_group.as_deref().ok_or(CliError::Usage(
        "a resume is audited before it is made: give --control-log-group or set \
             GUARD_CONTROL_LOG_GROUP",
    ))?;
    runtime()?.block_on(async {
        let sdk = control::sdk_config().await;
        let by = control::identity(&sdk).await?;
        let record = ControlRecord::new(ControlAction::Resume, by.clone());
        ControlLog::new(&sdk, group).write(&record).await?;
        println!("{}", record.line());
        let switch = StopSwitch::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        match switch.resume().await? {
            Some(lifted) => println!(
                "RESUMED by {by}: the stop by {} at {} (`{}`) is lifted; mutating calls are \
                 decided again within {} s",
                lifted.by,
                lifted.at,
                lifted.reason,
                STOP_CACHE.as_secs()
            ),
            None => println!("the tools were not stopped; nothing to resume"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Writes the stop's audit record; exit 1 when it could not be written (the stop stands).
async fn audit(
    sdk: &aws_config::SdkConfig,
    target: &Target,
    record: &ControlRecord,
) -> Result<ExitCode, CliError> {
    println!("{}", record.line());
    let Some(group) = target.log_group.as_deref() else {
        eprintln!(
            "warning: the tools are stopped, but no control log group is set \
             (--control-log-group or GUARD_CONTROL_LOG_GROUP): this order was not audited \
             in CloudWatch Logs and no alarm will say it"
        );
        return Ok(ExitCode::FAILURE);
    };
    match ControlLog::new(sdk, group).write(record).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("warning: the tools are stopped, but the audit record was not written: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn table(target: &Target) -> Result<&str, CliError> {
    target.table.as_deref().ok_or(CliError::Usage(
        "no budget table: give --table or set BUDGET_TABLE (the stack's BudgetTableName output)",
    ))
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(e.to_string()))
}
