//! The `Lambda-Runtime-Client-Context` header, read without trusting its shape.

use std::fmt;

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use serde_json::{Map, Value};

/// Why a client context header was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientContextError {
    /// Neither JSON nor base64-encoded JSON.
    #[error("not JSON ({0})")]
    NotJson(#[source] serde_json::Error),

    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotAnObject,

    /// `client`, `custom` or `environment` is neither absent, `null`, nor an object.
    #[error("`{member}` must be an object, got {found}")]
    MemberNotAnObject {
        /// The member.
        member: Member,
        /// What it was instead.
        found: JsonType,
    },

    /// A value of `custom` or `environment` is not a string. The key is the caller's text:
    /// shown escaped.
    #[error("`{member}.{}` must be a string, got {found}", key.escape_debug())]
    ValueNotAString {
        /// The member holding the value.
        member: Member,
        /// The key of the value.
        key: String,
        /// What it was instead.
        found: JsonType,
    },
}

/// A top-level member of the client context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// `client`: mobile SDK details.
    Client,
    /// `custom`: the caller's string map (AgentCore's tool name and ids).
    Custom,
    /// `environment`: another string map.
    Environment,
}

impl Member {
    fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Custom => "custom",
            Self::Environment => "environment",
        }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a JSON value, to say what was found instead of what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Boolean => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// Reads a client context the way the AgentCore Gateway sends it, refusing anything malformed
/// with a reason instead of ending the process.
///
/// `client`, `custom` and `environment` may each be absent or `null`; `custom` and
/// `environment` must otherwise be objects of strings. `client` (mobile SDK details nobody here
/// reads) is kept when well formed and dropped otherwise. The result is the JSON form of
/// `lambda_runtime`'s `ClientContext`.
pub fn client_context(raw: Option<&[u8]>) -> Result<Option<Value>, ClientContextError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let value: Value = match serde_json::from_slice(raw) {
        Ok(value) => value,
        // Lambda's Runtime API sends the JSON; `cargo lambda watch` sends it base64-encoded, as
        // the Invoke API receives it.
        Err(e) => BASE64
            .decode(raw.trim_ascii())
            .ok()
            .and_then(|decoded| serde_json::from_slice(&decoded).ok())
            .ok_or(ClientContextError::NotJson(e))?,
    };
    let Value::Object(fields) = value else {
        return Err(ClientContextError::NotAnObject);
    };
    let strings = |member: Member| -> Result<Value, ClientContextError> {
        match fields.get(member.name()) {
            None | Some(Value::Null) => Ok(Value::Object(Map::new())),
            Some(Value::Object(map)) => {
                if let Some((key, value)) = map.iter().find(|(_, v)| !v.is_string()) {
                    return Err(ClientContextError::ValueNotAString {
                        member,
                        key: key.clone(),
                        found: JsonType::of(value),
                    });
                }
                Ok(Value::Object(map.clone()))
            }
            Some(other) => Err(ClientContextError::MemberNotAnObject {
                member,
                found: JsonType::of(other),
            }),
        }
    };
    let mut normalized = Map::new();
    normalized.insert("custom".to_owned(), strings(Member::Custom)?);
    normalized.insert("environment".to_owned(), strings(Member::Environment)?);
    match fields.get("client") {
        Some(client @ Value::Object(_)) => {
            normalized.insert("client".to_owned(), client.clone());
        }
        None | Some(Value::Null) => {}
        Some(other) => {
            return Err(ClientContextError::MemberNotAnObject {
                member: Member::Client,
                found: JsonType::of(other),
            });
        }
    }
    Ok(Some(Value::Object(normalized)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_agentcore_client_context() {
        let raw = br#"{"custom":{"bedrockAgentCoreToolName":"terminate-instance___terminate_instance","bedrockAgentCoreMessageVersion":"1.0"},"client":null,"environment":null}"#;
        let cc = client_context(Some(raw)).unwrap().unwrap();
        assert_eq!(
            cc["custom"]["bedrockAgentCoreToolName"],
            "terminate-instance___terminate_instance"
        );
    }

    #[test]
    fn a_base64_client_context_is_read_as_cargo_lambda_sends_it() {
        let encoded = BASE64.encode(br#"{"custom":{"bedrockAgentCoreToolName":"a___b"}}"#);
        let cc = client_context(Some(encoded.as_bytes())).unwrap().unwrap();
        assert_eq!(cc["custom"]["bedrockAgentCoreToolName"], "a___b");
        let not_json = BASE64.encode(b"not json");
        assert!(matches!(
            client_context(Some(not_json.as_bytes())),
            Err(ClientContextError::NotJson(_))
        ));
    }

    #[test]
    fn absent_and_empty_client_contexts_are_none() {
        assert!(matches!(client_context(None), Ok(None)));
        assert!(matches!(client_context(Some(b"")), Ok(None)));
    }

    #[test]
    fn null_members_are_empty_not_errors() {
        let cc = client_context(Some(br#"{"client":null,"custom":null}"#))
            .unwrap()
            .unwrap();
        assert_eq!(cc["custom"], serde_json::json!({}));
    }

    #[test]
    fn malformed_client_contexts_are_refused_with_a_reason() {
        for (raw, reason) in [
            (&b"not json"[..], "not JSON"),
            (b"[1]", "not a JSON object"),
            (
                br#"{"custom":{"bedrockAgentCoreToolName":7}}"#,
                "`custom.bedrockAgentCoreToolName` must be a string, got a number",
            ),
            (
                br#"{"custom":"x"}"#,
                "`custom` must be an object, got a string",
            ),
            (br#"{"client":5}"#, "`client` must be an object"),
            (
                br#"{"environment":{"a":null}}"#,
                "`environment.a` must be a string, got null",
            ),
        ] {
            let err = client_context(Some(raw)).unwrap_err().to_string();
            assert!(err.contains(reason), "{err}");
        }
    }

    #[test]
    fn a_refusal_names_the_member_and_the_type_found() {
        let err = client_context(Some(br#"{"custom":{"k":[1]}}"#)).unwrap_err();
        assert!(matches!(
            err,
            ClientContextError::ValueNotAString { member: Member::Custom, ref key, found: JsonType::Array } if key == "k"
        ));
    }
}
