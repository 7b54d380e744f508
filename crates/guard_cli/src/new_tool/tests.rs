use std::path::{Path, PathBuf};

use guard::{EXAMPLE_GATEWAY_ARN, PolicySources};

use super::{Names, NewToolError, generate, render, templates::NEW_FILES};
use crate::cases::CaseRunner;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agentcore_target/examples/reboot_instance"
);
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn example(file: &str) -> String {
    std::fs::read_to_string(Path::new(EXAMPLE).join(file)).unwrap()
}

fn template(path: &str) -> &'static str {
    NEW_FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, t)| *t)
        .unwrap()
}

fn reboot_instance() -> Names {
    Names::new("reboot_instance", None, Some("Server")).unwrap()
}

#[test]
fn names_follow_from_the_tool_name() {
    let names = Names::new("stop_rds_instance", None, None).unwrap();
    assert_eq!(names.target, "stop-rds-instance");
    assert_eq!(names.camel, "StopRdsInstance");
    assert_eq!(names.verb, "Stop");
    assert_eq!(names.resource, "RdsInstance");
    let named = Names::new("stop_rds_instance", Some("rds-ops"), Some("Database")).unwrap();
    assert_eq!(
        (named.target.as_str(), named.resource.as_str()),
        ("rds-ops", "Database")
    );
}

#[test]
fn names_that_are_not_a_snake_case_verb_and_object_are_refused() {
    for bad in [
        "reboot",
        "Reboot_instance",
        "reboot-instance",
        "reboot__x",
        "_x",
        "2x_y",
    ] {
        assert!(
            matches!(
                Names::new(bad, None, None),
                Err(NewToolError::InvalidName(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        Names::new("reboot_instance", Some("Bad_Target"), None),
        Err(NewToolError::InvalidTarget(_))
    ));
    assert!(matches!(
        Names::new("reboot_instance", None, Some("server")),
        Err(NewToolError::InvalidResourceType(_))
    ));
}

/// The guide's example is what the generator writes for `reboot_instance`: the README quotes
/// the example (a test in agentcore_target keeps that true), so the guide, the example and a
/// generated tool cannot drift apart.
#[test]
fn the_guides_example_is_what_the_generator_writes_for_reboot_instance() {
    let names = reboot_instance();
    let lib = render(template("crates/%tool%/src/lib.rs"), &names);
    let start = lib.find("impl Tool for RebootInstance {").unwrap();
    let tool = &lib[start..];
    assert!(
        example("main.rs").contains(tool.trim_end()),
        "the example's `impl Tool` differs from the generator's"
    );
    for (file, template_path) in [
        ("gateway.cedar", "policies/gateway/%tool%.cedar"),
        ("resource.cedar", "policies/resource/%tool%.cedar"),
    ] {
        assert_eq!(
            example(file),
            render(template(template_path), &names),
            "{file}"
        );
    }
    assert_eq!(
        example("agentcore.cedarschema.part"),
        render(super::templates::AGENTCORE_PART, &names)
    );
    assert_eq!(
        example("resource.cedarschema.part"),
        render(super::templates::RESOURCE_PART, &names)
    );
}

/// A workspace with the shipped `policies/` and empty `crates/` and `events/`.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ws");
    copy_dir(&Path::new(ROOT).join("policies"), &root.join("policies"));
    std::fs::create_dir_all(root.join("crates")).unwrap();
    (dir, root)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_generated_tool_loads_with_the_shipped_policies_and_its_cases_pass() {
    let (_dir, root) = workspace();
    let names = Names::new("stop_rds_instance", None, None).unwrap();
    let written = generate(&root, &names).unwrap();
    assert!(
        written
            .created
            .contains(&"crates/stop_rds_instance/src/lib.rs".to_owned())
    );
    assert_eq!(
        written.edited,
        [
            "policies/schema/agentcore.cedarschema",
            "policies/schema/resource.cedarschema",
            "policies/budgets.json"
        ]
    );
    let sources = PolicySources::from_dir(&root.join("policies")).unwrap();
    let runner = CaseRunner::new(&sources, EXAMPLE_GATEWAY_ARN).unwrap();
    let cases =
        std::fs::read_to_string(root.join("policies/tests/stop_rds_instance.json")).unwrap();
    let results = runner.run_file("stop_rds_instance.json", &cases);
    assert_eq!(
        crate::cases::summary(&results),
        "5 passed, 0 failed",
        "{results:#?}"
    );
    let targets =
        std::fs::read_to_string(root.join("crates/stop_rds_instance/deploy/targets.yaml")).unwrap();
    assert!(
        targets.contains("resource == AgentCore::Gateway::\"${GatewayArn}\""),
        "{targets}"
    );
    assert!(
        targets.contains("action == AgentCore::Action::\"stop-rds-instance___stop_rds_instance\"")
    );
}

#[test]
fn generating_twice_writes_nothing_the_second_time() {
    let (_dir, root) = workspace();
    let names = Names::new("stop_rds_instance", None, None).unwrap();
    generate(&root, &names).unwrap();
    let schema = root.join("policies/schema/resource.cedarschema");
    let before = std::fs::read_to_string(&schema).unwrap();
    let again = generate(&root, &names).unwrap_err();
    // Its crate is there already: refused before any file is touched.
    assert!(
        matches!(&again, NewToolError::Exists(file) if file == "crates/stop_rds_instance/Cargo.toml"),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(&schema).unwrap(), before);
}

#[test]
fn a_resource_type_the_schema_has_already_is_refused_with_nothing_written() {
    let (_dir, root) = workspace();
    let names = Names::new("reboot_instance", None, Some("Ec2Instance")).unwrap();
    let error = generate(&root, &names).unwrap_err();
    assert!(matches!(error, NewToolError::Invalid { .. }), "{error}");
    assert!(!root.join("crates/reboot_instance").exists());
    assert!(!root.join("policies/gateway/reboot_instance.cedar").exists());
}

#[test]
fn a_directory_that_is_not_the_workspace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = generate(dir.path(), &reboot_instance()).unwrap_err();
    assert!(matches!(error, NewToolError::NotAWorkspace(_)), "{error}");
}
