//! Loading the policy sets: parse, name, validate, slice by action, link the gateway set.

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
};

use cedar_policy::{
    ActionConstraint, Entities, EntityUid, PolicyId, PolicySet, PolicySetError, Schema, SlotId,
};

use crate::{request::TOOL_SEPARATOR, shadow};

use super::{
    AGENTCORE_SCHEMA, GATEWAY_DIR, PolicySources, RESOURCE_DIR,
    parse::{TEMPLATE_PREFIX, parse_set, rename_templates, validate},
    problem::{LoadError, Problem},
    schema::{Arguments, load_schema},
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
    pub(crate) action_entities: Entities,
    /// Every action the schema declares.
    pub(crate) actions: HashSet<EntityUid>,
    /// The tools the gateway schema declares (`restart_service`, the part after `___`): the
    /// only names metrics are counted under.
    pub(crate) tools: HashSet<String>,
    /// The declared `context.input` arguments of each action, for errors that name the field.
    pub(crate) arguments: HashMap<EntityUid, Arguments>,
}

/// Policy sets by the action they can apply to.
pub(crate) type Slices = HashMap<EntityUid, PolicySet>;

/// The gateway templates could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Cedar refused a policy, a template or a link.
    #[error(transparent)]
    Cedar(Box<PolicySetError>),
    /// A template was met with no gateway to link it to.
    #[error("template `{0}` needs a gateway to link")]
    NoGateway(PolicyId),
}

impl From<PolicySetError> for LinkError {
    fn from(e: PolicySetError) -> Self {
        Self::Cedar(Box::new(e))
    }
}

/// Where a policy was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The file, relative to the policies directory.
    pub file: String,
    /// 1-based line of the policy's first line.
    pub line: usize,
}

impl PolicySets {
    /// Parses, names and validates (strict mode) every file in `sources`.
    pub fn load(sources: &PolicySources) -> Result<Self, LoadError> {
        let mut problems = Vec::new();

        let (agentcore_schema, schema, arguments) = load_schema(sources, &mut problems);
        let mut origins = HashMap::new();
        let gateway = parse_set(sources, GATEWAY_DIR, true, &mut origins, &mut problems);
        let resource = parse_set(sources, RESOURCE_DIR, false, &mut origins, &mut problems);
        if gateway.is_empty() && resource.is_empty() && problems.is_empty() {
            problems.push(Problem::file(
                sources.origin.clone(),
                "no policies found: every call would be denied",
            ));
        }

        let (Some(agentcore_schema), Some(schema)) = (agentcore_schema, schema) else {
            return Err(LoadError { problems });
        };
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }

        validate(
            &gateway,
            &agentcore_schema,
            sources,
            &origins,
            &mut problems,
        );
        validate(&resource, &schema, sources, &origins, &mut problems);
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }

        let action_entities = schema.action_entities().map_err(|e| LoadError {
            problems: vec![Problem::file(AGENTCORE_SCHEMA, e.to_string())],
        })?;
        let actions: HashSet<EntityUid> = schema.actions().cloned().collect();
        let tools = actions
            .iter()
            .filter(|a| a.type_name().to_string() == "AgentCore::Action")
            .filter_map(|a| {
                let id: &str = a.id().unescaped();
                id.split_once(TOOL_SEPARATOR)
                    .map(|(_, tool)| tool.to_owned())
            })
            .collect();
        let mut sets = Self {
            gateway_templates: rename_templates(gateway),
            resource,
            resource_slices: Slices::new(),
            resource_shadow: Slices::new(),
            schema,
            action_entities,
            actions,
            tools,
            arguments,
        };
        let slice_error = |e: LinkError| LoadError {
            problems: vec![Problem::file(RESOURCE_DIR, e.to_string())],
        };
        sets.resource_slices = sets
            .slices(&shadow::enforced(&sets.resource), None)
            .map_err(slice_error)?;
        if shadow::any(&sets.resource) {
            sets.resource_shadow =
                shadow::shadowed(sets.slices(&sets.resource, None).map_err(slice_error)?);
        }
        Ok(sets)
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
        self.slices(&shadow::enforced(&self.gateway_templates), Some(gateway))
    }

    /// The linked gateway slices that hold shadow policies, with every other policy of the
    /// slice; empty when there are none.
    pub(crate) fn gateway_shadow_slices(&self, gateway: &EntityUid) -> Result<Slices, LinkError> {
        if !shadow::any(&self.gateway_templates) {
            return Ok(Slices::new());
        }
        Ok(shadow::shadowed(
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

    /// Number of resource policies.
    pub fn resource_len(&self) -> usize {
        self.resource.num_of_policies()
    }

    /// The `context.input` arguments the schema declares for an action (`AgentCore::Action`,
    /// `restart-service___restart_service`): name → Cedar type.
    pub fn declared_arguments(&self, action_type: &str, action: &str) -> Option<&Arguments> {
        let uid = EntityUid::from_str(&format!(
            "{action_type}::{}",
            serde_json::Value::String(action.to_owned())
        ))
        .ok()?;
        self.arguments.get(&uid)
    }
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
