//! The environment a binary starts with: what Lambda sets, plus what template.yaml gives each
//! function (its `Globals` and its own `Environment`), with the template's defaults. Nothing is
//! inherited from the harness's own environment, and no AWS call leaves 127.0.0.1: the caller
//! key the tools fetch at init is served by the harness ([`crate::kms`]).

/// A Lambda function's own settings in template.yaml, by the binary's name.
const FUNCTIONS: &[(&str, &[(&str, &str)])] = &[
    (
        "restart_service",
        &[
            ("GATEWAY_TARGET_NAME", "restart-service"),
            ("ECS_CLUSTERS", "staging=staging-cluster,dev=dev-cluster"),
            ("BUDGETS", "ON"),
            ("BUDGET_TABLE", "agent-guard-budgets"),
            ("GUARD_APPROVER_ROLE", "agent-guard-oncall"),
            (
                "GUARD_APPROVAL_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:agent-guard-approvals",
            ),
        ],
    ),
    (
        "terminate_instance",
        &[
            ("GATEWAY_TARGET_NAME", "terminate-instance"),
            ("BUDGETS", "ON"),
            ("BUDGET_TABLE", "agent-guard-budgets"),
        ],
    ),
    (
        "clean_logs",
        &[
            ("GATEWAY_TARGET_NAME", "clean-logs"),
            ("CLEAN_LOGS_MAX_STREAMS", "100"),
            ("BUDGETS", "ON"),
            ("BUDGET_TABLE", "agent-guard-budgets"),
        ],
    ),
    (
        "get_metrics",
        &[
            ("GATEWAY_TARGET_NAME", "get-metrics"),
            ("ECS_CLUSTERS", "staging=staging-cluster,dev=dev-cluster"),
        ],
    ),
    // The authorizer: its own block holds the API Gateway forms' settings, empty by default
    // (an empty setting is an unset one); it is the default gateway interceptor.
    (
        "authorizer",
        &[
            ("AUTHORIZER_FORM", "gateway-interceptor"),
            ("AUTHORIZER_ROUTES", ""),
            ("JWT_ISSUER", ""),
            ("JWT_AUDIENCE", ""),
            ("JWT_ALLOWED_CLIENTS", ""),
            ("JWT_JWKS", ""),
        ],
    ),
];

/// The environment of binary `name`, polling the Runtime API on `127.0.0.1:port` and reaching
/// KMS at `kms_endpoint`. Every binary gets Lambda's variables and the template's `Globals`; a
/// function also gets its own.
pub fn for_binary(name: &str, port: u16, kms_endpoint: &str) -> Vec<(String, String)> {
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]00000000000000000000000000000000".to_owned(),
        ),
        // The template's `LoggingConfig`: JSON at INFO.
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        ),
        (
            "AWS_SESSION_TOKEN",
            "coldstart-dummy-session-token".to_owned(),
        ),
        // Nothing may leave 127.0.0.1: no instance-metadata lookups, KMS served locally.
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL_KMS", kms_endpoint.to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
    ];
    // template.yaml `Globals.Function.Environment`, with the parameters' defaults.
    let globals = [
        ("CALLER_SIGNING_KEY", crate::kms::KEY_ARN.to_owned()),
        ("CALLER", "unknown".to_owned()),
        ("GATEWAY_ARN", guard::EXAMPLE_GATEWAY_ARN.to_owned()),
        ("GUARD_MODE", "ENFORCE".to_owned()),
        ("GATEWAY_AUTHORIZER_TYPE", "CUSTOM_JWT".to_owned()),
        ("GUARD_METRICS_NAMESPACE", "AgentGuard".to_owned()),
    ];
    let function = FUNCTIONS
        .iter()
        .filter(|(function, _)| *function == name)
        .flat_map(|(_, vars)| vars.iter().map(|(k, v)| (*k, (*v).to_owned())));
    lambda
        .into_iter()
        .chain(globals)
        .chain(function)
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_tool_gets_the_globals_and_its_own_settings() {
        let env = for_binary("terminate_instance", 4321, "http://127.0.0.1:4322");
        assert_eq!(
            value_of(&env, "AWS_LAMBDA_RUNTIME_API"),
            Some("127.0.0.1:4321")
        );
        assert_eq!(
            value_of(&env, "GATEWAY_ARN"),
            Some(guard::EXAMPLE_GATEWAY_ARN)
        );
        assert_eq!(
            value_of(&env, "GATEWAY_TARGET_NAME"),
            Some("terminate-instance")
        );
        assert_eq!(value_of(&env, "BUDGETS"), Some("ON"));
        assert_eq!(value_of(&env, "ECS_CLUSTERS"), None);
    }

    #[test]
    fn a_reference_gets_no_tool_settings() {
        let env = for_binary("hello_world", 1, "http://127.0.0.1:2");
        assert_eq!(value_of(&env, "GATEWAY_TARGET_NAME"), None);
        assert_eq!(value_of(&env, "AWS_REGION"), Some("us-east-1"));
    }

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    /// The default of template parameter `parameter`.
    fn default_of(parameter: &str) -> Option<String> {
        TEMPLATE
            .split(&format!("\n  {parameter}:\n"))
            .nth(1)
            .and_then(|rest| {
                rest.lines()
                    .find_map(|l| l.trim().strip_prefix("Default: "))
            })
            .map(|d| d.trim_matches('"').to_owned())
    }

    /// The `name: value` lines of a variables block indented by `indent` spaces; those set
    /// only under parameters other than the defaults (`!If [..., NoValue]`, e.g.
    /// CALLER_ROLE_ARN with ActAsCaller=true) are not in a default deploy, and comments are not
    /// variables.
    fn variables(block: &str, indent: usize) -> Vec<(&str, &str)> {
        let prefix = " ".repeat(indent);
        block
            .lines()
            .take_while(|l| l.starts_with(&prefix) || l.trim().starts_with('#'))
            .filter(|l| !l.contains("AWS::NoValue") && !l.trim().starts_with('#'))
            .filter_map(|l| l.trim().split_once(": "))
            .collect()
    }

    /// The names in each tool function's `Environment.Variables` block, and its target name's
    /// default, read from template.yaml.
    fn template_functions() -> Vec<(String, Vec<String>)> {
        TEMPLATE
            .split("\n        Variables:\n")
            .skip(1)
            .filter_map(|block| {
                let vars = variables(block, 10);
                let target = vars
                    .iter()
                    .find(|(k, _)| *k == "GATEWAY_TARGET_NAME")?
                    .1
                    .strip_prefix("!Ref ")?;
                let names = vars.iter().map(|(k, _)| (*k).to_owned()).collect();
                Some((default_of(target)?, names))
            })
            .collect()
    }

    #[test]
    fn each_tool_gets_exactly_the_variables_its_function_has_in_the_template() {
        let functions = template_functions();
        let tools = FUNCTIONS
            .iter()
            .filter(|(_, vars)| vars.iter().any(|(k, _)| *k == "GATEWAY_TARGET_NAME"))
            .count();
        assert_eq!(functions.len(), tools);
        for (target, mut names) in functions {
            let (_, vars) = FUNCTIONS
                .iter()
                .find(|(_, vars)| vars.contains(&("GATEWAY_TARGET_NAME", target.as_str())))
                .unwrap_or_else(|| panic!("no function here has target `{target}`"));
            let mut ours: Vec<String> = vars.iter().map(|(k, _)| (*k).to_owned()).collect();
            names.sort();
            ours.sort();
            assert_eq!(ours, names, "target `{target}`");
        }
    }

    #[test]
    fn the_authorizer_gets_its_functions_variables_with_the_parameters_defaults() {
        let block = TEMPLATE
            .split("\n  AuthorizerFunction:\n")
            .nth(1)
            .and_then(|rest| rest.split("\n        Variables:\n").nth(1))
            .unwrap();
        let env = for_binary("authorizer", 1, "http://127.0.0.1:2");
        let vars = variables(block, 10);
        assert!(!vars.is_empty());
        for (name, value) in vars {
            let parameter = value.strip_prefix("!Ref ").unwrap();
            assert_eq!(
                value_of(&env, name),
                default_of(parameter).as_deref(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_binary_gets_the_templates_globals() {
        let block = TEMPLATE
            .split("\nGlobals:\n")
            .nth(1)
            .and_then(|rest| rest.split("\n      Variables:\n").nth(1))
            .unwrap();
        let names: Vec<&str> = variables(block, 8).into_iter().map(|(k, _)| k).collect();
        assert!(names.contains(&"CALLER_SIGNING_KEY"), "{names:?}");
        let env = for_binary("hello_world", 1, "http://127.0.0.1:2");
        for name in names {
            assert!(value_of(&env, name).is_some(), "{name}");
        }
    }
}
