//! The resource check, asked again while an operation runs.

use guard::{Decision, Guard, ToolCall};

use super::Tool;

/// The resource check, asked again while an operation runs: the real resource is read afresh
/// and checked as it was before the operation began. A resource that was staging when the
/// check passed may be marked for compliance a second later; a long operation must notice.
pub struct Recheck<'a, T: Tool> {
    pub(super) tool: &'a T,
    pub(super) input: &'a T::Input,
    pub(super) guard: &'a Guard,
    pub(super) call: ToolCall<'a>,
}

/// Why an operation must stop: the re-check's decision, which did not let it go on (a deny,
/// or a refusal when the resource could not be read again). Audited like every check, and
/// reported as the deciding check of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The re-check's decision.
    pub decision: Decision,
}

impl Stop {
    /// What the re-check said, for a person.
    pub fn reason(&self) -> String {
        self.decision.explain()
    }
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
