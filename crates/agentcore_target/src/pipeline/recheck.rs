//! The resource check, asked again while an operation runs.

use guard::{Guard, ToolCall};

use super::Tool;
use crate::error::Stop;

/// The resource check, asked again while an operation runs: the real resource is read afresh
/// and checked as it was before the operation began. A resource that was staging when the
/// check passed may be marked for compliance a second later; a long operation must notice.
pub struct Recheck<'a, T: Tool> {
    pub(super) tool: &'a T,
    pub(super) input: &'a T::Input,
    pub(super) guard: &'a Guard,
    pub(super) call: ToolCall<'a>,
}

impl<T: Tool> Recheck<'_, T> {
    /// Reads the resource again and asks the resource check; audited like every check. A
    /// lookup that fails, or finds nothing to check, stops the operation too (fail closed).
    pub async fn confirm(&self) -> Result<(), Stop> {
        let decision = match self.tool.lookup(self.input).await {
            Ok(found) => match &found.facts {
                Some(facts) => self.guard.check_resource(&self.call, facts),
                None => self.guard.refuse_resource(
                    &self.call,
                    "the re-check found no resource to check".to_owned(),
                ),
            },
            Err(e) => self.guard.refuse_resource(
                &self.call,
                format!("the re-check could not read the resource: {}", e.message),
            ),
        };
        if decision.proceeds() {
            Ok(())
        } else {
            Err(Stop { decision })
        }
    }
}
