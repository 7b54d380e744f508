use std::str::FromStr;

use cedar_policy::{PolicySet, RequestEnv};
use guard::{PolicySets, PolicySources};

use super::*;

fn schema() -> Schema {
    PolicySets::load(&PolicySources::embedded())
        .unwrap()
        .schema()
        .clone()
}

fn env(schema: &Schema, resource: &str) -> RequestEnv {
    schema
        .request_envs()
        .find(|e| e.resource().to_string() == resource)
        .unwrap()
}

fn folding(schema: &Schema, text: &str) -> Folding {
    let set = PolicySet::from_str(text).unwrap();
    Folding::new(schema, set.policies())
}

/// The assumption as Cedar text, to read what it says.
fn said(folding: &Folding, env: &RequestEnv) -> String {
    let Some(body) = folding.assumption(env) else {
        return String::new();
    };
    let est = json!({
        "effect": "permit", "principal": {"op": "All"}, "action": {"op": "All"},
        "resource": {"op": "All"}, "conditions": [{"kind": "when", "body": body}],
    });
    Policy::from_json(None, est).unwrap().to_string()
}

#[test]
fn a_tag_key_folding_never_produces_is_assumed_absent() {
    let schema = schema();
    let folding = folding(
        &schema,
        r#"forbid (principal, action, resource is Guard::Ec2Instance)
           when { resource.hasTag("DoNotTouch") || resource.hasTag("donottouch") };"#,
    );
    let text = said(&folding, &env(&schema, "Guard::Ec2Instance"));
    assert!(text.contains(r#"!resource.hasTag("DoNotTouch")"#), "{text}");
    assert!(!text.contains(r#"hasTag("donottouch")"#), "{text}");
}

#[test]
fn a_name_folding_never_produces_is_assumed_never_equal_or_matched() {
    let schema = schema();
    let folding = folding(
        &schema,
        r#"forbid (principal, action, resource is Guard::LogGroup)
           when { resource.name == "/Audit" || resource.name like "*Trail*" ||
                  resource.name like "*trail*" };"#,
    );
    let text = said(&folding, &env(&schema, "Guard::LogGroup"));
    assert!(text.contains(r#"resource.name == "/Audit""#), "{text}");
    assert!(text.contains(r#"resource.name like "*Trail*""#), "{text}");
    assert!(!text.contains(r#"like "*trail*""#), "{text}");
    // The capitals of the letters the policies use: a counterexample's name is one the
    // guard can build.
    assert!(text.contains(r#"resource.name like "*T*""#), "{text}");
    assert!(!text.contains(r#"like "*Z*""#), "{text}");
}

#[test]
fn attributes_the_guard_keeps_exact_and_types_without_tags_get_no_assumption() {
    let schema = schema();
    let folding = folding(
        &schema,
        r#"forbid (principal, action, resource is Guard::EcsService)
           when { resource.status == "DRAINING" };"#,
    );
    let text = said(&folding, &env(&schema, "Guard::EcsService"));
    // `status` is not folded: `DRAINING` is what ECS reports. The folded names may not be it.
    assert!(!text.contains("resource.status"), "{text}");
    assert!(text.contains(r#"resource.cluster == "DRAINING""#), "{text}");
    assert!(text.contains(r#"resource.name == "DRAINING""#), "{text}");
    // The gateway has neither tags nor names.
    assert_eq!(said(&folding, &env(&schema, "AgentCore::Gateway")), "");
}

#[test]
fn a_region_needing_an_unfoldable_key_is_narrowed_by_the_assumption() {
    let schema = schema();
    let set = PolicySet::from_str(
        r#"permit (principal, action, resource is Guard::Ec2Instance)
           when { resource.hasTag("DoNotTouch") };"#,
    )
    .unwrap();
    let region = set.policies().next().unwrap();
    let folding = Folding::new(&schema, [region]);
    let restricted = folding
        .restrict(region, &env(&schema, "Guard::Ec2Instance"))
        .unwrap()
        .to_string();
    assert!(
        restricted.contains(r#"!resource.hasTag("DoNotTouch")"#),
        "{restricted}"
    );
}
