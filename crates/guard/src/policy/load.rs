//! Loading the policy sets: parse, name, validate, slice by action, link the gateway set.

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
};

use cedar_policy::{
    ActionConstraint, Entities, EntityTypeName, EntityUid, PolicyId, PolicySet, PolicySetError,
    Schema, SlotId,
};

use crate::{
    action::{ActionType, ToolName},
    shadow,
};

use super::{
    AGENTCORE_SCHEMA, GATEWAY_DIR, PolicySources, RESOURCE_DIR,
    parse::{TEMPLATE_PREFIX, parse_set, rename_templates, validate},
    problem::{LoadError, Problem},
    schema::{Arguments, load_schema, load_schema_json},
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

        let Some(schema) = schema else {
            return Err(LoadError { problems });
        };
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
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

        let action_entities = schema.action_entities().map_err(|e| LoadError {
            problems: vec![Problem::file(AGENTCORE_SCHEMA, e.to_string())],
        })?;
        let actions: HashSet<EntityUid> = schema.actions().cloned().collect();
        let tools = actions
            .iter()
            .filter(|a| ActionType::of(a) == Some(ActionType::Call))
            .filter_map(|a| ToolName::parse(a.id().unescaped()).ok())
            .map(|name| name.tool.to_owned())
            .collect();
        let mut action_refs: HashMap<ActionType, HashMap<String, ActionRef>> = HashMap::new();
        for action in &actions {
            let Some(action_type) = ActionType::of(action) else {
                continue;
            };
            action_refs.entry(action_type).or_default().insert(
                action.id().unescaped().to_owned(),
                ActionRef {
                    uid: action.clone(),
                    text: action.to_string(),
                },
            );
        }
        let entity_types = schema
            .entity_types()
            .map(|t| (t.to_string(), t.clone()))
            .collect();
        let mut sets = Self {
            action_refs,
            entity_types,
            gateway_templates: rename_templates(gateway).map_err(|e| LoadError {
                problems: vec![Problem::file(GATEWAY_DIR, e.to_string())],
            })?,
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
        let enforced = shadow::enforced(&sets.resource).map_err(LinkError::from);
        sets.resource_slices = enforced
            .and_then(|enforced| sets.slices(&enforced, None))
            .map_err(slice_error)?;
        if shadow::any(&sets.resource) {
            sets.resource_shadow =
                shadow::shadowed(sets.slices(&sets.resource, None).map_err(slice_error)?);
        }
        Ok(sets)
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
        self.slices(&shadow::enforced(&self.gateway_templates)?, Some(gateway))
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
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Each policy by id, in Cedar's JSON form (the same whether parsed from text or JSON).
    fn texts(set: &PolicySet) -> BTreeMap<String, String> {
        set.policies()
            .map(|p| (p.id().to_string(), p.to_json().map(|j| j.to_string())))
            .chain(
                set.templates()
                    .map(|t| (t.id().to_string(), t.to_json().map(|j| j.to_string()))),
            )
            .map(|(id, json)| (id, json.unwrap_or_else(|e| e.to_string())))
            .collect()
    }

    fn slice_ids(slices: &Slices) -> BTreeMap<String, BTreeMap<String, String>> {
        slices
            .iter()
            .map(|(action, set)| (action.to_string(), texts(set)))
            .collect()
    }

    /// The embedded policies load from build.rs's forms (schema as JSON, validated at build
    /// time; policies from JSON too for deployed functions); the same files given as files
    /// load the long way. All must be the same sets.
    #[test]
    fn the_build_time_forms_load_what_the_files_load() {
        let embedded = PolicySources::embedded();
        assert!(embedded.prevalidated.is_some());
        let files = PolicySources::from_files("files", embedded.files().to_vec());
        let Ok(slow) = PolicySets::load(&files) else {
            panic!("the shipped policies load from their files");
        };
        for fast_sources in [embedded, PolicySources::compiled()] {
            let Ok(fast) = PolicySets::load(&fast_sources) else {
                panic!("the shipped policies load from build.rs's forms");
            };
            same_sets(&fast, &slow);
        }
    }

    fn same_sets(fast: &PolicySets, slow: &PolicySets) {
        assert_eq!(
            texts(&fast.gateway_templates),
            texts(&slow.gateway_templates)
        );
        assert_eq!(texts(&fast.resource), texts(&slow.resource));
        assert_eq!(
            slice_ids(&fast.resource_slices),
            slice_ids(&slow.resource_slices)
        );
        assert_eq!(
            slice_ids(&fast.resource_shadow),
            slice_ids(&slow.resource_shadow)
        );
        assert_eq!(fast.actions, slow.actions);
        assert_eq!(fast.tools, slow.tools);
        assert_eq!(fast.arguments, slow.arguments);
        let types = |s: &PolicySets| {
            let mut t: Vec<String> = s.schema.entity_types().map(ToString::to_string).collect();
            t.sort();
            t
        };
        assert_eq!(types(fast), types(slow));
        let ancestors = |s: &PolicySets, a: &EntityUid| {
            let mut found: Vec<String> = s
                .action_entities
                .ancestors(a)
                .map(|i| i.map(ToString::to_string).collect())
                .unwrap_or_default();
            found.sort();
            found
        };
        for action in &slow.actions {
            assert_eq!(ancestors(fast, action), ancestors(slow, action), "{action}");
        }
    }

    /// Files from anywhere but the build are validated when loaded: a policy that names an
    /// attribute the schema lacks is refused.
    #[test]
    fn files_are_validated_when_loaded() {
        let mut files = PolicySources::embedded().files().to_vec();
        files.push(crate::PolicyFile {
            name: "resource/typo.cedar".to_owned(),
            text: "@id(\"typo\")\nforbid (principal, action, resource)\n\
                   when { resource.no_such_attribute == \"x\" };\n"
                .to_owned(),
        });
        let Err(e) = PolicySets::load(&PolicySources::from_files("files", files)) else {
            panic!("an invalid policy must not load");
        };
        assert!(
            e.problems.iter().any(|p| p.file == "resource/typo.cedar"),
            "{e:?}"
        );
    }
}
