use super::*;

fn warned(text: &str) -> Vec<String> {
    warnings([("resource/x.cedar", text)])
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_tag_key_folding_never_produces_is_warned_with_what_cedar_gets_instead() {
    let found = warned(
        r#"@id("a")
forbid (principal, action, resource is Guard::Ec2Instance)
when { resource.hasTag("environment") };

@id("b")
forbid (principal, action, resource is Guard::Ec2Instance)
when {
  resource.hasTag("DoNotTouch") &&
  resource.getTag("DoNotTouch") == "true"
};
"#,
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("resource/x.cedar:8: warning: "),
        "{found:#?}"
    );
    assert!(
        found[0].contains(r#"`resource.hasTag("DoNotTouch")`"#),
        "{found:#?}"
    );
    assert!(found[0].contains("`donottouch`"), "{found:#?}");
    assert!(
        found[1].contains(r#"`resource.getTag("DoNotTouch")`"#),
        "{found:#?}"
    );
}

#[test]
fn a_computed_tag_key_is_warned() {
    let found = warned(
        r#"@id("a")
permit (principal, action == Guard::Action::"clean_logs", resource is Guard::LogGroup)
when { context.input has log_group && resource.hasTag(context.input.log_group) };
"#,
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("resource/x.cedar:3: "), "{found:#?}");
    assert!(found[0].contains("computed from the request"), "{found:#?}");
}

#[test]
fn a_name_literal_or_pattern_folding_never_produces_is_warned() {
    let found = warned(
        r#"@id("a")
forbid (principal, action, resource is Guard::LogGroup)
when {
  resource.name like "*audit*" ||
  resource.name like "*Audit*" ||
  "/Trail" == resource.name ||
  ["/ok", "/NotOk"].contains(resource.name)
};
"#,
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("resource/x.cedar:5: "), "{found:#?}");
    assert!(found[0].contains(r#"write `"*audit*"`"#), "{found:#?}");
    assert!(found[1].starts_with("resource/x.cedar:6: "), "{found:#?}");
    assert!(found[1].contains("`/trail`"), "{found:#?}");
    assert!(found[2].contains(r#""/NotOk""#), "{found:#?}");
}

#[test]
fn attributes_the_guard_keeps_exact_are_not_warned() {
    let found = warned(
        r#"@id("a")
forbid (principal, action, resource is Guard::EcsService)
when { resource.status == "DRAINING" || context.input.environment == "Staging" };
"#,
    );
    assert!(found.is_empty(), "{found:#?}");
}
