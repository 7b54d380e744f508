//! Single-use markers (a caller assertion's id), kept in the budget table beside the budgets.

use std::time::SystemTime;

use aws_sdk_dynamodb::{Client, operation::put_item::PutItemError, types::AttributeValue};

use super::{EXPIRES_AT, KEY, LedgerError, SLOT, SlotTable, epoch_seconds};

/// Things used once — a caller assertion's id — remembered in the budget table until they
/// expire, under the tool's own key prefix (`<tool>#once#<id>`, so the table's `LeadingKeys`
/// condition confines them as it confines budgets). One conditional write: two invocations
/// can never both be first.
#[derive(Debug, Clone)]
pub struct SingleUse {
    table: SlotTable,
}

impl SingleUse {
    /// Single-use markers in DynamoDB table `table`.
    pub fn new(dynamodb: Client, table: impl Into<String>) -> Self {
        Self {
            table: SlotTable {
                client: dynamodb,
                name: table.into(),
            },
        }
    }

    /// Marks `id` used by `tool` until `expires_at` (seconds since the epoch). `Ok(false)` when
    /// it already was, and that mark has not expired: the second use. An expired mark counts
    /// for nothing (DynamoDB's TTL removes items late, up to days after they expire).
    pub async fn first_use(
        &self,
        tool: &str,
        id: &str,
        expires_at: u64,
    ) -> Result<bool, LedgerError> {
        let put = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .item(KEY, AttributeValue::S(format!("{tool}#once#{id}")))
            .item(SLOT, AttributeValue::N("0".to_owned()))
            .item(EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(#k) OR #e < :now")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#e", EXPIRES_AT)
            .expression_attribute_values(
                ":now",
                AttributeValue::N(epoch_seconds(SystemTime::now()).to_string()),
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.table.error("dynamodb:PutItem", &e)),
        }
    }
}
