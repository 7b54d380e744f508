//! Budgets counted in DynamoDB, for the Lambda functions (the `dynamodb` feature; the `guard`
//! CLI tests budgets with no SDK).
//!
//! **Slots.** A budget of `limit` operations per `window` for one scope is `limit` items in
//! the budget table, keyed `budget = "<tool>#<budget id>#<scope>"` (partition) and `slot =
//! 0..limit` (sort). Taking a slot is one `PutItem` with the condition
//! `attribute_not_exists(budget) OR expires_at <= :now`, writing `expires_at = now + window`:
//! DynamoDB applies the condition and the write atomically, so two concurrent invocations can
//! never take the same slot, and no read-then-write race exists. A slot is held for a whole
//! window after its operation, so no window ever holds more than `limit` operations (a sliding
//! window, not a fixed one that resets on the hour). `expires_at` is also the table's TTL
//! attribute: DynamoDB deletes long-expired slots itself; the condition never relies on that
//! deletion, which may lag by days.
//!
//! **Giving back.** A call whose operation certainly changed nothing (it failed before any
//! attempt could act, or succeeded without changing anything) gives its slots back, each on
//! the condition that it still holds it: budgets count operations that changed something. A
//! slot kept by mistake only makes a budget stricter; one given back by mistake would let it
//! be exceeded, so in doubt a slot is kept.
//!
//! **Failing closed.** Any error reaching the table, and any problem with the budget file or
//! the settings, makes the decision [`BudgetOutcome::Unavailable`]: the call is refused as an
//! error (in `LOG_ONLY` too). Budgets are off only with `BUDGETS=OFF`, said deliberately.

mod single_use;

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, SdkError},
    operation::{delete_item::DeleteItemError, put_item::PutItemError},
    types::{AttributeValue, ReturnValuesOnConditionCheckFailure},
};
use guard::{BudgetOutcome, Mode, ResourceFacts};

use crate::{
    count::{Counted, Exhausted},
    decide::{Answer, Decide},
    file::{BudgetError, Budgets},
};

pub use single_use::SingleUse;

/// The table's partition key: `<tool>#<budget id>#<scope>`.
pub const KEY: &str = "budget";
/// The table's sort key: the slot number, `0..limit`.
pub const SLOT: &str = "slot";
/// When the slot frees up (seconds since the epoch); also the table's TTL attribute.
pub const EXPIRES_AT: &str = "expires_at";
/// Who holds the slot: the invocation that took it, so only it gives the slot back.
pub const HOLDER: &str = "holder";

/// Why the budgets cannot be counted: every counted call is refused until it is fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// No table is configured and budgets were not switched off.
    #[error(
        "BUDGET_TABLE is not set, so no budget can be counted and every mutating call is refused \
         (set it to the budget table, or set BUDGETS=OFF to run without budgets deliberately)"
    )]
    NoTable,
    /// `BUDGETS` is neither `ON` nor `OFF`.
    #[error("BUDGETS is `{0}`; it must be ON or OFF, so every mutating call is refused")]
    UnknownSwitch(String),
    /// The budget file is broken.
    #[error("the budgets failed to load, so every mutating call is refused: {0}")]
    Budgets(#[from] BudgetError),
    /// The table could not be asked.
    #[error("budget table `{table}`: `{action}` failed: {message}")]
    Table {
        /// The table.
        table: String,
        /// The DynamoDB action (`dynamodb:PutItem`).
        action: &'static str,
        /// What went wrong, with its causes.
        message: String,
    },
}

/// The budgets of a function and where they are counted.
#[derive(Debug)]
pub struct BudgetLedger {
    state: State,
}

#[derive(Debug)]
enum State {
    Off,
    Broken(LedgerError),
    Counting { budgets: Budgets, table: SlotTable },
}

impl BudgetLedger {
    /// Budgets switched off, deliberately (`BUDGETS=OFF`, or tests of other steps).
    pub fn off() -> Self {
        Self { state: State::Off }
    }

    /// `budgets` counted in DynamoDB table `table`.
    pub fn counting(budgets: Budgets, dynamodb: Client, table: impl Into<String>) -> Self {
        Self {
            state: State::Counting {
                budgets,
                table: SlotTable {
                    client: dynamodb,
                    name: table.into(),
                },
            },
        }
    }

    /// A ledger that refuses every counted call with `error`.
    pub fn broken(error: LedgerError) -> Self {
        Self {
            state: State::Broken(error),
        }
    }

    /// The ledger the settings describe: `switch` (`BUDGETS`: unset or `ON`, or exactly
    /// `OFF`), `table` (`BUDGET_TABLE`), the `budgets` loaded, each checked to be for a tool
    /// `declared` knows. A near miss of `OFF` never switches a safety control off: it breaks
    /// the ledger, and every counted call is refused.
    pub fn from_settings(
        switch: Option<&str>,
        table: Option<String>,
        budgets: Result<Budgets, BudgetError>,
        declared: impl Fn(&str) -> bool,
        client: impl FnOnce() -> Client,
    ) -> Self {
        match switch {
            None | Some("ON") => {}
            Some("OFF") => return Self::off(),
            Some(other) => return Self::broken(LedgerError::UnknownSwitch(other.to_owned())),
        }
        let Some(table) = table else {
            return Self::broken(LedgerError::NoTable);
        };
        match budgets.and_then(|b| b.check_tools(&declared).map(|()| b)) {
            Ok(budgets) => Self::counting(budgets, client(), table),
            Err(e) => Self::broken(e.into()),
        }
    }

    /// Whether budgets are switched off.
    pub fn is_off(&self) -> bool {
        matches!(self.state, State::Off)
    }

    /// Why the ledger refuses every counted call, if it does.
    pub fn problem(&self) -> Option<&LedgerError> {
        match &self.state {
            State::Broken(e) => Some(e),
            _ => None,
        }
    }

    /// The budget check: reserves a slot in each budget `tool` counts against for `resource`,
    /// in `mode`, for the invocation `request_id`. `None` when there is nothing to check
    /// (budgets off, or the tool has none). Otherwise the decision, for the caller to audit,
    /// and the slots taken: kept if the call goes on, given back if it does not.
    pub async fn reserve(
        &self,
        request_id: Option<&str>,
        tool: &str,
        resource: &ResourceFacts,
        mode: Mode,
    ) -> Option<(BudgetOutcome, Reservation)> {
        let (budgets, table) = match &self.state {
            State::Off => return None,
            State::Broken(e) => {
                let outcome = BudgetOutcome::Unavailable(e.to_string());
                return Some((outcome, Reservation::default()));
            }
            State::Counting { budgets, table } => (budgets, table),
        };
        let counted = budgets.counted(tool, resource);
        if counted.is_empty() {
            return None;
        }
        let holder = holder(request_id);
        let mut reservation = Reservation::default();
        let mut decide = Decide::new(&counted, mode);
        while let Some(c) = decide.next() {
            match table.take_slot(c, &holder, &resource.id).await {
                Ok(Ok(slot)) => {
                    decide.answer(Answer::Room(Some(slot.number)));
                    reservation.slots.push(slot);
                }
                Ok(Err(full)) => decide.answer(Answer::Full(full)),
                Err(error) => {
                    reservation.give_back().await;
                    let outcome = BudgetOutcome::Unavailable(error.to_string());
                    return Some((outcome, Reservation::default()));
                }
            }
        }
        Some((decide.outcome(), reservation))
    }
}

/// Who takes a slot: the Lambda request id (unique per invocation), and the time, so that two
/// local test harnesses reusing request ids still never mistake each other's slots.
fn holder(request_id: Option<&str>) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}@{nanos}", request_id.unwrap_or("unknown-request"))
}

/// The slots one call took.
#[derive(Debug, Default)]
pub struct Reservation {
    slots: Vec<Slot>,
}

impl Reservation {
    /// Whether the call took any slot.
    pub fn holds_slots(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Deletes every slot taken, each only while this call still holds it. Failures are
    /// logged and keep the slot: over-counting is the safe side.
    pub async fn give_back(&mut self) {
        for slot in self.slots.drain(..) {
            if let Err(e) = slot.give_back().await {
                tracing::warn!(key = %slot.key, slot = slot.number, error = %e,
                    "a budget slot could not be given back; it frees up with its window");
            }
        }
    }
}

#[derive(Debug)]
struct Slot {
    table: SlotTable,
    key: String,
    number: u32,
    holder: String,
}

impl Slot {
    async fn give_back(&self) -> Result<(), LedgerError> {
        let result = self
            .table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key(KEY, AttributeValue::S(self.key.clone()))
            .key(SLOT, AttributeValue::N(self.number.to_string()))
            .condition_expression("#h = :me")
            .expression_attribute_names("#h", HOLDER)
            .expression_attribute_values(":me", AttributeValue::S(self.holder.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone else holds it now: ours had already expired.
            Err(e)
                if e.as_service_error()
                    .is_some_and(DeleteItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(e) => Err(self.table.error("dynamodb:DeleteItem", &e)),
        }
    }
}

/// The budget table.
#[derive(Debug, Clone)]
struct SlotTable {
    client: Client,
    name: String,
}

impl SlotTable {
    /// Takes the first free slot of `counted`, or says the budget is used up and when its
    /// earliest slot frees. `Err` when DynamoDB could not be asked.
    async fn take_slot(
        &self,
        counted: &Counted<'_>,
        holder: &str,
        resource: &str,
    ) -> Result<Result<Slot, Exhausted>, LedgerError> {
        let now = epoch_seconds(SystemTime::now());
        let window = counted.budget.window.as_secs();
        let key = counted.key();
        let mut earliest_free: Option<u64> = None;
        for number in 0..counted.budget.limit {
            let put = self
                .client
                .put_item()
                .table_name(&self.name)
                .item(KEY, AttributeValue::S(key.clone()))
                .item(SLOT, AttributeValue::N(number.to_string()))
                .item(
                    EXPIRES_AT,
                    AttributeValue::N(now.saturating_add(window).to_string()),
                )
                .item("taken_at", AttributeValue::N(now.to_string()))
                .item(HOLDER, AttributeValue::S(holder.to_owned()))
                .item("resource", AttributeValue::S(resource.to_owned()))
                .condition_expression("attribute_not_exists(#k) OR #e <= :now")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#e", EXPIRES_AT)
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                // The holder's expiry comes back with a refusal: when the budget is used up,
                // the earliest one says when a slot frees, without a second read.
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            match put {
                Ok(_) => {
                    return Ok(Ok(Slot {
                        table: self.clone(),
                        key,
                        number,
                        holder: holder.to_owned(),
                    }));
                }
                Err(e) => match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(held)) => {
                        if let Some(expires) = held.item().and_then(expires_at) {
                            earliest_free = Some(earliest_free.map_or(expires, |e| e.min(expires)));
                        }
                    }
                    _ => return Err(self.error("dynamodb:PutItem", &e)),
                },
            }
        }
        let frees_in = earliest_free.map(|at| Duration::from_secs(at.saturating_sub(now)));
        Ok(Err(Exhausted::new(counted, frees_in)))
    }

    /// A failed call to the table, with the SDK's own account of its causes.
    fn error<E, R>(&self, action: &'static str, e: &SdkError<E, R>) -> LedgerError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        LedgerError::Table {
            table: self.name.clone(),
            action,
            message: DisplayErrorContext(e).to_string(),
        }
    }
}

fn expires_at(item: &HashMap<String, AttributeValue>) -> Option<u64> {
    item.get(EXPIRES_AT)?.as_n().ok()?.parse().ok()
}

fn epoch_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
