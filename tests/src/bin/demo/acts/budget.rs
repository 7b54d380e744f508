//! The budget: after the 2:37 AM sequence, on the same world, the agent "optimises" staging by
//! terminating idle instances one after another, until the budget over time stops it.

use e2e::{Function, world};
use serde_json::{Value, json};

use crate::{
    functions::{Call, Functions, Tool},
    narration::show,
    sequence::Played,
};

/// The shipped `terminate-per-environment` budget (policies/budgets.json).
const TERMINATE_BUDGET: usize = 3;

/// After the 2:37 AM sequence, the agent "optimises" staging: it terminates idle instances one
/// after another. Each call alone is allowed — staging, tagged, unprotected — and the budget of
/// terminations per environment per hour stops the run at its limit, across calls. Whether it
/// stopped it exactly there.
pub async fn play(enforced: &Played) -> Result<bool, String> {
    let (world, after) = (&enforced.world, &enforced.after);
    let (config, functions) = (&enforced.running.config, &enforced.running.functions);
    println!(
        "\n== The budget: the agent \"optimises\" staging, terminating idle instances one after another =="
    );
    let earlier = world
        .staging
        .instances
        .iter()
        .filter(|id| after.instance(id) == "terminated")
        .count();
    println!("   ({earlier} staging instances were terminated in the sequence above, this hour)");
    let ec2 = aws_sdk_ec2::Client::new(config);
    let idle = world::run_instances(&ec2, Some("staging"), 5).await?;
    let mut over_budget = 0;
    for id in &idle {
        let call = Call {
            tool: Tool::Terminate,
            intent: format!("terminate idle staging instance {id}"),
            arguments: json!({"environment": "staging", "instance_id": id}),
        };
        let report = functions.call(&call)?;
        show(&call, &report);
        let budget_denied = report
            .pointer("/guard/checks")
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c["check"] == "budget" && c["outcome"] == "deny")
            });
        over_budget += usize::from(budget_denied);
    }
    let now = world::snapshot(config, world).await?;
    let terminated = idle
        .iter()
        .filter(|id| now.instance(id) == "terminated")
        .count();
    println!(
        "\n   the agent terminated {terminated} more; the budget stopped {over_budget} calls: \
         {} staging terminations this hour, the budget's {TERMINATE_BUDGET}",
        earlier + terminated
    );
    operator_view(functions);
    Ok(earlier + terminated == TERMINATE_BUDGET && over_budget == idle.len() - terminated)
}

/// What the operator sees: the metric CloudWatch extracts from the audit lines, summed as the
/// dashboard's widget sums it, and the last line itself.
fn operator_view(functions: &Functions) {
    let lines: Vec<Value> = functions
        .function(Tool::Terminate)
        .map(Function::metric_lines)
        .unwrap_or_default()
        .into_iter()
        .filter(|l| l.get("Check").and_then(Value::as_str) == Some("budget"))
        .collect();
    let sum = |metric: &str| -> u64 {
        lines
            .iter()
            .filter_map(|l| l.get(metric).and_then(Value::as_u64))
            .sum()
    };
    println!(
        "   metric (dashboard \"Budget checks by tool and outcome\"): AgentGuard Tool=terminate_instance Check=budget: \
         Allow {}, Deny {}, Error {}",
        sum("Allow"),
        sum("Deny"),
        sum("Error")
    );
    if let Some(last) = lines.last() {
        let mut shown = last.clone();
        if let Some(fields) = shown.as_object_mut() {
            fields.remove("guard_audit");
        }
        println!("   its last EMF line, without the audit record: {shown}");
    }
}
