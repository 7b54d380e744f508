use guard::{EXAMPLE_GATEWAY_ARN, PolicyFile};

use super::*;

/// The shipped policies and `n` more terminate permits, each for one instance.
fn with_terminate_permits(n: usize) -> Shipped {
    let mut files = PolicySources::embedded().files().to_vec();
    let text: String = (0..n)
        .map(|i| {
            format!(
                "@id(\"extra_{i}\")\npermit (principal, action == \
                 AgentCore::Action::\"terminate-instance___terminate_instance\", \
                 resource == ?resource)\nwhen {{ context.input has instance_id && \
                 context.input.instance_id == \"i-{i}\" }};\n"
            )
        })
        .collect();
    files.push(PolicyFile {
        name: "gateway/extra.cedar".to_owned(),
        text,
    });
    Shipped::load(
        Ok(PolicySources::from_files("test", files)),
        EXAMPLE_GATEWAY_ARN,
    )
    .unwrap()
}

#[test]
fn the_carried_permits_nest_to_the_right_so_a_proof_grows_with_them_linearly() {
    let shipped = with_terminate_permits(3);
    let terminate = ActionType::Resource.uid_string("terminate_instance");
    let env = shipped
        .schema
        .request_envs()
        .find(|env| env.action().to_string() == terminate)
        .unwrap();
    let policies = shipped.for_env(&env, Scope::Enforced).unwrap();
    let no_permit = policies
        .set
        .policy(&PolicyId::new("call check: no permit"))
        .unwrap()
        .to_json()
        .unwrap();
    let mut condition = &no_permit["conditions"][0]["body"];
    let mut permits = 1;
    while let Some(or) = condition.get("||") {
        assert!(
            or["left"].get("||").is_none(),
            "a left operand is itself a disjunction: {or}"
        );
        condition = &or["right"];
        permits += 1;
    }
    // The shipped terminate permit and the three added.
    assert_eq!(permits, 4);
}
