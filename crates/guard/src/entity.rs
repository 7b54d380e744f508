//! The entities and uids of a request: the caller and the real resource as Cedar entities, the
//! action entities each action's requests can reach, and uids of the schema's types.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    str::FromStr,
    sync::{Arc, Mutex, OnceLock},
};

use cedar_policy::{Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicySet};
use serde_json::Value;

use crate::{
    action::ActionType,
    caller::Principal,
    error::{EntityRole, GuardError, with_causes},
    gateway::LinkedGateway,
    policy::PolicySets,
    request::ResourceFacts,
    validated::{Shape, Validated},
    value,
};

/// For each action, the action entities a request for it can reach: the action, every action
/// named as a literal in a policy the request is decided against (the action's slices, enforced
/// and shadow, of the resource set and the linked gateway set: no other policy is evaluated for
/// it), and their ancestors (action groups). No other action entity can be looked up while
/// deciding: the only action-typed values are `action` and the literals (tool arguments, tags
/// and resource facts never become entity references), and action entities carry nothing but
/// their groups. So a decision with this store is the decision with every action entity, and
/// adding the caller or the resource to it costs in proportion to the handful of entities it
/// holds rather than to every action entity. Each store is built the first time its action is
/// asked about, so a cold start pays only for the actions it serves.
#[derive(Debug, Default)]
pub(crate) struct ActionStores {
    stores: HashMap<EntityUid, ActionStore>,
}

/// One action's store, and the same store with the caller last asked about added.
#[derive(Debug, Default)]
struct ActionStore {
    actions: OnceLock<Option<Arc<Entities>>>,
    /// The caller's entity depends on nothing but the caller (its type, id and tags), and a
    /// function mostly serves one caller at a time: so the store with the caller added and
    /// checked against the schema is kept for the next request of the same caller, instead
    /// of being built again. Only a store that was built without error is kept.
    last_caller: Mutex<Option<(Principal, Arc<Entities>)>>,
}

impl ActionStores {
    /// A store, not yet built, for each action `sets` declares.
    pub(crate) fn new(sets: &PolicySets) -> Self {
        let stores = sets
            .actions
            .iter()
            .map(|a| (a.clone(), ActionStore::default()))
            .collect();
        Self { stores }
    }

    /// The store for `action`, decided against the slices of `sets` and of `gateway`, if
    /// linked; every action entity for an action not declared, or if the store could not be
    /// built.
    fn actions(
        &self,
        sets: &PolicySets,
        gateway: Option<&LinkedGateway>,
        action: &EntityUid,
    ) -> Arc<Entities> {
        let built = self.stores.get(action).and_then(|store| {
            store
                .actions
                .get_or_init(|| {
                    let slices = [&sets.resource_slices, &sets.resource_shadow]
                        .into_iter()
                        .chain(gateway.into_iter().flat_map(|g| [&g.slices, &g.shadow]));
                    let literals = slices
                        .filter_map(|slices| slices.get(action))
                        .flat_map(PolicySet::policies)
                        .flat_map(Policy::entity_literals)
                        .filter(|uid| sets.actions.contains(uid));
                    let mut reach: HashSet<EntityUid> = HashSet::new();
                    for uid in std::iter::once(action.clone()).chain(literals) {
                        if let Some(ancestors) = sets.action_entities.ancestors(&uid) {
                            reach.extend(ancestors.cloned());
                        }
                        reach.insert(uid);
                    }
                    let entities = reach
                        .iter()
                        .filter_map(|uid| sets.action_entities.get(uid).cloned());
                    Entities::from_entities(entities, None).ok().map(Arc::new)
                })
                .clone()
        });
        built.unwrap_or_else(|| Arc::clone(&sets.action_entities))
    }

    /// The store for `action` with `principal` added: the one kept from the last request
    /// when it was for the same caller, else built by `build` (and kept).
    fn with_caller(
        &self,
        action: &EntityUid,
        principal: &Principal,
        build: impl FnOnce() -> Result<Arc<Entities>, GuardError>,
    ) -> Result<Arc<Entities>, GuardError> {
        let Some(store) = self.stores.get(action) else {
            return build();
        };
        if let Ok(last) = store.last_caller.lock()
            && let Some((caller, entities)) = last.as_ref()
            && caller == principal
        {
            return Ok(Arc::clone(entities));
        }
        let built = build()?;
        if let Ok(mut last) = store.last_caller.lock() {
            *last = Some((principal.clone(), Arc::clone(&built)));
        }
        Ok(built)
    }
}

/// The entities a request for `action` needs: the action entities it can reach, with the
/// caller and the resource, if any, each checked against the schema (once per shape, see
/// [`Validated`]).
pub(crate) fn entities(
    sets: &PolicySets,
    stores: &ActionStores,
    validated: &Validated,
    gateway: Option<&LinkedGateway>,
    action: &EntityUid,
    principal: Option<&Principal>,
    resource: Option<&ResourceFacts>,
) -> Result<Arc<Entities>, GuardError> {
    let actions = stores.actions(sets, gateway, action);
    let base = match principal {
        None => actions,
        Some(p) => stores.with_caller(action, p, || {
            let no_tags = BTreeMap::new();
            let (attrs, tags) = match p {
                Principal::OAuthUser { id, tags } => (id_attribute(id), tags),
                Principal::IamEntity { id } => (id_attribute(id), &no_tags),
            };
            let uid = sets.entity_uid(p.entity_type(), p.id())?;
            let shape = Validated::entity_shape(sets, &uid, &attrs, !tags.is_empty());
            let entity =
                value::entity(uid, &attrs, tags).map_err(|message| GuardError::InvalidEntity {
                    what: EntityRole::Caller,
                    message,
                })?;
            add(sets, validated, actions, entity, shape, EntityRole::Caller)
        })?,
    };
    let Some(r) = resource else {
        return Ok(base);
    };
    let (attributes, tags) = value::folded_resource(&r.attributes, &r.tags)
        .map_err(|clashes| GuardError::AmbiguousTags(clashes.join(", ")))?;
    let uid = resource_uid(sets, r)?;
    let shape = Validated::entity_shape(sets, &uid, &attributes, !tags.is_empty());
    let entity =
        value::entity(uid, &attributes, &tags).map_err(|message| GuardError::InvalidEntity {
            what: EntityRole::Resource,
            message,
        })?;
    add(sets, validated, base, entity, shape, EntityRole::Resource)
}

/// `store` with `entity` added, checked against the schema (with the schema, Cedar checks the
/// entity against its type) unless Cedar accepted an entity of its shape before.
fn add(
    sets: &PolicySets,
    validated: &Validated,
    store: Arc<Entities>,
    entity: Entity,
    shape: Option<Shape>,
    what: EntityRole,
) -> Result<Arc<Entities>, GuardError> {
    let schema = match &shape {
        Some(shape) if validated.accepted(shape) => None,
        _ => Some(&sets.schema),
    };
    let added = Arc::unwrap_or_clone(store)
        .add_entities([entity], schema)
        .map_err(|e| GuardError::InvalidEntity {
            what,
            message: with_causes(&e),
        })?;
    if let (Some(shape), Some(_)) = (shape, schema) {
        validated.remember(shape);
    }
    Ok(Arc::new(added))
}

fn id_attribute(id: &str) -> serde_json::Map<String, Value> {
    serde_json::Map::from_iter([("id".to_owned(), Value::String(id.to_owned()))])
}

fn type_name(name: &str) -> Result<EntityTypeName, GuardError> {
    EntityTypeName::from_str(name).map_err(|e| GuardError::InvalidEntity {
        what: EntityRole::EntityType,
        message: format!("`{name}`: {e}"),
    })
}

/// `Type::"id"` as a Cedar entity uid.
pub(crate) fn uid(type_name_str: &str, id: &str) -> Result<EntityUid, GuardError> {
    Ok(EntityUid::from_type_name_and_id(
        type_name(type_name_str)?,
        EntityId::new(id),
    ))
}

impl PolicySets {
    /// An entity type name: the schema's, parsed once at load, or parsed now.
    pub(crate) fn entity_type(&self, name: &str) -> Result<EntityTypeName, GuardError> {
        match self.entity_types.get(name) {
            Some(t) => Ok(t.clone()),
            None => type_name(name),
        }
    }

    /// `Type::"id"` as a Cedar entity uid, with the type name parsed once where the schema
    /// declares it.
    pub(crate) fn entity_uid(&self, type_name: &str, id: &str) -> Result<EntityUid, GuardError> {
        Ok(EntityUid::from_type_name_and_id(
            self.entity_type(type_name)?,
            EntityId::new(id),
        ))
    }

    /// An action's uid and its printed form: the schema's, built once, or built now (an
    /// undeclared action, which the checks then refuse).
    pub(crate) fn action_uid(
        &self,
        action_type: ActionType,
        id: &str,
    ) -> Result<(EntityUid, String), GuardError> {
        match self.action(action_type, id) {
            Some(a) => Ok((a.uid.clone(), a.text.clone())),
            None => {
                let uid = uid(action_type.as_str(), id)?;
                let text = uid.to_string();
                Ok((uid, text))
            }
        }
    }
}

/// The real resource's uid; a bad type name is an invalid resource.
pub(crate) fn resource_uid(sets: &PolicySets, r: &ResourceFacts) -> Result<EntityUid, GuardError> {
    sets.entity_uid(&r.entity_type, &r.id)
        .map_err(|e| GuardError::InvalidEntity {
            what: EntityRole::Resource,
            message: e.to_string(),
        })
}
