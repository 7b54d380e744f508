//! Loading the policy sets: parse, name, validate, slice by action, link the gateway set.

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
    sync::Arc,
};

use cedar_policy::{
    ActionConstraint, Entities, EntityTypeName, EntityUid, PolicyId, PolicySet, Schema, SlotId,
};

use crate::action::{ActionType, ToolName};

use super::{
    AGENTCORE_SCHEMA, GATEWAY_DIR, PolicySources, RESOURCE_DIR, annotation,
    error::{LinkError, LoadError},
    parse::{TEMPLATE_PREFIX, parse_set, rename_templates, validate},
    problem::Problem,
    schema::{Arguments, Declared, load_schema, load_schema_json},
};

/// The loaded, validated policy sets and the schema they were validated against.
#[derive(Debug, Clone)]
pub struct PolicySets {
    pub(crate) schema: Schema,
    /// The gateway templates (and any static gateway policies), unlinked.
    gateway_templates: PolicySet,
    pub(crate) resource: PolicySet,
    pub(crate) resource_slices: Slices,
    /// The resource slices that hold shadow policies (`@mode("LOG_ONLY")`), with every other
    /// policy of the slice: decided beside the enforced ones, never instead.
    pub(crate) resource_shadow: Slices,
    /// The action entities of the schema, built once.
    pub(crate) action_entities: Arc<Entities>,
    /// Every action the schema declares.
    pub(crate) actions: HashSet<EntityUid>,
    /// The tools the gateway schema declares (`restart_service`, the part after `___`): the
    /// only names metrics are counted under.
    pub(crate) tools: HashSet<String>,
    /// The declared `context.input` arguments of each action, for errors that name the field.
    pub(crate) arguments: HashMap<EntityUid, Arguments>,
    /// The enumerated entity types, by name; `None` when unknown (any type may be one).
    pub(crate) enum_types: Option<HashSet<String>>,
    /// Every declared action of the two types by its type and id, with its printed form:
    /// built once, so a decision neither parses nor prints the action's uid.
    pub(crate) action_refs: HashMap<ActionType, HashMap<String, ActionRef>>,
    /// The schema's entity type names, parsed once.
    pub(crate) entity_types: HashMap<String, EntityTypeName>,
}

/// A declared action's uid and its printed form (`AgentCore::Action::"a___b"`).
#[derive(Debug, Clone)]
pub(crate) struct ActionRef {
    pub uid: EntityUid,
    pub text: String,
}

/// Policy sets by the action they can apply to.
pub(crate) type Slices = HashMap<EntityUid, PolicySet>;

impl PolicySets {
    /// Parses, names and validates (strict mode) every file in `sources`.
    pub fn load(sources: &PolicySources) -> Result<Self, LoadError> {
        let Checked {
            schema,
            arguments,
            gateway,
            resource,
        } = check(sources)?;
        let action_entities = schema
            .action_entities()
            .map(Arc::new)
            .map_err(|e| LoadError::in_file(AGENTCORE_SCHEMA, e))?;
        let actions: HashSet<EntityUid> = schema.actions().cloned().collect();
        let entity_types = schema
            .entity_types()
            .map(|t| (t.to_string(), t.clone()))
            .collect();
        let gateway_templates =
            rename_templates(gateway).map_err(|e| LoadError::in_file(GATEWAY_DIR, e))?;
        let mut sets = Self {
            tools: declared_tools(&actions),
            action_refs: action_refs(&actions),
            entity_types,
            gateway_templates,
            resource,
            resource_slices: Slices::new(),
            resource_shadow: Slices::new(),
            schema,
            action_entities,
            actions,
            arguments: arguments.arguments,
            enum_types: arguments.enums,
        };
        sets.slice_resource_set()
            .map_err(|e| LoadError::in_file(RESOURCE_DIR, e))?;
        Ok(sets)
    }

    /// Slices the resource set by action: its enforced policies, and apart the slices that
    /// shadow policies can apply to.
    fn slice_resource_set(&mut self) -> Result<(), LinkError> {
        self.resource_slices = self.slices(&annotation::enforced(&self.resource)?, None)?;
        if annotation::any(&self.resource) {
            self.resource_shadow = shadowed(self.slices(&self.resource, None)?);
        }
        Ok(())
    }

    /// A declared action of type `action_type`, by id.
    pub(crate) fn action(&self, action_type: ActionType, id: &str) -> Option<&ActionRef> {
        self.action_refs.get(&action_type)?.get(id)
    }

    /// Whether the schema declares `tool` (its tool part, `terminate_instance`).
    pub fn declares_tool(&self, tool: &str) -> bool {
        self.tools.contains(tool)
    }

    /// The gateway set linked to one gateway: each template becomes a policy named by its
    /// `@id`, with `?resource` bound to `AgentCore::Gateway::"<arn>"`. Shadow policies are in
    /// it, annotated, as AgentCore takes them; the guard never enforces them.
    pub fn link_gateway(&self, gateway: &EntityUid) -> Result<PolicySet, LinkError> {
        build_set(&self.gateway_templates, |_| true, Some(gateway))
    }

    /// The linked gateway set, sliced by action: the enforced policies only.
    pub(crate) fn gateway_slices(&self, gateway: &EntityUid) -> Result<Slices, LinkError> {
        self.slices(
            &annotation::enforced(&self.gateway_templates)?,
            Some(gateway),
        )
    }

    /// The linked gateway slices that hold shadow policies, with every other policy of the
    /// slice; empty when there are none.
    pub(crate) fn gateway_shadow_slices(&self, gateway: &EntityUid) -> Result<Slices, LinkError> {
        if !annotation::any(&self.gateway_templates) {
            return Ok(Slices::new());
        }
        Ok(shadowed(
            self.slices(&self.gateway_templates, Some(gateway))?,
        ))
    }

    /// One policy set per schema action, holding only the policies whose scope can match that
    /// action. A policy whose action scope cannot match evaluates to false without error, so
    /// leaving it out changes no decision; it only saves evaluating it.
    fn slices(&self, set: &PolicySet, gateway: Option<&EntityUid>) -> Result<Slices, LinkError> {
        self.actions
            .iter()
            .map(|action| {
                let ancestors: Vec<&EntityUid> = self
                    .action_entities
                    .ancestors(action)
                    .map(Iterator::collect)
                    .unwrap_or_default();
                let matches = |c: &ActionConstraint| match c {
                    ActionConstraint::Any => true,
                    ActionConstraint::Eq(a) => a == action,
                    ActionConstraint::In(groups) => {
                        groups.iter().any(|g| g == action || ancestors.contains(&g))
                    }
                };
                Ok((action.clone(), build_set(set, matches, gateway)?))
            })
            .collect()
    }

    /// The combined schema (AgentCore and resource parts).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Number of gateway policies (templates and static ones).
    pub fn gateway_len(&self) -> usize {
        self.gateway_templates.num_of_templates() + self.gateway_templates.num_of_policies()
    }

    /// The resource set, enforced and shadow policies alike.
    pub fn resource_set(&self) -> &PolicySet {
        &self.resource
    }

    /// Number of resource policies.
    pub fn resource_len(&self) -> usize {
        self.resource.num_of_policies()
    }

    /// The `context.input` arguments the schema declares for an action
    /// ([`ActionType::Call`], `restart-service___restart_service`): name → Cedar type.
    pub fn declared_arguments(&self, action_type: ActionType, action: &str) -> Option<&Arguments> {
        let uid = EntityUid::from_str(&action_type.uid_string(action)).ok()?;
        self.arguments.get(&uid)
    }
}

/// The files parsed, named and validated: the combined schema, each action's declared
/// arguments, and the two sets.
struct Checked {
    schema: Schema,
    arguments: Declared,
    gateway: PolicySet,
    resource: PolicySet,
}

/// Parses every file of `sources` and validates both sets, unless build.rs did; every problem
/// found, or the parsed sets.
fn check(sources: &PolicySources) -> Result<Checked, LoadError> {
    let mut problems = Vec::new();
    let (agentcore_schema, schema, arguments) = match sources.prevalidated {
        // Validated at build time: the schema from its JSON form, no second validation.
        Some(prevalidated) => {
            let (schema, arguments) = load_schema_json(prevalidated.schema_json, &mut problems);
            (None, schema, arguments)
        }
        None => load_schema(sources, &mut problems),
    };
    let mut origins = HashMap::new();
    let gateway = parse_set(sources, GATEWAY_DIR, true, &mut origins, &mut problems);
    let resource = parse_set(sources, RESOURCE_DIR, false, &mut origins, &mut problems);
    if gateway.is_empty() && resource.is_empty() && problems.is_empty() {
        problems.push(Problem::file(
            sources.origin.clone(),
            "no policies found: every call would be denied",
        ));
    }
    let Some(schema) = schema.filter(|_| problems.is_empty()) else {
        return Err(LoadError { problems });
    };
    match (agentcore_schema, sources.prevalidated) {
        (_, Some(_)) => {}
        (Some(agentcore_schema), None) => {
            validate(
                &gateway,
                &agentcore_schema,
                sources,
                &origins,
                &mut problems,
            );
            validate(&resource, &schema, sources, &origins, &mut problems);
        }
        (None, None) => problems.push(Problem::file(
            AGENTCORE_SCHEMA,
            "missing: the gateway policies are validated against it",
        )),
    }
    if !problems.is_empty() {
        return Err(LoadError { problems });
    }
    Ok(Checked {
        schema,
        arguments,
        gateway,
        resource,
    })
}

/// The tools the gateway actions name (`restart_service`, the part after `___`).
fn declared_tools(actions: &HashSet<EntityUid>) -> HashSet<String> {
    actions
        .iter()
        .filter(|a| ActionType::of(a) == Some(ActionType::Call))
        .filter_map(|a| ToolName::parse(a.id().unescaped()).ok())
        .map(|name| name.tool.to_owned())
        .collect()
}

/// Every action of the two types by type and id, with its printed form.
fn action_refs(actions: &HashSet<EntityUid>) -> HashMap<ActionType, HashMap<String, ActionRef>> {
    let mut refs: HashMap<ActionType, HashMap<String, ActionRef>> = HashMap::new();
    for action in actions {
        let Some(action_type) = ActionType::of(action) else {
            continue;
        };
        refs.entry(action_type).or_default().insert(
            action.id().unescaped().to_owned(),
            ActionRef {
                uid: action.clone(),
                text: action.to_string(),
            },
        );
    }
    refs
}

/// Of slices built from every policy, the ones a shadow policy can apply to: the only actions
/// decided twice.
fn shadowed(all: Slices) -> Slices {
    all.into_iter()
        .filter(|(_, set)| set.policies().any(annotation::policy_is_shadow))
        .collect()
}

/// The static policies and linked templates of `set` whose action scope `keep` accepts.
fn build_set(
    set: &PolicySet,
    keep: impl Fn(&ActionConstraint) -> bool,
    gateway: Option<&EntityUid>,
) -> Result<PolicySet, LinkError> {
    let mut built = PolicySet::new();
    for policy in set.policies().filter(|p| keep(&p.action_constraint())) {
        built.add(policy.clone())?;
    }
    for template in set.templates().filter(|t| keep(&t.action_constraint())) {
        let Some(gateway) = gateway else {
            return Err(LinkError::NoGateway(template.id().clone()));
        };
        built.add_template(template.clone())?;
        let id = template.id().to_string();
        let linked_id = id.strip_prefix(TEMPLATE_PREFIX).unwrap_or(&id).to_owned();
        built.link(
            template.id().clone(),
            PolicyId::new(linked_id),
            HashMap::from([(SlotId::resource(), gateway.clone())]),
        )?;
    }
    Ok(built)
}

#[cfg(test)]
mod tests;
