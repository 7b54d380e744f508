//! The stop switch: one item in the budget table. Present: the tools are stopped, and the item
//! says by whom, when and why. Absent: they run. The item has no `expires_at`, so the table's
//! TTL never lifts a stop; only `guard resume` does.
//!
//! **Within seconds.** A function reads the switch with a consistent read at most once per
//! [`STOP_CACHE`] (5 s) per execution environment, so a stop refuses every mutating call that
//! starts more than 5 seconds after `guard stop` returned, in every environment.
//!
//! **Failing closed.** A switch that cannot be read (no table configured, a missing table,
//! access denied, an unreachable endpoint) refuses every mutating call, as an error that says
//! so. A failed read is never cached: the next call asks again.

use std::{
    sync::Mutex,
    time::{Duration, Instant, SystemTime},
};

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, SdkError},
    types::{AttributeValue, ReturnValue},
};
use budget::ledger::{KEY, SLOT};

/// The switch's partition key in the budget table. Upper case and `#`-free tool part: no
/// tool's own keys (`<tool>#…`, snake_case) can ever collide with it, and IAM's
/// `dynamodb:LeadingKeys` can grant it alone.
pub const STOP_KEY: &str = "GUARD#STOP";
/// How long a function trusts one read of the switch: the longest a stop takes to reach it.
pub const STOP_CACHE: Duration = Duration::from_secs(5);

/// Who stopped the tools (an IAM ARN from STS).
const STOPPED_BY: &str = "stopped_by";
/// When (RFC 3339).
const STOPPED_AT: &str = "stopped_at";
/// Why, as the operator wrote it.
const REASON: &str = "reason";

/// Why the switch cannot be read or set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// No table is configured.
    #[error("BUDGET_TABLE is not set, so the stop switch cannot be read")]
    NoTable,
    /// The table could not be asked.
    #[error("stop switch in table `{table}`: `{action}` failed: {message}")]
    Table {
        /// The table.
        table: String,
        /// The DynamoDB action (`dynamodb:GetItem`).
        action: &'static str,
        /// What went wrong, with its causes.
        message: String,
    },
}

/// A stop: who, when, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Who stopped the tools, as AWS authenticated them.
    pub by: String,
    /// When (RFC 3339), as recorded.
    pub at: String,
    /// Why.
    pub reason: String,
}

impl Stopped {
    /// The sentence an agent and an operator read.
    pub fn sentence(&self) -> String {
        format!(
            "the tools are stopped (by `{}` at {}: `{}`); every mutating call is refused until \
             an operator runs `guard resume`",
            self.by, self.at, self.reason
        )
    }
}

/// What the switch says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchState {
    /// The tools run.
    Running,
    /// The tools are stopped.
    Stopped(Stopped),
}

/// The stop switch of one deployment.
#[derive(Debug)]
pub struct StopSwitch {
    state: State,
}

#[derive(Debug)]
enum State {
    /// No switch (tests and examples of other steps only).
    Absent,
    Broken(SwitchError),
    Table {
        client: Client,
        table: String,
        /// The last read and when it was made.
        cache: Mutex<Option<(Instant, SwitchState)>>,
    },
}

impl StopSwitch {
    /// No switch at all: for tests and examples of the other steps, said deliberately. A
    /// deployed function always has one ([`StopSwitch::from_table`]).
    pub fn absent() -> Self {
        Self {
            state: State::Absent,
        }
    }

    /// No table configured: every read is an error, so every mutating call is refused.
    pub fn unconfigured() -> Self {
        Self {
            state: State::Broken(SwitchError::NoTable),
        }
    }

    /// The switch in table `table` (`BUDGET_TABLE`); none configured refuses every call.
    pub fn from_table(table: Option<String>, client: impl FnOnce() -> Client) -> Self {
        match table {
            Some(table) => Self::new(client(), table),
            None => Self::unconfigured(),
        }
    }

    /// The switch in table `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            state: State::Table {
                client,
                table: table.into(),
                cache: Mutex::new(None),
            },
        }
    }

    /// What the switch says, read at most once per [`STOP_CACHE`]; `Err` when it could not be
    /// read (then the caller refuses).
    pub async fn state(&self) -> Result<SwitchState, SwitchError> {
        let (client, table, cache) = match &self.state {
            State::Absent => return Ok(SwitchState::Running),
            State::Broken(e) => return Err(e.clone()),
            State::Table {
                client,
                table,
                cache,
            } => (client, table, cache),
        };
        if let Some(state) = fresh(cache) {
            return Ok(state);
        }
        let read = read(client, table).await?;
        if let Ok(mut cached) = cache.lock() {
            *cached = Some((Instant::now(), read.clone()));
        }
        Ok(read)
    }

    /// Stops the tools: `by` (who, as AWS authenticated them), `reason`. Stopping again
    /// replaces the record of who and why.
    pub async fn stop(&self, by: &str, reason: &str) -> Result<Stopped, SwitchError> {
        let (client, table) = self.table()?;
        let stopped = Stopped {
            by: by.to_owned(),
            at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            reason: reason.to_owned(),
        };
        client
            .put_item()
            .table_name(table)
            .item(KEY, AttributeValue::S(STOP_KEY.to_owned()))
            .item(SLOT, AttributeValue::N("0".to_owned()))
            .item(STOPPED_BY, AttributeValue::S(stopped.by.clone()))
            .item(STOPPED_AT, AttributeValue::S(stopped.at.clone()))
            .item(REASON, AttributeValue::S(stopped.reason.clone()))
            .send()
            .await
            .map_err(|e| error(table, "dynamodb:PutItem", &e))?;
        Ok(stopped)
    }

    /// Lifts the stop; the stop it lifted, if the tools were stopped.
    pub async fn resume(&self) -> Result<Option<Stopped>, SwitchError> {
        let (client, table) = self.table()?;
        let out = client
            .delete_item()
            .table_name(table)
            .key(KEY, AttributeValue::S(STOP_KEY.to_owned()))
            .key(SLOT, AttributeValue::N("0".to_owned()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| error(table, "dynamodb:DeleteItem", &e))?;
        Ok(out.attributes().map(stopped))
    }

    fn table(&self) -> Result<(&Client, &str), SwitchError> {
        match &self.state {
            State::Table { client, table, .. } => Ok((client, table)),
            State::Broken(e) => Err(e.clone()),
            State::Absent => Err(SwitchError::NoTable),
        }
    }
}

/// The cached state, if read less than [`STOP_CACHE`] ago.
fn fresh(cache: &Mutex<Option<(Instant, SwitchState)>>) -> Option<SwitchState> {
    let cached = cache.lock().ok()?;
    let (at, state) = cached.as_ref()?;
    (at.elapsed() < STOP_CACHE).then(|| state.clone())
}

async fn read(client: &Client, table: &str) -> Result<SwitchState, SwitchError> {
    let out = client
        .get_item()
        .table_name(table)
        .key(KEY, AttributeValue::S(STOP_KEY.to_owned()))
        .key(SLOT, AttributeValue::N("0".to_owned()))
        // A stop must reach every function within STOP_CACHE, not whenever a replica catches up.
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| error(table, "dynamodb:GetItem", &e))?;
    Ok(match out.item() {
        None => SwitchState::Running,
        Some(item) => SwitchState::Stopped(stopped(item)),
    })
}

/// The stop an item records. An item whose fields are missing still stops: its presence is the
/// switch, its fields only explain it.
fn stopped(item: &std::collections::HashMap<String, AttributeValue>) -> Stopped {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_else(|| "(not recorded)".to_owned())
    };
    Stopped {
        by: text(STOPPED_BY),
        at: text(STOPPED_AT),
        reason: text(REASON),
    }
}

fn error<E, R>(table: &str, action: &'static str, e: &SdkError<E, R>) -> SwitchError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    SwitchError::Table {
        table: table.to_owned(),
        action,
        message: DisplayErrorContext(e).to_string(),
    }
}

#[cfg(test)]
mod tests;
