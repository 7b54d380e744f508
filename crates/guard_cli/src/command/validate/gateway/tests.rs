use guard::{PolicyFile, PolicySets, PolicySources};

use super::{declared_tools, pinned_elsewhere, with_declared_tools};

const ARN: &str = "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/gw-xyz789";

fn gateway_file(text: &str) -> Vec<PolicyFile> {
    vec![PolicyFile {
        name: "gateway/pinned.cedar".to_owned(),
        text: text.to_owned(),
    }]
}

#[test]
fn a_policy_pinned_to_another_gateway_is_a_warning_at_its_line() {
    let files = gateway_file(
        "// a comment\n@id(\"pinned\")\npermit (principal, action, resource == \
         AgentCore::Gateway::\"arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/other\");\n",
    );
    let warnings = pinned_elsewhere(&files, ARN);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "gateway/pinned.cedar:2: warning: `pinned` names gateway \
             `arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/other`"
        ),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("can never apply"));
}

#[test]
fn templates_and_policies_naming_the_linked_gateway_are_not_warned() {
    let files = gateway_file(&format!(
        "@id(\"here\")\npermit (principal, action, resource == AgentCore::Gateway::\"{ARN}\");\n\
         @id(\"linked\")\npermit (principal, action, resource == ?resource);\n"
    ));
    assert!(pinned_elsewhere(&files, ARN).is_empty());
}

#[test]
fn an_unknown_gateway_action_lists_the_declared_tool_actions_likeliest_first() {
    let mut files = PolicySources::embedded().files().to_vec();
    let tools = declared_tools(&files);
    assert_eq!(tools.len(), 4, "{tools:?}");
    let restart = files
        .iter_mut()
        .find(|f| f.name == "gateway/restart_service.cedar")
        .unwrap();
    restart.text = restart.text.replace(
        "AgentCore::Action::\"restart-service___restart_service\"",
        "AgentCore::Action::\"restart_service\"",
    );
    let error = PolicySets::load(&PolicySources::from_files("test", files)).unwrap_err();
    let problem = error
        .problems
        .iter()
        .find(|p| p.message.contains("unrecognized action"))
        .unwrap();
    let shown = with_declared_tools(problem, &tools);
    assert!(!shown.contains("Mcp"), "{shown}");
    assert!(
        shown.contains(
            "did you mean `AgentCore::Action::\"restart-service___restart_service\"`, \
             `AgentCore::Action::\"clean-logs___clean_logs\"`"
        ),
        "{shown}"
    );
}
