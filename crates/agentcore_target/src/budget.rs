//! The budget step of the tool path (issue 12): after both checks allow and before the
//! operation, reserve one slot in each of the tool's budgets, atomically, in DynamoDB.
//!
//! **Slots.** A budget of `limit` operations per `window` for one scope is `limit` items in
//! the budget table, keyed `budget = "<tool>#<budget id>#<scope>"` (partition) and `slot =
//! 0..limit` (sort). Taking a slot is one `PutItem` with the condition
//! `attribute_not_exists(budget) OR expires_at <= :now`, writing `expires_at = now + window`:
//! DynamoDB applies the condition and the write atomically, so two concurrent invocations can
//! never take the same slot, and no read-then-write race exists. A slot is held for a whole
//! window after its operation, so no window ever holds more than `limit` operations (a sliding
//! window, not a fixed one that resets on the hour). `expires_at` is also the table's TTL
//! attribute: DynamoDB deletes long-expired slots (of resources no longer touched) itself; the
//! condition never relies on that deletion, which may lag by days.
//!
//! **Giving back.** An operation that failed and certainly changed nothing
//! ([`crate::ToolError::changed_nothing`]: nothing was called, or AWS refused every attempt of
//! the mutating call before it acted), or that succeeded without changing anything
//! ([`crate::Tool::changed`]: the instance was already terminated, no stream was old enough),
//! deletes its slots again, each on the condition that it still holds it: budgets count
//! operations that changed something. A slot kept by mistake only makes a budget stricter; one
//! given back by mistake would let it be exceeded, so in doubt a slot is kept.
//!
//! **Failing closed.** Any error reaching the table, and any problem with the budget file or
//! the configuration, refuses the call as an error (in `LOG_ONLY` too). Budgets are off only
//! with `BUDGETS=OFF`, said deliberately.

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_sdk_dynamodb::{
    Client,
    operation::put_item::PutItemError,
    types::{AttributeValue, ReturnValuesOnConditionCheckFailure},
};
use budget::{BudgetError, Budgets, Counted, Exhausted};
use guard::{BudgetCount, BudgetOutcome, Decision, Guard, ResourceFacts, ToolCall};

use crate::error::ToolError;

/// `BUDGET_TABLE`: the DynamoDB table the budgets are counted in.
pub const TABLE_VAR: &str = "BUDGET_TABLE";
/// `BUDGETS`: `ON` (the default) or `OFF`, the only way to run without budgets.
pub const SWITCH_VAR: &str = "BUDGETS";

/// The table's partition key: `<tool>#<budget id>#<scope>`.
pub const KEY: &str = "budget";
/// The table's sort key: the slot number, `0..limit`.
pub const SLOT: &str = "slot";
/// When the slot frees up (seconds since the epoch); also the table's TTL attribute.
pub const EXPIRES_AT: &str = "expires_at";
/// Who holds the slot: the invocation that took it, so only it gives the slot back.
pub const HOLDER: &str = "holder";

/// Why the budgets cannot be counted: every mutating call is refused until it is fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetSetupError {
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
}

/// The budgets of a function and where they are counted.
#[derive(Debug)]
pub struct BudgetLedger {
    state: State,
}

#[derive(Debug)]
enum State {
    Off,
    Broken(BudgetSetupError),
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

    /// A ledger that refuses every mutating call with `error`.
    pub fn broken(error: BudgetSetupError) -> Self {
        Self {
            state: State::Broken(error),
        }
    }

    /// Whether a tool whose calls are `access` is counted: a mutating tool always is; a
    /// read-only one only when a budget names it (it then needs a table like any other), or
    /// when the budgets cannot be read, so that a broken budget file refuses rather than
    /// silently counts nothing.
    pub fn counts(tool: &str, access: crate::Access) -> bool {
        match access {
            crate::Access::Mutating => true,
            crate::Access::ReadOnly => {
                budgets_from_env().map_or(true, |b| b.for_tool(tool).next().is_some())
            }
        }
    }

    /// The ledger of a Lambda function: `BUDGETS`, `BUDGET_TABLE`, the budgets compiled in
    /// (or `$GUARD_POLICY_DIR/budgets.json` in development), checked against the tools the
    /// guard's schema declares. Problems are logged and refuse every mutating call.
    pub fn from_env(sdk: &aws_config::SdkConfig, guard: &Guard) -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let ledger = Self::from_settings(
            std::env::var(SWITCH_VAR)
                .ok()
                .filter(|v| !v.is_empty())
                .as_deref(),
            var(TABLE_VAR),
            budgets_from_env,
            guard,
            || Client::new(sdk),
        );
        match &ledger.state {
            State::Off => tracing::warn!("BUDGETS=OFF: budgets over time are not enforced"),
            State::Broken(e) => tracing::error!(error = %e, "budgets unusable"),
            State::Counting { .. } => {}
        }
        ledger
    }

    fn from_settings(
        switch: Option<&str>,
        table: Option<String>,
        load: impl FnOnce() -> Result<Budgets, BudgetError>,
        guard: &Guard,
        client: impl FnOnce() -> Client,
    ) -> Self {
        // Exactly `OFF` switches budgets off: a near miss must not disable a safety control.
        match switch {
            None | Some("ON") => {}
            Some("OFF") => return Self::off(),
            Some(_) => {
                let value = switch.unwrap_or_default().to_owned();
                return Self::broken(BudgetSetupError::UnknownSwitch(value));
            }
        }
        let Some(table) = table else {
            return Self::broken(BudgetSetupError::NoTable);
        };
        let budgets = load().and_then(|budgets| {
            // Broken policies refuse every call anyway; only loaded ones can vouch for tools.
            if let Ok(sets) = guard.policy_sets() {
                budgets.check_tools(|t| sets.declares_tool(t))?;
            }
            Ok(budgets)
        });
        match budgets {
            Ok(budgets) => Self::counting(budgets, client(), table),
            Err(e) => Self::broken(e.into()),
        }
    }

    /// The budget check: reserves a slot in each budget `tool` counts against for `resource`.
    /// `None` when there is nothing to check (budgets off, or the tool has none). Otherwise a
    /// decision, audited through the guard, and the slots taken (kept if the call goes on).
    pub(crate) async fn reserve(
        &self,
        guard: &Guard,
        call: &ToolCall<'_>,
        tool: &str,
        resource: &ResourceFacts,
    ) -> Option<(Decision, Reservation)> {
        let started = Instant::now();
        let (budgets, table) = match &self.state {
            State::Off => return None,
            State::Broken(e) => {
                let outcome = BudgetOutcome::Unavailable(e.to_string());
                let decision = guard.record_budget(call, resource, outcome, started.elapsed());
                return Some((decision, Reservation::default()));
            }
            State::Counting { budgets, table } => (budgets, table),
        };
        let counted = budgets.counted(tool, resource);
        if counted.is_empty() {
            return None;
        }
        let holder = holder(call);
        let mut reservation = Reservation::default();
        let mut taken: Vec<BudgetCount> = Vec::with_capacity(counted.len());
        let mut exhausted: Option<Exhausted> = None;
        for c in &counted {
            match table.take_slot(c, &holder, &resource.id).await {
                Ok(Ok(slot)) => {
                    taken.push(c.count(Some(slot.number)));
                    reservation.slots.push(slot);
                }
                Ok(Err(full)) => {
                    exhausted.get_or_insert(full);
                    // ENFORCE stops here; LOG_ONLY goes on, so the call it lets through is
                    // still counted in the budgets that have room.
                    if guard.mode() == guard::Mode::Enforce {
                        break;
                    }
                }
                Err(error) => {
                    reservation.give_back().await;
                    let outcome = BudgetOutcome::Unavailable(error.message);
                    let decision = guard.record_budget(call, resource, outcome, started.elapsed());
                    return Some((decision, Reservation::default()));
                }
            }
        }
        let outcome = match exhausted {
            Some(full) => BudgetOutcome::OverBudget {
                counted: taken,
                full: full.full(),
            },
            None => BudgetOutcome::Within(taken),
        };
        let decision = guard.record_budget(call, resource, outcome, started.elapsed());
        if !decision.proceeds() {
            reservation.give_back().await;
        }
        Some((decision, reservation))
    }
}

/// Who takes a slot: the Lambda request id (unique per invocation), and the time, so that two
/// local test harnesses reusing request ids still never mistake each other's slots.
fn holder(call: &ToolCall<'_>) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}@{nanos}",
        call.ids.lambda.as_deref().unwrap_or("unknown-request")
    )
}

/// The slots one call took.
#[derive(Debug, Default)]
pub(crate) struct Reservation {
    slots: Vec<Slot>,
}

impl Reservation {
    /// Whether the call took any slot.
    pub(crate) fn holds_slots(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Deletes every slot taken, each only while this call still holds it. Failures are
    /// logged and keep the slot: over-counting is the safe side.
    pub(crate) async fn give_back(&mut self) {
        for slot in self.slots.drain(..) {
            if let Err(e) = slot.give_back().await {
                tracing::warn!(key = %slot.key, slot = slot.number, error = %e.message,
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
    async fn give_back(&self) -> Result<(), ToolError> {
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
                if e.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::delete_item::DeleteItemError::is_conditional_check_failed_exception,
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(ToolError::aws("dynamodb:DeleteItem", &e)),
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
    ) -> Result<Result<Slot, Exhausted>, ToolError> {
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
                    _ => return Err(table_error(&self.name, &e)),
                },
            }
        }
        let frees_in = earliest_free.map(|at| Duration::from_secs(at.saturating_sub(now)));
        Ok(Err(Exhausted::new(counted, frees_in)))
    }
}

fn table_error<E, R>(
    table: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> ToolError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let error = ToolError::aws("dynamodb:PutItem", e);
    ToolError::new(
        error.kind,
        format!("budget table `{table}`: {}", error.message),
    )
}

fn expires_at(item: &HashMap<String, AttributeValue>) -> Option<u64> {
    item.get(EXPIRES_AT)?.as_n().ok()?.parse().ok()
}

fn epoch_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The budgets a function counts: the ones compiled in, or `$GUARD_POLICY_DIR/budgets.json`
/// by the guard's own reading of it (honoured only in builds with the development feature,
/// never in a shipped function).
fn budgets_from_env() -> Result<Budgets, BudgetError> {
    match guard::GuardConfig::from_env().0.policy_dir {
        Some(dir) => Budgets::from_dir(&dir),
        None => Budgets::embedded(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use guard::{EXAMPLE_GATEWAY_ARN, GuardConfig, NoAudit, PolicySources};

    use super::*;

    fn guard() -> Guard {
        let config = GuardConfig {
            gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
            ..GuardConfig::default()
        };
        Guard::new(&PolicySources::embedded(), &config, Arc::new(NoAudit))
    }

    fn client() -> Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        Client::from_conf(config)
    }

    fn ledger(switch: Option<&str>, table: Option<&str>) -> BudgetLedger {
        BudgetLedger::from_settings(
            switch,
            table.map(ToOwned::to_owned),
            Budgets::embedded,
            &guard(),
            client,
        )
    }

    #[test]
    fn budgets_are_on_unless_deliberately_switched_off() {
        assert!(matches!(
            ledger(None, None).state,
            State::Broken(BudgetSetupError::NoTable)
        ));
        assert!(matches!(
            ledger(Some("ON"), Some("t")).state,
            State::Counting { .. }
        ));
        assert!(matches!(ledger(Some("OFF"), None).state, State::Off));
        // A near miss of OFF never switches a safety control off: it breaks the ledger, and
        // every mutating call is refused.
        for near_miss in ["off", " OFF", "OFF\u{a0}", "Off"] {
            assert!(
                matches!(
                    ledger(Some(near_miss), Some("t")).state,
                    State::Broken(BudgetSetupError::UnknownSwitch(_))
                ),
                "{near_miss:?}"
            );
        }
        assert!(matches!(
            ledger(Some("no"), Some("t")).state,
            State::Broken(BudgetSetupError::UnknownSwitch(_))
        ));
    }

    #[test]
    fn a_budget_for_a_tool_the_schema_does_not_declare_breaks_the_ledger() {
        let ledger = BudgetLedger::from_settings(
            None,
            Some("t".to_owned()),
            || {
                Budgets::parse(
                    "b.json",
                    r#"{"budgets":[{"id":"x","tool":"reboot_everything","per":"all","limit":1,"window":"1h"}]}"#,
                )
            },
            &guard(),
            client,
        );
        assert!(
            matches!(&ledger.state, State::Broken(e) if e.to_string().contains("`reboot_everything`")),
            "{ledger:?}"
        );
    }

    #[tokio::test]
    async fn a_broken_ledger_refuses_as_an_error_even_in_log_only() {
        let config = GuardConfig {
            gateway_arn: Some(EXAMPLE_GATEWAY_ARN.to_owned()),
            mode: guard::Mode::LogOnly,
            ..GuardConfig::default()
        };
        let guard = Guard::new(&PolicySources::embedded(), &config, Arc::new(NoAudit));
        let ledger = BudgetLedger::broken(BudgetSetupError::NoTable);
        let input = serde_json::json!({});
        let ids = guard::RequestIds::default();
        let call = ToolCall {
            tool: "terminate-instance___terminate_instance",
            input: &input,
            principal: None,
            ids: &ids,
        };
        let facts = ResourceFacts::new("Guard::Ec2Instance", "i-0abc1234");
        let (decision, _) = ledger
            .reserve(&guard, &call, "terminate_instance", &facts)
            .await
            .unwrap();
        assert_eq!(decision.outcome(), guard::Outcome::Error);
        assert_eq!(decision.check, guard::Check::Budget);
        assert!(decision.explain().contains("BUDGET_TABLE is not set"));
    }

    /// A read-only tool sets up no ledger (and needs no table) unless a budget names it.
    #[test]
    fn only_tools_a_budget_names_or_that_mutate_are_counted() {
        use crate::Access;
        assert!(BudgetLedger::counts("get_metrics", Access::Mutating));
        assert!(!BudgetLedger::counts("get_metrics", Access::ReadOnly));
        // clean_logs has a budget: were it read-only, it would still be counted.
        assert!(BudgetLedger::counts("clean_logs", Access::ReadOnly));
    }
}
