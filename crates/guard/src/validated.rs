//! Requests and entities Cedar has checked against the schema, remembered by what that check
//! depends on.
//!
//! Building a request with the schema checks its scope (the principal's and the resource's
//! types are declared and fit the action; an enumerated entity's id is one of its choices) and
//! its context (every argument declared and of its declared type, the required ones present).
//! When every argument is a string, an integer or a boolean, the context check depends on
//! nothing but the action, the argument names and each value's type: Cedar has no subtypes of
//! `String`, `Long` or `Bool`, and such values hold no entity reference. When neither entity
//! type is enumerated, the scope check depends on nothing but the types. So once Cedar has
//! accepted a request of one such shape, it accepts every request of that shape, and the
//! request is then built without asking again. The same holds for an entity (the caller, the
//! real resource): with no parents and every attribute a string, an integer or a boolean, and
//! every tag a string, Cedar's check depends on nothing but its type, its attribute names and
//! value types, and whether it has tags. A person's approval in the context always has the same
//! shape (four strings, [`crate::Approval`]), so its presence is part of the shape. Anything
//! else — a nested value, an action or enumerated entity type — is checked by Cedar every
//! time, and a request or entity Cedar refuses is never remembered, so it is refused (and
//! explained) every time too.

use std::{collections::HashSet, fmt::Write, sync::Mutex};

use cedar_policy::EntityUid;
use serde_json::{Map, Value};

use crate::policy::PolicySets;

/// At most this many shapes are kept; beyond it Cedar checks every time. A tool's valid shapes
/// are few (its declared arguments and its resource's attributes, each present or not).
const MAX_SHAPES: usize = 256;

/// The shapes of the requests and entities Cedar accepted.
#[derive(Debug, Default)]
pub(crate) struct Validated {
    shapes: Mutex<HashSet<Shape>>,
}

/// What Cedar's check of a request (for an action) or of an entity (`None`) depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    action: Option<EntityUid>,
    /// The principal's type (marked when only its type is known), the resource's type, and
    /// each argument's name and value type, in order; names are length-prefixed, so no name
    /// can pass for another part.
    scope: String,
}

/// The request to be checked, as far as its shape goes.
pub(crate) struct Asked<'a> {
    pub action: &'a EntityUid,
    /// The principal's entity type, and whether the principal itself is known.
    pub principal_type: &'a str,
    pub principal_known: bool,
    pub resource: &'a EntityUid,
    pub input: &'a Value,
    /// Whether the context carries a person's approval besides the arguments.
    pub approval: bool,
}

impl Validated {
    /// The shape of `asked`, when its check depends on its shape alone.
    pub(crate) fn shape(sets: &PolicySets, asked: &Asked<'_>) -> Option<Shape> {
        let Value::Object(arguments) = asked.input else {
            return None;
        };
        if may_be_enumerated(sets, asked.principal_type)
            || may_be_enumerated(sets, asked.resource.type_name())
        {
            return None;
        }
        let mut scope = String::with_capacity(64 + 16 * arguments.len());
        let known = if asked.principal_known { "=" } else { "?" };
        let approval = if asked.approval { "a" } else { "" };
        write!(
            scope,
            "{known}{}|{}|{approval}|",
            asked.principal_type,
            asked.resource.type_name()
        )
        .ok()?;
        plain_values(&mut scope, arguments)?;
        Some(Shape {
            action: Some(asked.action.clone()),
            scope,
        })
    }

    /// The shape of the entity `uid` with no parents, these attributes and tags, when its
    /// check depends on its shape alone.
    pub(crate) fn entity_shape(
        sets: &PolicySets,
        uid: &EntityUid,
        attributes: &Map<String, Value>,
        has_tags: bool,
    ) -> Option<Shape> {
        let entity_type = uid.type_name();
        // An action entity's conformance depends on its id too.
        if entity_type.basename() == "Action" || may_be_enumerated(sets, entity_type) {
            return None;
        }
        let tags = if has_tags { 't' } else { 'n' };
        let mut scope = String::with_capacity(48 + 16 * attributes.len());
        write!(scope, "{entity_type}|{tags}|").ok()?;
        plain_values(&mut scope, attributes)?;
        Some(Shape {
            action: None,
            scope,
        })
    }

    /// Whether Cedar accepted a request or entity of this shape before.
    pub(crate) fn accepted(&self, shape: &Shape) -> bool {
        self.shapes
            .lock()
            .is_ok_and(|shapes| shapes.contains(shape))
    }

    /// Remembers that Cedar accepted a request or entity of this shape.
    pub(crate) fn remember(&self, shape: Shape) {
        if let Ok(mut shapes) = self.shapes.lock()
            && shapes.len() < MAX_SHAPES
        {
            shapes.insert(shape);
        }
    }
}

/// Appends each value's name (length-prefixed, so no name can pass for another part) and type;
/// `None` when a value is not a string, an integer or a boolean.
fn plain_values(scope: &mut String, values: &Map<String, Value>) -> Option<()> {
    for (name, value) in values {
        let kind = match value {
            Value::String(_) => 's',
            Value::Bool(_) => 'b',
            Value::Number(n) if n.is_i64() => 'l',
            _ => return None,
        };
        write!(scope, "{}:{name}{kind}", name.len()).ok()?;
    }
    Some(())
}

/// Whether `entity_type` is, or may be, an enumerated type, whose entities are valid by their
/// id and not by their type alone.
fn may_be_enumerated(sets: &PolicySets, entity_type: impl std::fmt::Display) -> bool {
    match &sets.enum_types {
        None => true,
        Some(enums) => !enums.is_empty() && enums.contains(&entity_type.to_string()),
    }
}
