//! The policy sets: where they come from, and loading them (parse, name, link, validate).
//!
//! Two sets, two questions (DESIGN.md §4):
//! - the **gateway set** (`policies/gateway/`): "may this tool be called with these arguments?",
//!   written against the AgentCore schema alone so it uploads to an AgentCore Policy Engine as
//!   is. Its policies are templates with `resource == ?resource`, linked here to the configured
//!   gateway ARN, so the files name no gateway;
//! - the **resource set** (`policies/resource/`): "may this tool touch this real resource?".
//!
//! Every policy carries an `@id("…")`; that id is what decisions, audit records and `guard test`
//! report. Anything wrong in the files is a [`LoadError`] that lists every problem with its file
//! and line; a guard holding one refuses every call.

use std::{
    collections::{HashMap, HashSet},
    fmt, fs,
    path::Path,
    str::FromStr,
};

use cedar_policy::{
    ActionConstraint, Entities, EntityUid, Policy, PolicyId, PolicySet, Schema, SchemaFragment,
    SlotId, Template, ValidationMode, Validator,
};
use miette::Diagnostic;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_policies.rs"));
}

/// The schema file that mirrors what AgentCore Policy generates; the gateway set must validate
/// against it alone.
pub const AGENTCORE_SCHEMA: &str = "schema/agentcore.cedarschema";

/// The three kinds of file under a policies directory.
const GATEWAY_DIR: &str = "gateway";
const RESOURCE_DIR: &str = "resource";
const SCHEMA_DIR: &str = "schema";

/// One policy or schema file, named by its path under the policies directory
/// (`gateway/restart_service.cedar`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// Path relative to the policies directory, with `/` separators.
    pub name: String,
    /// The file's text.
    pub text: String,
}

/// The policy and schema files a guard is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySources {
    /// Where the files came from, for messages (`embedded policies/` or a directory).
    pub origin: String,
    files: Vec<PolicyFile>,
}

impl PolicySources {
    /// The policies compiled into this binary from the repository's `policies/`.
    pub fn embedded() -> Self {
        Self {
            origin: "embedded policies/".to_owned(),
            files: embedded::EMBEDDED
                .iter()
                .map(|(name, text)| PolicyFile {
                    name: (*name).to_owned(),
                    text: (*text).to_owned(),
                })
                .collect(),
        }
    }

    /// Reads `gateway/*.cedar`, `resource/*.cedar` and `schema/*.cedarschema` under `dir`.
    pub fn from_dir(dir: &Path) -> Result<Self, LoadError> {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for (sub, ext) in [
            (GATEWAY_DIR, "cedar"),
            (RESOURCE_DIR, "cedar"),
            (SCHEMA_DIR, "cedarschema"),
        ] {
            let path = dir.join(sub);
            let entries = match fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) => {
                    problems.push(Problem::file(
                        path.display().to_string(),
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            };
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect();
            paths.sort();
            for p in paths {
                let name = format!(
                    "{sub}/{}",
                    p.file_name()
                        .map(|n| n.to_string_lossy())
                        .unwrap_or_default()
                );
                match fs::read_to_string(&p) {
                    Ok(text) => files.push(PolicyFile { name, text }),
                    Err(e) => problems.push(Problem::file(name, format!("cannot read: {e}"))),
                }
            }
        }
        if problems.is_empty() {
            Ok(Self {
                origin: dir.display().to_string(),
                files,
            })
        } else {
            Err(LoadError { problems })
        }
    }

    /// Builds sources from files given in memory (tests, tools that generate policies).
    pub fn from_files(origin: impl Into<String>, files: Vec<PolicyFile>) -> Self {
        Self {
            origin: origin.into(),
            files,
        }
    }

    /// All files, in a stable order.
    pub fn files(&self) -> &[PolicyFile] {
        &self.files
    }

    fn under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = &'a PolicyFile> + 'a {
        self.files.iter().filter(move |f| {
            f.name
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

/// One thing wrong with the policy files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the policies directory.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            message: message.into(),
        }
    }

    fn at(file: &PolicyFile, offset: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.name.clone(),
            line: offset.map(|o| line_of(&file.text, o)),
            message: message.into(),
        }
    }

    /// Every problem a Cedar diagnostic reports, each at the line of its first label.
    fn from_diagnostic(file: &PolicyFile, diagnostic: &dyn Diagnostic) -> Vec<Self> {
        let one = |d: &dyn Diagnostic| {
            let offset = d
                .labels()
                .and_then(|mut labels| labels.next())
                .map(|l| l.offset());
            let mut message = d.to_string();
            if let Some(help) = d.help() {
                message.push_str(&format!(" (help: {help})"));
            }
            Self::at(file, offset, message)
        };
        let found: Vec<Self> = diagnostic
            .related()
            .map(|related| related.map(one).collect())
            .unwrap_or_default();
        if found.is_empty() {
            vec![one(diagnostic)]
        } else {
            found
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// The policies could not be loaded; every problem found, each with its file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policies are invalid ({} problem(s)): {}", .problems.len(), join(.problems))]
pub struct LoadError {
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where a policy was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file, relative to the policies directory.
    pub file: String,
    /// 1-based line of the policy's first line.
    pub line: usize,
}

/// The loaded, validated policy sets and the schema they were validated against.
#[derive(Debug, Clone)]
pub struct PolicySets {
    pub(crate) schema: Schema,
    /// The gateway templates (and any static gateway policies), unlinked.
    gateway_templates: PolicySet,
    pub(crate) resource: PolicySet,
    pub(crate) resource_slices: Slices,
    /// The action entities of the schema, built once.
    pub(crate) action_entities: Entities,
    /// Every action the schema declares.
    pub(crate) actions: HashSet<EntityUid>,
    /// The declared `context.input` arguments of each action, for errors that name the field.
    pub(crate) arguments: HashMap<EntityUid, Arguments>,
}

/// Policy sets by the action they can apply to.
pub(crate) type Slices = HashMap<EntityUid, PolicySet>;

/// Templates are stored under this prefix so their links can carry the `@id` itself.
const TEMPLATE_PREFIX: &str = "template:";

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
        let actions = schema.actions().cloned().collect();
        let mut sets = Self {
            gateway_templates: rename_templates(gateway),
            resource,
            resource_slices: Slices::new(),
            schema,
            action_entities,
            actions,
            arguments,
        };
        sets.resource_slices = sets.slices(&sets.resource, None).map_err(|e| LoadError {
            problems: vec![Problem::file(RESOURCE_DIR, e)],
        })?;
        Ok(sets)
    }

    /// The gateway set linked to one gateway: each template becomes a policy named by its
    /// `@id`, with `?resource` bound to `AgentCore::Gateway::"<arn>"`.
    pub fn link_gateway(&self, gateway: &EntityUid) -> Result<PolicySet, String> {
        build_set(&self.gateway_templates, |_| true, Some(gateway))
    }

    /// The linked gateway set, sliced by action.
    pub(crate) fn gateway_slices(&self, gateway: &EntityUid) -> Result<Slices, String> {
        self.slices(&self.gateway_templates, Some(gateway))
    }

    /// One policy set per schema action, holding only the policies whose scope can match that
    /// action. A policy whose action scope cannot match evaluates to false without error, so
    /// leaving it out changes no decision; it only saves evaluating it.
    fn slices(&self, set: &PolicySet, gateway: Option<&EntityUid>) -> Result<Slices, String> {
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
) -> Result<PolicySet, String> {
    let mut built = PolicySet::new();
    for policy in set.policies().filter(|p| keep(&p.action_constraint())) {
        built.add(policy.clone()).map_err(|e| e.to_string())?;
    }
    for template in set.templates().filter(|t| keep(&t.action_constraint())) {
        let Some(gateway) = gateway else {
            return Err(format!(
                "template `{}` needs a gateway to link",
                template.id()
            ));
        };
        built
            .add_template(template.clone())
            .map_err(|e| e.to_string())?;
        let id = template.id().to_string();
        let linked_id = id.strip_prefix(TEMPLATE_PREFIX).unwrap_or(&id).to_owned();
        built
            .link(
                template.id().clone(),
                PolicyId::new(linked_id),
                HashMap::from([(SlotId::resource(), gateway.clone())]),
            )
            .map_err(|e| e.to_string())?;
    }
    Ok(built)
}

fn load_schema(
    sources: &PolicySources,
    problems: &mut Vec<Problem>,
) -> (
    Option<Schema>,
    Option<Schema>,
    HashMap<EntityUid, Arguments>,
) {
    let mut agentcore = None;
    let mut fragments = Vec::new();
    let mut arguments = HashMap::new();
    for file in sources.under(SCHEMA_DIR) {
        match SchemaFragment::from_cedarschema_str(&file.text) {
            Ok((fragment, warnings)) => {
                for w in warnings {
                    problems.extend(Problem::from_diagnostic(file, &w));
                }
                if file.name == AGENTCORE_SCHEMA {
                    agentcore = Some(fragment.clone());
                }
                if let Ok(json) = fragment.clone().to_json_value() {
                    arguments.extend(declared_arguments(&json));
                }
                fragments.push(fragment);
            }
            Err(e) => problems.extend(Problem::from_diagnostic(file, &e)),
        }
    }
    let Some(agentcore) = agentcore else {
        if !problems.iter().any(|p| p.file == AGENTCORE_SCHEMA) {
            problems.push(Problem::file(
                AGENTCORE_SCHEMA,
                "missing: the gateway policies are validated against it",
            ));
        }
        return (None, None, arguments);
    };
    let agentcore = Schema::from_schema_fragments([agentcore])
        .map_err(|e| problems.push(Problem::file(AGENTCORE_SCHEMA, e.to_string())))
        .ok();
    let full = Schema::from_schema_fragments(fragments)
        .map_err(|e| problems.push(Problem::file(SCHEMA_DIR, format!("combined schema: {e}"))))
        .ok();
    (agentcore, full, arguments)
}

/// The `context.input` arguments an action declares: name → Cedar type.
pub type Arguments = std::collections::BTreeMap<String, String>;

/// Reads each action's `context.input` attributes from a schema fragment in JSON form.
fn declared_arguments(fragment: &serde_json::Value) -> HashMap<EntityUid, Arguments> {
    let mut found = HashMap::new();
    let Some(namespaces) = fragment.as_object() else {
        return found;
    };
    for (namespace, body) in namespaces {
        let Some(actions) = body.get("actions").and_then(|a| a.as_object()) else {
            continue;
        };
        for (name, action) in actions {
            let attributes = action
                .pointer("/appliesTo/context/attributes/input/attributes")
                .and_then(|a| a.as_object());
            let (Some(attributes), Ok(uid)) = (
                attributes,
                EntityUid::from_str(&format!(
                    "{namespace}::Action::{}",
                    serde_json::Value::String(name.clone())
                )),
            ) else {
                continue;
            };
            let types = attributes
                .iter()
                .map(|(arg, ty)| {
                    let name = ty
                        .get("name")
                        .or_else(|| ty.get("type"))
                        .and_then(|t| t.as_str())
                        .unwrap_or("?");
                    (arg.clone(), name.to_owned())
                })
                .collect();
            found.insert(uid, types);
        }
    }
    found
}

/// Parses every file of one set, naming each policy by its `@id`.
fn parse_set(
    sources: &PolicySources,
    dir: &str,
    templates_allowed: bool,
    origins: &mut HashMap<String, Origin>,
    problems: &mut Vec<Problem>,
) -> PolicySet {
    let mut set = PolicySet::new();
    for file in sources.under(dir) {
        let parsed = match PolicySet::from_str(&file.text) {
            Ok(parsed) => parsed,
            Err(e) => {
                problems.extend(Problem::from_diagnostic(file, &e));
                continue;
            }
        };
        let mut named: Vec<(Option<&str>, usize, Named)> = parsed
            .policies()
            .map(|p| {
                let text = p.to_cedar().unwrap_or_default();
                (p.annotation("id"), offset_of(file, &text), Named::Policy(p))
            })
            .chain(parsed.templates().map(|t| {
                let text = t.to_cedar();
                (
                    t.annotation("id"),
                    offset_of(file, &text),
                    Named::Template(t),
                )
            }))
            .collect();
        named.sort_by_key(|(_, offset, _)| *offset);

        for (id, offset, item) in named {
            let line = line_of(&file.text, offset);
            let Some(id) = id.map(str::trim).filter(|id| !id.is_empty()) else {
                problems.push(Problem::at(
                    file,
                    Some(offset),
                    "policy has no `@id(\"…\")` annotation: decisions must be able to name it",
                ));
                continue;
            };
            if let Some(first) = origins.get(id) {
                problems.push(Problem::at(
                    file,
                    Some(offset),
                    format!(
                        "duplicate policy id `{id}` (first used at {}:{})",
                        first.file, first.line
                    ),
                ));
                continue;
            }
            origins.insert(
                id.to_owned(),
                Origin {
                    file: file.name.clone(),
                    line,
                },
            );
            let added = match item {
                Named::Policy(p) => set.add(p.new_id(PolicyId::new(id))),
                Named::Template(t) => {
                    let slots: Vec<_> = t.slots().collect();
                    if !templates_allowed {
                        problems.push(Problem::at(
                            file,
                            Some(offset),
                            format!(
                                "`{id}` is a template: only gateway policies may use `?resource`"
                            ),
                        ));
                        continue;
                    }
                    if slots != [&SlotId::resource()] {
                        problems.push(Problem::at(
                            file,
                            Some(offset),
                            format!(
                                "`{id}`: a gateway template must have exactly one slot, \
                                 `resource == ?resource` (the gateway it is linked to)"
                            ),
                        ));
                        continue;
                    }
                    set.add_template(t.new_id(PolicyId::new(id)))
                }
            };
            if let Err(e) = added {
                problems.push(Problem::at(file, Some(offset), e.to_string()));
            }
        }
    }
    set
}

enum Named<'a> {
    Policy(&'a Policy),
    Template(&'a Template),
}

/// Where a policy's own text starts in its file (policies parsed from text keep their text).
fn offset_of(file: &PolicyFile, policy_text: &str) -> usize {
    if policy_text.is_empty() {
        return 0;
    }
    file.text.find(policy_text).unwrap_or(0)
}

fn validate(
    set: &PolicySet,
    schema: &Schema,
    sources: &PolicySources,
    origins: &HashMap<String, Origin>,
    problems: &mut Vec<Problem>,
) {
    let result = Validator::new(schema.clone()).validate(set, ValidationMode::Strict);
    let file_of = |id: &PolicyId| {
        origins
            .get(AsRef::<str>::as_ref(id))
            .and_then(|o| sources.files.iter().find(|f| f.name == o.file))
    };
    let errors = result
        .validation_errors()
        .map(|e| (e.policy_id(), e as &dyn Diagnostic));
    let warnings = result
        .validation_warnings()
        .map(|w| (w.policy_id(), w as &dyn Diagnostic));
    for (id, diagnostic) in errors.chain(warnings) {
        match file_of(id) {
            Some(file) => problems.extend(Problem::from_diagnostic(file, diagnostic)),
            None => problems.push(Problem::file(
                sources.origin.clone(),
                diagnostic.to_string(),
            )),
        }
    }
}

/// Moves templates to `template:<id>` so that each link can take the plain `@id`.
fn rename_templates(set: PolicySet) -> PolicySet {
    let mut renamed = PolicySet::new();
    for policy in set.policies() {
        // INVARIANT: ids are unique in `set`, so re-adding cannot conflict.
        let _ = renamed.add(policy.clone());
    }
    for template in set.templates() {
        let id = PolicyId::new(format!("{TEMPLATE_PREFIX}{}", template.id()));
        let _ = renamed.add_template(template.new_id(id));
    }
    renamed
}

/// The gateway set as static policies, one statement per policy, for upload to an AgentCore
/// Policy Engine (which takes static policies naming its gateway).
pub fn render_static(linked: &PolicySet) -> Result<String, String> {
    let mut policies: Vec<&Policy> = linked.policies().collect();
    policies.sort_by_key(|p| p.id().to_string());
    let mut out = String::new();
    for policy in policies {
        let text = match policy.to_cedar() {
            Some(text) => text,
            None => {
                let json = policy.to_json().map_err(|e| e.to_string())?;
                Policy::from_json(Some(policy.id().clone()), json)
                    .map_err(|e| e.to_string())?
                    .to_cedar()
                    .ok_or_else(|| format!("cannot render `{}`", policy.id()))?
            }
        };
        out.push_str(text.trim());
        out.push_str("\n\n");
    }
    Ok(out)
}
