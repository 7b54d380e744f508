//! Parsing policy files: each policy named by its `@id`, templates kept apart, validation
//! problems traced back to their file and line.

use std::{collections::HashMap, str::FromStr};

use cedar_policy::{
    Policy, PolicyId, PolicySet, Schema, SlotId, Template, ValidationMode, Validator,
};
use miette::Diagnostic;

use super::{
    PolicyEst, PolicyFile, PolicySources,
    annotation::{self, annotation},
    error::LinkError,
    problem::{Problem, line_of},
};

/// Where a policy was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The file, relative to the policies directory.
    pub file: String,
    /// 1-based line of the policy's first line.
    pub line: usize,
}

/// Templates are stored under this prefix so their links can carry the `@id` itself.
pub(crate) const TEMPLATE_PREFIX: &str = "template:";

/// Parses every file of one set, naming each policy by its `@id`.
pub(crate) fn parse_set(
    sources: &PolicySources,
    dir: &str,
    templates_allowed: bool,
    origins: &mut HashMap<String, Origin>,
    problems: &mut Vec<Problem>,
) -> PolicySet {
    let mut set = PolicySet::new();
    for file in sources.under(dir) {
        // The JSON form build.rs made of an embedded file, when the sources ask for it.
        let est = sources
            .prevalidated
            .and_then(|p| p.policy_est)
            .and_then(|all| all.iter().find(|(name, _, _)| *name == file.name));
        let Some(parsed) = parse_file(file, est, problems) else {
            continue;
        };
        for named in in_file_order(&parsed, file, est) {
            if let Err(problem) = named.add_to(&mut set, file, templates_allowed, origins) {
                problems.push(problem);
            }
        }
    }
    set
}

/// One file's policies and templates: from build.rs's JSON form when there is one, else from
/// the text.
fn parse_file(
    file: &PolicyFile,
    est: Option<&PolicyEst>,
    problems: &mut Vec<Problem>,
) -> Option<PolicySet> {
    let parsed = match est {
        Some((_, json, _)) => PolicySet::from_json_str(json).map_err(|e| {
            problems.push(Problem::file(file.name.clone(), e.to_string()));
        }),
        None => PolicySet::from_str(&file.text)
            .map_err(|e| problems.extend(Problem::from_diagnostic(file, &e))),
    };
    parsed.ok()
}

/// A parsed policy or template, with its `@id` and where it starts in its file.
struct Named<'a> {
    id: Option<&'a str>,
    offset: usize,
    item: Item<'a>,
}

enum Item<'a> {
    Policy(&'a Policy),
    Template(&'a Template),
}

/// Each policy and template of `parsed` with its `@id` and offset, in file order.
fn in_file_order<'a>(
    parsed: &'a PolicySet,
    file: &PolicyFile,
    est: Option<&PolicyEst>,
) -> Vec<Named<'a>> {
    // Where a policy starts in its file: recorded by build.rs for the JSON form, found in the
    // text otherwise (policies parsed from text keep their text).
    let offset = |id: &PolicyId, text: &dyn Fn() -> String| {
        est.and_then(|(_, _, offsets)| {
            offsets
                .iter()
                .find(|(parsed_id, _)| *parsed_id == AsRef::<str>::as_ref(id))
                .map(|(_, offset)| *offset)
        })
        .unwrap_or_else(|| offset_of(file, &text()))
    };
    let mut named: Vec<Named<'a>> = parsed
        .policies()
        .map(|p| Named {
            id: annotation(p.annotations(), "id"),
            offset: offset(p.id(), &|| p.to_cedar().unwrap_or_default()),
            item: Item::Policy(p),
        })
        .chain(parsed.templates().map(|t| Named {
            id: annotation(t.annotations(), "id"),
            offset: offset(t.id(), &|| t.to_cedar()),
            item: Item::Template(t),
        }))
        .collect();
    named.sort_by_key(|n| n.offset);
    named
}

impl Named<'_> {
    /// Adds this policy to `set` under its `@id`, or says why it cannot be: no id, an id used
    /// before, an unknown `@mode`, a template where none may be or with the wrong slots.
    fn add_to(
        self,
        set: &mut PolicySet,
        file: &PolicyFile,
        templates_allowed: bool,
        origins: &mut HashMap<String, Origin>,
    ) -> Result<(), Problem> {
        let problem = |message: String| Problem::at(file, Some(self.offset), message);
        let Some(id) = self.id.map(str::trim).filter(|id| !id.is_empty()) else {
            return Err(problem(
                "policy has no `@id(\"…\")` annotation: decisions must be able to name it"
                    .to_owned(),
            ));
        };
        if let Some(first) = origins.get(id) {
            return Err(problem(format!(
                "duplicate policy id `{id}` (first used at {}:{})",
                first.file, first.line
            )));
        }
        let origin = Origin {
            file: file.name.clone(),
            line: line_of(&file.text, self.offset),
        };
        origins.insert(id.to_owned(), origin);
        let mode = match self.item {
            Item::Policy(p) => annotation(p.annotations(), annotation::MODE_ANNOTATION),
            Item::Template(t) => annotation(t.annotations(), annotation::MODE_ANNOTATION),
        };
        annotation::is_shadow(mode).map_err(|message| problem(format!("`{id}`: {message}")))?;
        let added = match self.item {
            Item::Policy(p) => set.add(p.new_id(PolicyId::new(id))),
            Item::Template(t) => {
                gateway_template(t, id, templates_allowed).map_err(problem)?;
                set.add_template(t.new_id(PolicyId::new(id)))
            }
        };
        added.map_err(|e| problem(e.to_string()))
    }
}

/// Templates are for the gateway set only, and link one thing: the gateway.
fn gateway_template(template: &Template, id: &str, templates_allowed: bool) -> Result<(), String> {
    if !templates_allowed {
        return Err(format!(
            "`{id}` is a template: only gateway policies may use `?resource`"
        ));
    }
    let slots: Vec<_> = template.slots().collect();
    if slots != [&SlotId::resource()] {
        return Err(format!(
            "`{id}`: a gateway template must have exactly one slot, `resource == ?resource` \
             (the gateway it is linked to)"
        ));
    }
    Ok(())
}

/// Where a policy's own text starts in its file (policies parsed from text keep their text).
fn offset_of(file: &PolicyFile, policy_text: &str) -> usize {
    if policy_text.is_empty() {
        return 0;
    }
    file.text.find(policy_text).unwrap_or(0)
}

pub(crate) fn validate(
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
pub(crate) fn rename_templates(set: PolicySet) -> Result<PolicySet, LinkError> {
    let mut renamed = PolicySet::new();
    for policy in set.policies() {
        renamed.add(policy.clone())?;
    }
    for template in set.templates() {
        let id = PolicyId::new(format!("{TEMPLATE_PREFIX}{}", template.id()));
        renamed.add_template(template.new_id(id))?;
    }
    Ok(renamed)
}
