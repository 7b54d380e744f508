//! The HTTP headers the gateway passes on to the interceptor, read so that no spelling trick
//! makes one header look like two values or two headers look like one.
//!
//! HTTP header names are case-insensitive, and a JSON object of headers can hold the same name
//! twice in different cases (`Authorization` and `authorization`), or a repeated header as an
//! array of values. Whichever one a reader picks, another reader (the gateway, the target) may
//! pick the other: a header that occurs more than once is therefore refused, never resolved.

use serde_json::{Map, Value};

/// Why a header cannot be read as one value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The header occurs more than once: several names equal but for case, or several values.
    #[error("the `{0}` header occurs more than once, so which one counts is ambiguous")]
    Repeated(String),

    /// The header's value is not text.
    #[error("the `{0}` header's value is not text")]
    NotText(String),
}

/// The one value of header `name`, matched case-insensitively (and ignoring whitespace around
/// the name); `Ok(None)` when absent.
pub fn single<'a>(
    headers: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, HeaderError> {
    let mut found = headers
        .iter()
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value);
    let Some(value) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(HeaderError::Repeated(name.to_owned()));
    }
    match value {
        Value::String(text) => Ok(Some(text)),
        // A repeated header may arrive as a list of its values.
        Value::Array(values) if values.len() > 1 => Err(HeaderError::Repeated(name.to_owned())),
        Value::Array(values) => match values.first() {
            Some(Value::String(text)) => Ok(Some(text)),
            None => Ok(None),
            Some(_) => Err(HeaderError::NotText(name.to_owned())),
        },
        _ => Err(HeaderError::NotText(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_header_is_found_whatever_the_case_of_its_name() {
        let h = headers(json!({"authorization": "Bearer x", "Accept": "application/json"}));
        assert_eq!(single(&h, "Authorization"), Ok(Some("Bearer x")));
        assert_eq!(single(&h, "accept"), Ok(Some("application/json")));
        assert_eq!(single(&h, "Mcp-Method"), Ok(None));
    }

    #[test]
    fn a_header_named_twice_in_different_cases_is_refused() {
        let h = headers(json!({"Authorization": "Bearer a", "authorization": "Bearer b"}));
        assert_eq!(
            single(&h, "Authorization"),
            Err(HeaderError::Repeated("Authorization".to_owned()))
        );
        let h = headers(json!({"Mcp-Method": "tools/list", " mcp-method": "tools/call"}));
        assert!(single(&h, "Mcp-Method").is_err());
    }

    #[test]
    fn a_header_with_several_values_is_refused() {
        let h = headers(json!({"Authorization": ["Bearer a", "Bearer b"]}));
        assert!(matches!(
            single(&h, "authorization"),
            Err(HeaderError::Repeated(_))
        ));
        let h = headers(json!({"Authorization": ["Bearer a"]}));
        assert_eq!(single(&h, "authorization"), Ok(Some("Bearer a")));
        let h = headers(json!({"Authorization": 7}));
        assert!(matches!(
            single(&h, "authorization"),
            Err(HeaderError::NotText(_))
        ));
    }
}
