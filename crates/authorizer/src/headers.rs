//! The HTTP headers the gateway passes on to the interceptor, read so that no spelling trick
//! makes one header look like two values or two headers look like one.
//!
//! HTTP header names are case-insensitive, and a JSON object of headers can hold the same name
//! twice in different cases (`Authorization` and `authorization`), or a repeated header as an
//! array of values. Whichever one a reader picks, another reader (the gateway, the target) may
//! pick the other: a header that occurs more than once is therefore refused, never resolved.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::shown::Shown;

/// Why a header cannot be read as one value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The header occurs more than once: several names equal but for case, or several values.
    #[error("the `{0}` header occurs more than once, so which one counts is ambiguous")]
    Repeated(String),

    /// The header's value is not text.
    #[error("the `{0}` header's value is not text")]
    NotText(String),

    /// The value claims MCP's base64 form (`=?base64?…?=`) but is not base64 of UTF-8 text.
    #[error("the `{header}` header {value} claims the base64 form (`=?base64?…?=`) but {reason}")]
    BadEncoding {
        /// The header.
        header: &'static str,
        /// Its value, as sent.
        value: Shown,
        /// What is wrong with it.
        reason: &'static str,
    },
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

/// The opening marker of MCP's base64 header-value form.
const BASE64_PREFIX: &str = "=?base64?";
/// The closing marker of MCP's base64 header-value form.
const BASE64_SUFFIX: &str = "?=";

/// The value a header mirrored from the body stands for, decoding MCP's base64 form.
///
/// MCP 2026-07-28, Streamable HTTP, "Value Encoding" and "Server Validation"
/// (`docs/specification/2026-07-28/basic/transports/streamable-http.mdx`): a value that cannot be
/// a plain ASCII header value travels as `=?base64?{Base64EncodedValue}?=` — base64 (standard
/// alphabet) of its UTF-8 bytes, markers lowercase and case-sensitive — and "servers MUST decode
/// an encoded `Mcp-Name` or `Mcp-Param-{Name}` value before comparing it to the corresponding
/// request body value". Clients must also encode any plain value that looks like the form, so
/// every value that starts with the prefix and ends with the suffix is encoded. The form applies
/// to `Mcp-Name` and `Mcp-Param-*` only: `Mcp-Method` is compared as sent.
pub fn mcp_decoded<'a>(header: &'static str, value: &'a str) -> Result<Cow<'a, str>, HeaderError> {
    if !(value.starts_with(BASE64_PREFIX) && value.ends_with(BASE64_SUFFIX)) {
        return Ok(Cow::Borrowed(value));
    }
    let bad = |reason| HeaderError::BadEncoding {
        header,
        value: Shown::text(value),
        reason,
    };
    // `=?base64?=` starts and ends right but has no room for a value between the markers.
    let encoded = value
        .get(BASE64_PREFIX.len()..value.len().saturating_sub(BASE64_SUFFIX.len()))
        .filter(|_| value.len() >= BASE64_PREFIX.len() + BASE64_SUFFIX.len())
        .ok_or_else(|| bad("its markers overlap"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| bad("is not base64"))?;
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| bad("does not decode to UTF-8 text"))
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
    fn mcp_values_in_the_base64_form_are_decoded_and_others_kept() {
        assert_eq!(
            mcp_decoded("Mcp-Name", "get_weather"),
            Ok(Cow::Borrowed("get_weather"))
        );
        // The specification's own examples.
        assert_eq!(
            mcp_decoded("Mcp-Name", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            Ok(Cow::Owned("Hello, 世界".to_owned()))
        );
        assert_eq!(
            mcp_decoded("Mcp-Name", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
            Ok(Cow::Owned("=?base64?literal?=".to_owned()))
        );
        // The markers are lowercase: anything else is a plain value.
        assert_eq!(
            mcp_decoded("Mcp-Name", "=?BASE64?YQ==?="),
            Ok(Cow::Borrowed("=?BASE64?YQ==?="))
        );
        assert_eq!(
            mcp_decoded("Mcp-Name", "=?base64??="),
            Ok(Cow::Owned(String::new()))
        );
    }

    #[test]
    fn a_value_that_claims_the_base64_form_but_is_not_base64_of_utf8_is_refused() {
        for (value, reason) in [
            ("=?base64?not base64!?=", "is not base64"),
            ("=?base64?LV8tXw?=", "is not base64"),
            ("=?base64?_-8?=", "is not base64"),
            ("=?base64?/w==?=", "does not decode to UTF-8 text"),
            ("=?base64?=", "its markers overlap"),
        ] {
            let err = mcp_decoded("Mcp-Name", value).unwrap_err();
            assert!(err.to_string().contains(reason), "{value}: {err}");
            assert!(err.to_string().contains("`Mcp-Name` header"), "{err}");
        }
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
