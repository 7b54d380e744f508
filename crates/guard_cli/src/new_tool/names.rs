//! The names one tool is known by, derived from its snake_case name.

use super::NewToolError;

/// The names a tool is known by in code, policies and deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The tool, as the gateway's tool part and the crate: `stop_rds_instance`.
    pub tool: String,
    /// Its gateway target: `stop-rds-instance`.
    pub target: String,
    /// The Rust type of the tool: `StopRdsInstance`.
    pub camel: String,
    /// The prefix of its input and output types, its first word: `Stop`.
    pub verb: String,
    /// The Cedar entity type of the resource it acts on, in the `Guard` namespace:
    /// `RdsInstance` (the words after the first).
    pub resource: String,
}

/// The longest tool name: it is part of crate, function, role and budget-key names.
const MAX_TOOL: usize = 40;

impl Names {
    /// The names of tool `tool` (a snake_case verb and object), registered as gateway target
    /// `target` (default: `tool` with `-`) and acting on entity type `resource` (default: the
    /// words after the verb, in CamelCase).
    pub fn new(
        tool: &str,
        target: Option<&str>,
        resource: Option<&str>,
    ) -> Result<Self, NewToolError> {
        let words: Vec<&str> = tool.split('_').collect();
        let word_ok = |w: &str| {
            w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        };
        if words.len() < 2 || tool.len() > MAX_TOOL || !words.iter().all(|w| word_ok(w)) {
            return Err(NewToolError::InvalidName(tool.to_owned()));
        }
        let target = target.map_or_else(|| tool.replace('_', "-"), ToOwned::to_owned);
        let target_ok = target.split('-').all(word_ok) && target.len() <= MAX_TOOL;
        if !target_ok {
            return Err(NewToolError::InvalidTarget(target));
        }
        let camel = |ws: &[&str]| ws.iter().map(|w| capitalized(w)).collect::<String>();
        let resource = match resource {
            Some(r) => r.to_owned(),
            None => camel(words.get(1..).unwrap_or_default()),
        };
        let resource_ok = resource
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
            && resource.chars().all(|c| c.is_ascii_alphanumeric());
        if !resource_ok {
            return Err(NewToolError::InvalidResourceType(resource));
        }
        Ok(Self {
            tool: tool.to_owned(),
            target,
            camel: camel(&words),
            verb: words.first().map(|w| capitalized(w)).unwrap_or_default(),
            resource,
        })
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
