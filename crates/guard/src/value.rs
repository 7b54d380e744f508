//! JSON to Cedar values, for the shapes tool arguments, tags and resource facts take.
//!
//! Built directly rather than through Cedar's schema-directed JSON parser: that parser costs
//! ten times more per request, and the schema check happens anyway when the request is built
//! (`Request::new` with the schema), which is the check that rejects wrong types and unknown
//! fields.

use std::collections::BTreeMap;

use cedar_policy::{Entity, EntityUid, RestrictedExpression};
use serde_json::{Map, Value};

/// A JSON value as a Cedar value: strings, booleans, integers, arrays as sets, objects as
/// records. `null` and fractional numbers have no Cedar form and are refused by path.
pub(crate) fn to_cedar(value: &Value) -> Result<RestrictedExpression, String> {
    convert(value, &mut String::new())
}

fn convert(value: &Value, path: &mut String) -> Result<RestrictedExpression, String> {
    Ok(match value {
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => RestrictedExpression::new_long(i),
            None if n.is_f64() => {
                return Err(format!("`{path}` is {n}: Cedar has no fractional numbers"));
            }
            None => return Err(format!("`{path}` is {n}: too large for a Cedar Long")),
        },
        Value::Null => return Err(format!("`{path}` is null: Cedar has no null")),
        Value::Array(items) => {
            let mut set = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                set.push(nested(path, &i.to_string(), |p| convert(item, p))?);
            }
            RestrictedExpression::new_set(set)
        }
        Value::Object(fields) => record(fields, path)?,
    })
}

fn record(fields: &Map<String, Value>, path: &mut String) -> Result<RestrictedExpression, String> {
    let mut converted = Vec::with_capacity(fields.len());
    for (name, v) in fields {
        converted.push((name.clone(), nested(path, name, |p| convert(v, p))?));
    }
    RestrictedExpression::new_record(converted).map_err(|e| e.to_string())
}

/// Runs `f` with `segment` appended to `path`, so errors name the field (`a.b.0`).
fn nested<T>(
    path: &mut String,
    segment: &str,
    f: impl FnOnce(&mut String) -> Result<T, String>,
) -> Result<T, String> {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(segment);
    let result = f(path);
    path.truncate(len);
    result
}

/// A JSON value's type, as an error message names it (`a number`, `null`).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An entity uid as text, `Type::"id"`: the id quoted as a JSON string, which is how audit
/// records and messages print every entity.
pub(crate) fn uid_string(entity_type: &str, id: &str) -> String {
    format!("{entity_type}::{}", Value::String(id.to_owned()))
}

/// An entity with attributes from a JSON object and string tags, as given (the caller's JWT
/// claims).
pub(crate) fn entity(
    uid: EntityUid,
    attributes: &Map<String, Value>,
    tags: &BTreeMap<String, String>,
) -> Result<Entity, String> {
    let mut attrs = std::collections::HashMap::with_capacity(attributes.len());
    for (name, v) in attributes {
        let mut path = name.clone();
        attrs.insert(name.clone(), convert(v, &mut path)?);
    }
    let tags = tags
        .iter()
        .map(|(k, v)| (k.clone(), RestrictedExpression::new_string(v.clone())));
    Entity::new_with_tags(uid, attrs, std::iter::empty(), tags).map_err(|e| e.to_string())
}

/// A real resource as its policies see it (see [`crate::fold`]).
pub(crate) use crate::fold::folded_resource;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_values_cedar_cannot_hold_by_their_path() {
        let err = to_cedar(&json!({"a": {"b": [1, 2.5]}})).unwrap_err();
        assert_eq!(err, "`a.b.1` is 2.5: Cedar has no fractional numbers");
        let err = to_cedar(&json!({"environment": null})).unwrap_err();
        assert_eq!(err, "`environment` is null: Cedar has no null");
        assert!(
            to_cedar(&json!({"n": u64::MAX}))
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn converts_the_shapes_tool_arguments_take() {
        let v = to_cedar(&json!({"s": "x", "b": true, "n": -3, "l": ["a"], "o": {}})).unwrap();
        let context = cedar_policy::Context::from_pairs([("input".to_owned(), v)]).unwrap();
        let json = context.to_json_value().unwrap();
        assert_eq!(
            json,
            json!({"input": {"s": "x", "b": true, "n": -3, "l": ["a"], "o": {}}})
        );
    }
}
