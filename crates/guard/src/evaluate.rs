//! Building Cedar requests from tool calls and asking Cedar: with a known caller, or with the
//! caller unknown (partial evaluation, fail closed when the answer depends on it).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    str::FromStr,
    sync::OnceLock,
};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Effect, Entities, EntityId, EntityTypeName,
    EntityUid, PartialResponse, Policy, PolicySet, Request, RequestValidationError,
};
use serde_json::Value;

use crate::{
    action::ActionType,
    caller::{CallerType, Principal},
    decision::Reason,
    error::{EntityRole, GuardError, with_causes},
    policy::{PolicySets, Slices},
    request::ResourceFacts,
    value::{self, json_type, to_cedar},
};

/// What Cedar said: the reason, and the determining policies' ids.
pub(crate) type Evaluated = Result<(Reason, Vec<String>), GuardError>;

/// One evaluation's inputs.
pub(crate) struct Evaluation<'a> {
    pub tool: &'a str,
    pub principal: Option<&'a Principal>,
    pub action: EntityUid,
    pub resource: EntityUid,
    pub resource_entity: Option<&'a ResourceFacts>,
    pub input: &'a Value,
}

/// What every evaluation needs: the authorizer, the loaded sets, and the caller type assumed
/// when the caller is unknown.
pub(crate) struct Cedar<'a> {
    pub authorizer: &'a Authorizer,
    pub sets: &'a PolicySets,
    pub caller_type: CallerType,
    /// The action entities each action's requests need (see [`ActionStores`]).
    pub action_stores: &'a ActionStores,
}

/// For each action, the action entities a request for it can reach: the action, every action
/// named as a literal in any policy, and their ancestors (action groups). No other action
/// entity can be looked up while deciding: the only action-typed values are `action` and the
/// literals (tool arguments, tags and resource facts never become entity references), and
/// action entities carry nothing but their groups. So a decision with this store is the
/// decision with every action entity, without copying them all and recomputing their
/// hierarchy for every request. Each store is built the first time its action is asked
/// about, so a cold start pays only for the actions it serves.
#[derive(Debug, Default)]
pub(crate) struct ActionStores {
    literals: HashSet<EntityUid>,
    stores: HashMap<EntityUid, OnceLock<Option<Entities>>>,
}

impl ActionStores {
    /// The stores for `sets` and the linked gateway set, if any.
    pub(crate) fn new(sets: &PolicySets, gateway: Option<&PolicySet>) -> Self {
        let literals = sets
            .resource
            .policies()
            .chain(gateway.into_iter().flat_map(PolicySet::policies))
            .flat_map(Policy::entity_literals)
            .filter(|uid| sets.actions.contains(uid))
            .collect();
        let stores = sets
            .actions
            .iter()
            .map(|a| (a.clone(), OnceLock::new()))
            .collect();
        Self { literals, stores }
    }

    /// The store for `action`; `None` (every action entity is used) for an action not
    /// declared, or if the store could not be built.
    fn get(&self, sets: &PolicySets, action: &EntityUid) -> Option<&Entities> {
        self.stores
            .get(action)?
            .get_or_init(|| {
                let mut reach: HashSet<&EntityUid> = HashSet::new();
                for uid in std::iter::once(action).chain(&self.literals) {
                    reach.insert(uid);
                    if let Some(ancestors) = sets.action_entities.ancestors(uid) {
                        reach.extend(ancestors);
                    }
                }
                let entities = reach
                    .into_iter()
                    .filter_map(|uid| sets.action_entities.get(uid).cloned());
                Entities::from_entities(entities, None).ok()
            })
            .as_ref()
    }
}

impl Cedar<'_> {
    /// Decides one request against the slice of `slices` for its action.
    pub(crate) fn evaluate(&self, slices: &Slices, e: Evaluation<'_>) -> Evaluated {
        let (authorizer, sets, caller_type) = (self.authorizer, self.sets, self.caller_type);
        let schema = &sets.schema;
        // INVARIANT: every action the schema declares has a slice, possibly empty.
        let Some(set) = slices.get(&e.action) else {
            return Err(GuardError::UnknownTool(e.tool.to_owned()));
        };
        let Value::Object(_) = e.input else {
            return Err(GuardError::InputNotObject {
                tool: e.tool.to_owned(),
                got: json_type(e.input),
            });
        };
        let invalid_input = |message: String| GuardError::InvalidInput {
            tool: e.tool.to_owned(),
            message,
        };
        let input = to_cedar(e.input).map_err(invalid_input)?;
        let context = Context::from_pairs([("input".to_owned(), input)])
            .map_err(|err| invalid_input(with_causes(&err)))?;

        let entities = entities(
            sets,
            self.action_stores.get(sets, &e.action),
            e.principal,
            e.resource_entity,
        )?;
        let entities = entities.as_ref().unwrap_or(&sets.action_entities);
        let action = e.action.clone();
        let request_error = |err: RequestValidationError| match err {
            RequestValidationError::InvalidContext(_)
            | RequestValidationError::TypeOfContext(_) => {
                invalid_input(context_mismatch(sets, &action, e.input, &err))
            }
            other => GuardError::InvalidEntity {
                what: EntityRole::Request,
                message: with_causes(&other),
            },
        };

        match e.principal {
            Some(principal) => {
                let principal = sets.entity_uid(principal.entity_type(), principal.id())?;
                let request = Request::new(principal, e.action, e.resource, context, Some(schema))
                    .map_err(request_error)?;
                let response = authorizer.is_authorized(&request, set, entities);
                let errors: Vec<String> = response
                    .diagnostics()
                    .errors()
                    .map(ToString::to_string)
                    .collect();
                if !errors.is_empty() {
                    return Err(GuardError::Evaluation(errors.join("; ")));
                }
                let mut policies: Vec<String> = response
                    .diagnostics()
                    .reason()
                    .map(ToString::to_string)
                    .collect();
                policies.sort();
                Ok(match response.decision() {
                    CedarDecision::Allow => (Reason::Permitted, policies),
                    CedarDecision::Deny => denied(policies),
                })
            }
            None => {
                let request = Request::builder()
                    .unknown_principal_with_type(sets.entity_type(caller_type.entity_type())?)
                    .action(e.action)
                    .resource(e.resource)
                    .context(context)
                    .schema(schema)
                    .build()
                    .map_err(request_error)?;
                let response = authorizer.is_authorized_partial(&request, set, entities);
                no_partial_errors(&response)?;
                match response.decision() {
                    Some(CedarDecision::Allow) => Ok((
                        Reason::Permitted,
                        ids_of(response.definitely_satisfied(), Effect::Permit),
                    )),
                    Some(CedarDecision::Deny) => Ok(denied(ids_of(
                        response.definitely_satisfied(),
                        Effect::Forbid,
                    ))),
                    None => {
                        let mut residual: Vec<String> = response
                            .nontrivial_residuals()
                            .map(|p| format!("`{}`", p.id()))
                            .collect();
                        residual.sort();
                        Err(GuardError::CallerUnknown(residual.join(", ")))
                    }
                }
            }
        }
    }

    /// Could some call of `action` by `principal` be permitted? Partial evaluation with the
    /// arguments (the context) unknown.
    pub(crate) fn analyse_tool(&self, slices: &Slices, e: Evaluation<'_>) -> Evaluated {
        let (authorizer, sets, caller_type) = (self.authorizer, self.sets, self.caller_type);
        let Evaluation {
            tool,
            principal,
            action,
            resource: gateway,
            ..
        } = e;
        let Some(set) = slices.get(&action) else {
            return Err(GuardError::UnknownTool(tool.to_owned()));
        };
        let entities = entities(sets, self.action_stores.get(sets, &action), principal, None)?;
        let entities = entities.as_ref().unwrap_or(&sets.action_entities);
        let builder = Request::builder();
        let builder = match principal {
            Some(p) => builder.principal(sets.entity_uid(p.entity_type(), p.id())?),
            None => {
                builder.unknown_principal_with_type(sets.entity_type(caller_type.entity_type())?)
            }
        };
        // No context: the arguments are the unknown.
        let request = builder
            .action(action)
            .resource(gateway)
            .schema(&sets.schema)
            .build()
            .map_err(|e| GuardError::InvalidEntity {
                what: EntityRole::Request,
                message: with_causes(&e),
            })?;
        let response = authorizer.is_authorized_partial(&request, set, entities);
        no_partial_errors(&response)?;
        Ok(match response.decision() {
            Some(CedarDecision::Deny) => {
                denied(ids_of(response.definitely_satisfied(), Effect::Forbid))
            }
            // Allowed outright, or allowed for some arguments.
            Some(CedarDecision::Allow) | None => (
                Reason::Permitted,
                ids_of(response.may_be_determining(), Effect::Permit),
            ),
        })
    }
}

/// Any policy that errored makes the decision an error: an erroring policy is a deny, never a
/// policy silently skipped.
fn no_partial_errors(response: &PartialResponse) -> Result<(), GuardError> {
    let errors: Vec<String> = response
        .definitely_errored()
        .map(ToString::to_string)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GuardError::Evaluation(format!(
            "policies {} failed to evaluate",
            errors.join(", ")
        )))
    }
}

/// The ids of the policies with `effect`, sorted.
fn ids_of(policies: impl Iterator<Item = Policy>, effect: Effect) -> Vec<String> {
    let mut ids: Vec<String> = policies
        .filter(|p| p.effect() == effect)
        .map(|p| p.id().to_string())
        .collect();
    ids.sort();
    ids
}

/// A deny: by the forbids that applied, or by default when none did.
fn denied(forbids: Vec<String>) -> (Reason, Vec<String>) {
    if forbids.is_empty() {
        (Reason::NoPolicyPermits, forbids)
    } else {
        (Reason::Forbidden, forbids)
    }
}

/// The entities a request needs: the caller and the resource, if any, with the action
/// entities of `actions` (or all of them); `None` when there is neither caller nor resource
/// (the request then uses all the action entities, unchanged).
fn entities(
    sets: &PolicySets,
    actions: Option<&Entities>,
    principal: Option<&Principal>,
    resource: Option<&ResourceFacts>,
) -> Result<Option<Entities>, GuardError> {
    let mut extra = Vec::with_capacity(2);
    if let Some(p) = principal {
        let no_tags = BTreeMap::new();
        let (attrs, tags) = match p {
            Principal::OAuthUser { id, tags } => (id_attribute(id), tags),
            Principal::IamEntity { id } => (id_attribute(id), &no_tags),
        };
        let entity = value::entity(sets.entity_uid(p.entity_type(), p.id())?, &attrs, tags)
            .map_err(|message| GuardError::InvalidEntity {
                what: EntityRole::Caller,
                message,
            })?;
        extra.push(entity);
    }
    if let Some(r) = resource {
        let (attributes, tags) = value::folded_resource(&r.attributes, &r.tags)
            .map_err(|clashes| GuardError::AmbiguousTags(clashes.join(", ")))?;
        let entity =
            value::entity(resource_uid(sets, r)?, &attributes, &tags).map_err(|message| {
                GuardError::InvalidEntity {
                    what: EntityRole::Resource,
                    message,
                }
            })?;
        extra.push(entity);
    }
    if extra.is_empty() {
        return Ok(None);
    }
    // With the schema, Cedar checks each entity against its type. The action entities are
    // the action's store, or all of them when it has none.
    let base = actions.unwrap_or(&sets.action_entities).clone();
    base.add_entities(extra, Some(&sets.schema))
        .map(Some)
        .map_err(|e| GuardError::InvalidEntity {
            what: if resource.is_some() {
                EntityRole::Resource
            } else {
                EntityRole::Caller
            },
            message: with_causes(&e),
        })
}

fn id_attribute(id: &str) -> serde_json::Map<String, Value> {
    serde_json::Map::from_iter([("id".to_owned(), Value::String(id.to_owned()))])
}

/// Cedar says only that the context does not fit; the declared arguments say which field and
/// why. Worked out only once a request has failed, so the cost stays off the normal path.
fn context_mismatch(
    sets: &PolicySets,
    action: &EntityUid,
    input: &Value,
    err: &RequestValidationError,
) -> String {
    let (Some(declared), Value::Object(given)) = (sets.arguments.get(action), input) else {
        return with_causes(err);
    };
    let problems: Vec<String> = given
        .iter()
        .filter_map(|(name, value)| match declared.get(name) {
            None => Some(format!(
                "unknown argument `{}` (declared: {})",
                name.escape_debug(),
                declared
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(ty) if !json_fits(ty, value) => {
                Some(format!("`{name}` must be {ty}, got {}", json_type(value)))
            }
            Some(_) => None,
        })
        .collect();
    if problems.is_empty() {
        with_causes(err)
    } else {
        problems.join("; ")
    }
}

/// Whether a JSON value has the shape of a Cedar type named in the schema.
fn json_fits(cedar_type: &str, value: &Value) -> bool {
    match cedar_type {
        "String" => value.is_string(),
        "Long" => value.is_i64(),
        "Bool" | "Boolean" => value.is_boolean(),
        "Set" => value.is_array(),
        "Record" => value.is_object(),
        // Entity references and extension types: let Cedar's own message speak.
        _ => true,
    }
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
