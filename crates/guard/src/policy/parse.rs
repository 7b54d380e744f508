//! Parsing policy files: each policy named by its `@id`, templates kept apart, validation
//! problems traced back to their file and line.

use std::{collections::HashMap, str::FromStr};

use cedar_policy::{
    Policy, PolicyId, PolicySet, PolicySetError, Schema, SlotId, Template, ValidationMode,
    Validator,
};
use miette::Diagnostic;

use crate::shadow::{self, annotation};

use super::{
    PolicyFile, PolicySources,
    load::Origin,
    problem::{Problem, line_of},
};

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
        let parsed = match est {
            Some((_, json, _)) => PolicySet::from_json_str(json).map_err(|e| {
                problems.push(Problem::file(file.name.clone(), e.to_string()));
            }),
            None => PolicySet::from_str(&file.text)
                .map_err(|e| problems.extend(Problem::from_diagnostic(file, &e))),
        };
        let Ok(parsed) = parsed else {
            continue;
        };
        // Where a policy starts in its file: recorded by build.rs for the JSON form, found in
        // the text otherwise (policies parsed from text keep their text).
        let offset = |id: &PolicyId, text: &dyn Fn() -> String| {
            est.and_then(|(_, _, offsets)| {
                offsets
                    .iter()
                    .find(|(parsed_id, _)| *parsed_id == AsRef::<str>::as_ref(id))
                    .map(|(_, offset)| *offset)
            })
            .unwrap_or_else(|| offset_of(file, &text()))
        };
        let mut named: Vec<(Option<&str>, usize, Named)> = parsed
            .policies()
            .map(|p| {
                let at = offset(p.id(), &|| p.to_cedar().unwrap_or_default());
                (annotation(p.annotations(), "id"), at, Named::Policy(p))
            })
            .chain(parsed.templates().map(|t| {
                let at = offset(t.id(), &|| t.to_cedar());
                (annotation(t.annotations(), "id"), at, Named::Template(t))
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
            let mode = match item {
                Named::Policy(p) => annotation(p.annotations(), shadow::MODE_ANNOTATION),
                Named::Template(t) => annotation(t.annotations(), shadow::MODE_ANNOTATION),
            };
            if let Err(message) = shadow::is_shadow(mode) {
                problems.push(Problem::at(
                    file,
                    Some(offset),
                    format!("`{id}`: {message}"),
                ));
                continue;
            }
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
pub(crate) fn rename_templates(set: PolicySet) -> Result<PolicySet, PolicySetError> {
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
