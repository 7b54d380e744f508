//! Loading: build.rs's forms load what the files load, and files from elsewhere are validated.

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
