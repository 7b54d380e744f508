//! The arguments as both sides digest them: canonical JSON (object keys sorted by their UTF-16
//! code units as RFC 8785 has it — the same as byte order for the ASCII names tools use — no
//! white space), then SHA-256.

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::Value;

use crate::ASSERTION_FIELD;

/// `value` as canonical JSON text: objects with sorted keys, no insignificant white space,
/// strings and numbers as serde_json writes them. The assertion field itself, at the top
/// level, is left out: it cannot sign itself.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out, true);
    out
}

/// The SHA-256 of the canonical arguments, as lowercase hex.
pub fn arguments_digest(arguments: &Value) -> String {
    let hash = digest(&SHA256, canonical_json(arguments).as_bytes());
    hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn write(value: &Value, out: &mut String, top: bool) {
    match value {
        Value::Object(fields) => {
            let mut keys: Vec<&String> = fields
                .keys()
                .filter(|k| !(top && k.as_str() == ASSERTION_FIELD))
                .collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = fields.get(key) {
                    write(v, out, false);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out, false);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn key_order_and_white_space_do_not_change_the_digest() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "é"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"é","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"é","y":[1,2]},"b":1}"#);
        assert_eq!(arguments_digest(&a), arguments_digest(&b));
        assert_eq!(arguments_digest(&a).len(), 64);
    }

    #[test]
    fn the_assertion_is_not_part_of_what_it_signs_but_every_other_argument_is() {
        let plain = json!({"environment": "staging"});
        let carrying = json!({"environment": "staging", ASSERTION_FIELD: "x.y.z"});
        assert_eq!(arguments_digest(&plain), arguments_digest(&carrying));
        let other = json!({"environment": "production"});
        assert_ne!(arguments_digest(&plain), arguments_digest(&other));
        // Only at the top level: a nested field of that name is an argument like any other.
        let nested = json!({"o": {ASSERTION_FIELD: 1}});
        assert!(canonical_json(&nested).contains(ASSERTION_FIELD));
    }
}
