//! Who is calling (issue 20): on a world of its own, the interceptor vouches for the agent's
//! caller and the tool terminates a staging instance *as* that caller — the `SourceIdentity` AWS
//! records — then refuses the same call replayed and a call whose assertion was forged.

use caller::ASSERTION_FIELD;
use e2e::chain::{Chain, agent_claims, passed_arguments};
use guard::Principal;
use serde_json::{Value, json};

const TOOL: &str = "terminate-instance___terminate_instance";

/// Plays the act; whether the vouched call ran as its caller and both others were refused.
pub async fn play() -> Result<bool, String> {
    println!("\n== Who is calling: the caller the interceptor vouched for, and nobody else ==");
    let chain = Chain::start("terminate_instance", "ENFORCE").await?;
    let instances = &chain.world.staging.instances;
    let (first, second) = match instances.as_slice() {
        [first, second, ..] => (first.clone(), second.clone()),
        _ => return Err("the world has fewer than two staging instances".to_owned()),
    };
    let on = |instance: &str| json!({"environment": "staging", "instance_id": instance});

    // 1. Through the gateway: vouched for, and done as the caller.
    let answer = chain.intercept(TOOL, &on(&first), 41, &agent_claims())?;
    let passed = passed_arguments(&answer).ok_or(format!("the interceptor refused: {answer}"))?;
    println!(
        "  interceptor: agent-7 may terminate {first}; it attaches `{ASSERTION_FIELD}` (ES256 by the \
         KMS key, bound to the gateway, the tool, these arguments and MCP request 41; 30 s)"
    );
    let (report, is_error) = chain.call_tool(TOOL, &passed, 41)?;
    let acted = !is_error && chain.instance_state(&first).await? == "terminated";
    let source_identity = report
        .get("acting_as")
        .and_then(Value::as_str)
        .unwrap_or("none");
    println!(
        "  tool: {} — in a role session with SourceIdentity `{source_identity}`",
        summary(&report)
    );
    let assumed = chain.requests("AssumeRole");
    let shown = assumed
        .iter()
        .any(|(body, _)| body.contains(&format!("SourceIdentity={source_identity}")));
    let terminated_by_session = chain
        .requests("TerminateInstances")
        .iter()
        .all(|(_, auth)| !auth.contains("Credential=testing/"));
    println!(
        "  AWS saw: AssumeRole with SourceIdentity={source_identity} ({}), and the termination \
         signed with the session's credentials, not the function's ({})",
        yes(shown),
        yes(terminated_by_session)
    );

    // 2. The same call again (someone who saw the payload, or a client resending it).
    let (report, replay_refused) = chain.call_tool(TOOL, &passed, 41)?;
    println!("  the same call replayed: {}", summary(&report));

    // 3. A forged assertion: the right key id, someone else's key, on another instance.
    let caller = Principal::OAuthUser {
        id: "agent-7".into(),
        tags: [("scope".to_owned(), "devops".to_owned())].into(),
    };
    let forged = chain
        .forged_assertion(&caller, TOOL, &on(&second), 42)
        .await?;
    let payload = json!({"environment": "staging", "instance_id": second, ASSERTION_FIELD: forged});
    let (report, forgery_refused) = chain.call_tool(TOOL, &payload, 42)?;
    println!("  a forged assertion: {}", summary(&report));
    let untouched = chain.instance_state(&second).await? == "running";

    let held =
        acted && shown && terminated_by_session && replay_refused && forgery_refused && untouched;
    println!(
        "The tool knew who asked, AWS recorded it, and neither a replay nor a forgery got through: {}",
        yes(held)
    );
    Ok(held)
}

fn summary(report: &Value) -> String {
    let field = |name: &str| report.get(name).and_then(Value::as_str).unwrap_or_default();
    // A message can quote agent text; a control character in it must not reach the terminal.
    let message: String = field("message")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("{}: {message}", field("status"))
}

fn yes(held: bool) -> &'static str {
    if held { "yes" } else { "NO" }
}
