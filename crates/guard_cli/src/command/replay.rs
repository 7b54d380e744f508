//! `guard replay`: decide recorded checks again against candidate policies; print the flips,
//! then a summary per tool and check.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::ExitCode,
};

use budget::Budgets;

use clap::ValueEnum;
use serde_json::Value;

use guard::PolicySources;

use crate::{
    CliError,
    replay::{
        ApprovalChange, BudgetReplay, Change, Found, Input, Recorded, Replayed, Replayer, Summary,
    },
};

/// What makes `guard replay` fail (exit code 1), for CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A check the records allowed would now be denied.
    NewlyDenied,
    /// A check the records denied (or would-denied) would now be allowed.
    NewlyAllowed,
    /// A record could not be decided again, or is about another gateway.
    NotReplayed,
}

/// Replays every record in `files` (stdin when none, or `-`); fails on what `fail_on` names.
/// With `budgets` (a candidate budget file), budget checks are decided again too, in time
/// order, under those budgets.
pub fn run(
    sources: &PolicySources,
    gateway_arn: &str,
    files: &[PathBuf],
    fail_on: &[FailOn],
    budgets: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let replayer = Replayer::new(sources, gateway_arn)?;
    let mut budget_replay = match budgets {
        Some(file) => Some(BudgetReplay::new(candidate_budgets(file, &replayer)?)),
        None => None,
    };
    let input = read_input(files)?;
    let mut summary = Summary {
        other_lines: input.other,
        ..Summary::default()
    };
    let budget_records = replay_checks(&replayer, &input, &mut summary, budget_replay.is_some());
    if let Some(replay) = &mut budget_replay {
        replay_budgets(replay, budget_records, &mut summary);
    }
    print_summary(&sources.origin, gateway_arn, &summary);
    Ok(exit_code(&summary, fail_on))
}

/// The records of `files`, read in order; stdin when there are none, or for `-`.
fn read_input(files: &[PathBuf]) -> Result<Input, CliError> {
    let mut input = Input::default();
    let stdin = [PathBuf::from("-")];
    for file in if files.is_empty() { &stdin[..] } else { files } {
        let (name, text) = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| CliError::Read {
                    file: "stdin".to_owned(),
                    source,
                })?;
            ("stdin".to_owned(), text)
        } else {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(file).map_err(|source| CliError::Read {
                file: name.clone(),
                source,
            })?;
            (name, text)
        };
        input.read(&name, &text);
    }
    Ok(input)
}

/// Decides every policy check of `input` again, printing its flips and counting it in
/// `summary`. Budget records are returned to be decided under candidate budgets when
/// `with_budgets`, else only counted.
fn replay_checks<'a>(
    replayer: &Replayer,
    input: &'a Input,
    summary: &mut Summary,
    with_budgets: bool,
) -> Vec<&'a Found> {
    let mut budget_records = Vec::new();
    for found in &input.found {
        let record = &found.record;
        match replayer.replay(record) {
            Replayed::Decided {
                decision,
                change,
                approval,
            } => {
                summary
                    .by_check
                    .entry((record.tool.clone(), record.check))
                    .or_default()
                    .add(change);
                if change != Change::Unchanged {
                    print_flip(&found.at, record, change, &decision);
                }
                if let Some(approval) = approval {
                    print_approval(&found.at, record, approval);
                    *summary.approvals.entry(approval).or_default() += 1;
                }
            }
            Replayed::OtherGateway(gateway) => {
                *summary.other_gateways.entry(gateway).or_default() += 1;
            }
            Replayed::NotRedecidable(why) => {
                println!(
                    "NOT REPLAYED  {} {} check {} at {}: {}",
                    found.at,
                    record.check,
                    shown(&record.tool),
                    shown(&record.time),
                    why.escape_debug()
                );
                summary.not_redecidable += 1;
            }
            Replayed::Budget if with_budgets => budget_records.push(found),
            Replayed::Budget => summary.budget_checks += 1,
        }
    }
    budget_records
}

/// Decides `budget_records` again under the candidate budgets. Budgets count operations over
/// time: decided in the order they happened.
fn replay_budgets(
    replay: &mut BudgetReplay,
    mut budget_records: Vec<&Found>,
    summary: &mut Summary,
) {
    budget_records.sort_by(|a, b| a.record.time.cmp(&b.record.time));
    for found in budget_records {
        replay_budget(replay, found, summary);
    }
}

/// 1 when a `fail_on` condition holds; else [`NOTHING_REPLAYED_STATUS`] when nothing was
/// decided again; else 0.
fn exit_code(summary: &Summary, fail_on: &[FailOn]) -> ExitCode {
    let total = summary.total();
    let failed = fail_on.iter().any(|f| match f {
        FailOn::NewlyDenied => total.newly_denied > 0,
        FailOn::NewlyAllowed => total.newly_allowed > 0,
        FailOn::NotReplayed => summary.not_replayed() > 0,
    });
    if failed {
        return ExitCode::FAILURE;
    }
    // A gate that decided nothing again has checked nothing: an empty input, or records of
    // another gateway only, must not pass as "no flips". Its own status, apart from a flip.
    if total.replayed == 0 {
        println!("{}", nothing_replayed(summary));
        return ExitCode::from(NOTHING_REPLAYED_STATUS);
    }
    ExitCode::SUCCESS
}

/// The exit status when no record was decided again.
pub const NOTHING_REPLAYED_STATUS: u8 = 3;

/// Why a replay decided nothing again: no record at all, or records of other gateways only.
fn nothing_replayed(summary: &Summary) -> String {
    if summary.other_gateways.is_empty() {
        "nothing replayed: no replayable audit record was read".to_owned()
    } else {
        let gateways: Vec<String> = summary
            .other_gateways
            .keys()
            .map(|g| format!("`{}`", g.escape_debug()))
            .collect();
        format!(
            "nothing replayed: every record is about another gateway ({}); pass the gateway \
             they were written for as --gateway-arn",
            gateways.join(", ")
        )
    }
}

/// The candidate budget file, checked against the tools the policies declare.
fn candidate_budgets(file: &Path, replayer: &Replayer) -> Result<Budgets, CliError> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| CliError::Read {
        file: name.clone(),
        source,
    })?;
    let budgets = Budgets::parse(&name, &text)?;
    budgets.check_tools(|tool| replayer.declares_tool(tool))?;
    Ok(budgets)
}

/// One budget check decided again under the candidate budgets, its flip printed.
fn replay_budget(replay: &mut BudgetReplay, found: &Found, summary: &mut Summary) {
    let record = &found.record;
    match replay.decide(record) {
        Ok(flip) => {
            summary
                .by_check
                .entry((record.tool.clone(), record.check))
                .or_default()
                .add(flip.change);
            if flip.change != Change::Unchanged {
                let label = match flip.change {
                    Change::NewlyDenied => "NEWLY DENIED ",
                    _ => "NEWLY ALLOWED",
                };
                println!(
                    "{label} budget check {} on {} at {} ({})",
                    shown(&record.tool),
                    shown(&record.resource),
                    shown(&record.time),
                    found.at
                );
                println!(
                    "  then:      {} ({}): {}",
                    record.decision,
                    record.outcome,
                    then(record)
                );
                println!("  now:       {}", flip.now.escape_debug());
            }
        }
        Err(why) => {
            println!(
                "NOT REPLAYED  {} budget check {} at {}: {}",
                found.at,
                shown(&record.tool),
                shown(&record.time),
                why.escape_debug()
            );
            summary.not_redecidable += 1;
        }
    }
}

/// A call whose need for a person's approval the replayed policies change.
fn print_approval(at: &str, record: &Recorded, approval: ApprovalChange) {
    let what = match approval {
        ApprovalChange::NoLongerNeeded => {
            "APPROVAL NO LONGER NEEDED: it ran on a person's approval; these policies allow it without one"
        }
        ApprovalChange::NowRequired => {
            "APPROVAL NOW REQUIRED: it ran without a person; these policies would have asked one"
        }
    };
    println!(
        "{what}: {} check {} at {} ({at}{})",
        record.check,
        shown(&record.tool),
        shown(&record.time),
        ids(&record.request_ids)
    );
    println!("  arguments: {}", record.arguments);
}

fn print_flip(at: &str, record: &Recorded, change: Change, decision: &guard::Decision) {
    let label = match change {
        Change::NewlyDenied => "NEWLY DENIED ",
        Change::NewlyAllowed => "NEWLY ALLOWED",
        Change::Unchanged => "UNCHANGED    ",
    };
    println!(
        "{label} {} check {} at {} ({at}{})",
        record.check,
        shown(&record.tool),
        shown(&record.time),
        ids(&record.request_ids)
    );
    println!("  arguments: {}", record.arguments);
    match &record.caller {
        Some(caller) => println!(
            "  caller:    {}",
            serde_json::to_string(caller).unwrap_or_default()
        ),
        None => println!("  caller:    {}", record.principal.escape_debug()),
    }
    if let Some(facts) = &record.resource_facts {
        println!(
            "  resource:  {} tags {} attributes {}",
            facts.uid_string(),
            serde_json::to_string(&facts.tags).unwrap_or_default(),
            Value::Object(facts.attributes.clone())
        );
    }
    println!(
        "  then:      {} ({}, {}): {}",
        record.decision,
        record.outcome,
        record.mode,
        then(record)
    );
    println!(
        "  now:       {}: {}",
        decision.verdict(),
        decision.explain()
    );
}

/// What decided the recorded check: its determining policies, its error, or no permit.
fn then(record: &Recorded) -> String {
    if !record.policies.is_empty() {
        let policies: Vec<String> = record.policies.iter().map(|p| shown(p)).collect();
        format!("by {}", policies.join(", "))
    } else if !record.errors.is_empty() {
        let errors: Vec<String> = record
            .errors
            .iter()
            .map(|e| e.escape_debug().to_string())
            .collect();
        format!("error, not a policy decision: {}", errors.join("; "))
    } else {
        "no policy permitted it".to_owned()
    }
}

/// `, lambda …, agentcore …` from a record's request ids.
fn ids(request_ids: &Value) -> String {
    request_ids
        .as_object()
        .map(|ids| {
            ids.iter()
                .filter_map(|(k, v)| {
                    v.as_str()
                        .map(|v| format!(", {} {}", k.escape_debug(), v.escape_debug()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Text from a record, in backticks and escaped: a record's strings came from a caller, and
/// must not be able to start a line of this output (which CI reads).
fn shown(text: &str) -> String {
    format!("`{}`", text.escape_debug())
}

fn print_summary(origin: &str, gateway_arn: &str, summary: &Summary) {
    println!("replayed against {origin} for `{gateway_arn}`:");
    for ((tool, check), counts) in &summary.by_check {
        println!("  {} {check}: {counts}", tool.escape_debug());
    }
    println!("  total: {}", summary.total());
    for (gateway, count) in &summary.other_gateways {
        println!(
            "  not replayed: {count} from another gateway (`{}`)",
            gateway.escape_debug()
        );
    }
    if summary.not_redecidable > 0 {
        println!(
            "  not replayed: {} not re-decidable (listed above)",
            summary.not_redecidable
        );
    }
    for (approval, count) in &summary.approvals {
        let what = match approval {
            ApprovalChange::NoLongerNeeded => "would no longer need a person's approval",
            ApprovalChange::NowRequired => "would now need a person's approval",
        };
        println!("  approvals: {count} {what}");
    }
    if summary.budget_checks > 0 {
        println!(
            "  {} budget checks: decided by history",
            summary.budget_checks
        );
    }
    if summary.other_lines > 0 {
        println!(
            "  ignored: {} lines or events that are not the guard's audit records",
            summary.other_lines
        );
    }
}
