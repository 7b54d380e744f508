//! The two kinds of Cedar action a tool call is checked as, and the gateway tool names that are
//! their ids.

use std::fmt;

use crate::{error::GuardError, value::uid_string};
use cedar_policy::EntityUid;

/// The separator between target and tool in a gateway tool name. Split and join names with
/// [`ToolName::parse`] and [`ToolName::join`], not by hand.
pub const TOOL_SEPARATOR: &str = "___";

/// The tool name recorded when there is no tool to name: a refusal before any tool name could
/// be read, and the metric dimension of a name the schema does not declare (a caller's made-up
/// names must not create paid metrics).
pub const UNKNOWN_TOOL: &str = "unknown";

/// A gateway tool name, `<target>___<tool>` (three underscores), split at the first `___`.
///
/// This is the name AgentCore Gateway gives a tool and the id of its Cedar action
/// (`AgentCore::Action::"<target>___<tool>"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolName<'a> {
    /// The full name, as the gateway spells it.
    pub full: &'a str,
    /// The gateway target (`terminate-instance`).
    pub target: &'a str,
    /// The tool within the target (`terminate_instance`).
    pub tool: &'a str,
}

impl<'a> ToolName<'a> {
    /// Splits `target___tool` at the first `___`; both parts must be non-empty.
    pub fn parse(full: &'a str) -> Result<Self, GuardError> {
        let invalid = |reason: &str| GuardError::ToolName {
            name: full.to_owned(),
            reason: reason.to_owned(),
        };
        let (target, tool) = full
            .split_once(TOOL_SEPARATOR)
            .ok_or_else(|| invalid("expected `<target>___<tool>` (three underscores)"))?;
        if target.is_empty() {
            return Err(invalid("the target name before `___` is empty"));
        }
        if tool.is_empty() {
            return Err(invalid("the tool name after `___` is empty"));
        }
        Ok(Self { full, target, tool })
    }

    /// The gateway name of `tool` in `target`: `<target>___<tool>`, the inverse of
    /// [`ToolName::parse`] for a non-empty target without `___` and a non-empty tool.
    pub fn join(target: &str, tool: &str) -> String {
        format!("{target}{TOOL_SEPARATOR}{tool}")
    }

    /// The tool part of a name that is either a gateway name (`<target>___<tool>`) or already
    /// a tool part (`terminate_instance`), as case files and invariants may give it.
    pub fn tool_part(name: &'a str) -> &'a str {
        Self::parse(name).map_or(name, |parsed| parsed.tool)
    }
}

impl fmt::Display for ToolName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.full)
    }
}

/// The two action namespaces, one per question (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionType {
    /// `AgentCore::Action`, the call check's: one action per gateway tool, its id the gateway
    /// tool name (`AgentCore::Action::"terminate-instance___terminate_instance"`), as AgentCore
    /// Policy names it.
    Call,
    /// `Guard::Action`, the resource check's: one action per tool, its id the tool part
    /// (`Guard::Action::"terminate_instance"`).
    Resource,
}

impl ActionType {
    /// Both action types.
    pub const ALL: [Self; 2] = [Self::Call, Self::Resource];

    /// The Cedar entity type name: `AgentCore::Action` or `Guard::Action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "AgentCore::Action",
            Self::Resource => "Guard::Action",
        }
    }

    /// The type of a Cedar action, when it is one of the two.
    pub fn of(action: &EntityUid) -> Option<Self> {
        let type_name = action.type_name().to_string();
        Self::ALL.into_iter().find(|t| t.as_str() == type_name)
    }

    /// The action `Type::"id"`, as Cedar prints it (`Guard::Action::"terminate_instance"`).
    pub fn uid_string(self, id: &str) -> String {
        uid_string(self.as_str(), id)
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn tool_name_splits_at_the_first_triple_underscore() {
        let name = ToolName::parse("terminate-instance___terminate_instance").unwrap();
        assert_eq!(name.target, "terminate-instance");
        assert_eq!(name.tool, "terminate_instance");
        let name = ToolName::parse("a___b___c").unwrap();
        assert_eq!((name.target, name.tool), ("a", "b___c"));
    }

    #[test]
    fn tool_name_rejects_two_underscores_and_missing_parts() {
        for bad in [
            "terminate-instance__terminate_instance",
            "terminate_instance",
            "___terminate_instance",
            "terminate-instance___",
            "",
        ] {
            let err = ToolName::parse(bad).unwrap_err();
            assert!(matches!(err, GuardError::ToolName { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn joining_a_target_and_a_tool_is_the_inverse_of_parsing() {
        let full = ToolName::join("terminate-instance", "terminate_instance");
        assert_eq!(full, "terminate-instance___terminate_instance");
        let name = ToolName::parse(&full).unwrap();
        assert_eq!(ToolName::join(name.target, name.tool), full);
        assert_eq!(ToolName::tool_part(&full), "terminate_instance");
        assert_eq!(
            ToolName::tool_part("terminate_instance"),
            "terminate_instance"
        );
    }

    #[test]
    fn action_types_are_the_two_namespaces_and_name_their_actions() {
        let tool = ToolName::parse("clean-logs___clean_logs").unwrap();
        let call = ActionType::Call.uid_string(tool.full);
        let resource = ActionType::Resource.uid_string(tool.tool);
        assert_eq!(call, r#"AgentCore::Action::"clean-logs___clean_logs""#);
        assert_eq!(resource, r#"Guard::Action::"clean_logs""#);
        for (text, expected) in [(call, ActionType::Call), (resource, ActionType::Resource)] {
            let uid = EntityUid::from_str(&text).unwrap();
            assert_eq!(ActionType::of(&uid), Some(expected));
        }
        let group = EntityUid::from_str(r#"Guard::Ec2Instance::"i-0abc""#).unwrap();
        assert_eq!(ActionType::of(&group), None);
    }
}
