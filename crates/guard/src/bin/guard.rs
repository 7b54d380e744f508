//! `guard`: validate, test, explain and render the policies offline.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};
use guard::{
    Guard, GuardConfig, Mode, NoAudit, PolicySets, PolicySources,
    cases::{self, ARTICLE_GATEWAY_ARN, CaseRunner},
    policy::{AGENTCORE_SCHEMA, render_static},
};

#[derive(Parser)]
#[command(
    name = "guard",
    version,
    about = "Validate, test, explain and render the guard's Cedar policies, offline"
)]
struct Cli {
    /// Policies directory (gateway/, resource/, schema/); default: the policies compiled in
    /// from the repository's policies/.
    #[arg(long, global = true, value_name = "DIR")]
    policies: Option<PathBuf>,

    /// The gateway the gateway policies are linked to.
    #[arg(long, global = true, value_name = "ARN", default_value = ARTICLE_GATEWAY_ARN)]
    gateway_arn: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, link and validate the policies; print each problem with its file and line.
    Validate,
    /// Run case files; one line per case, then `N passed, M failed`.
    Test {
        /// Case files (JSON arrays of cases).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Explain one decision: the checks, their determining policies, any error.
    Check {
        /// The gateway tool name, `<target>___<tool>`.
        #[arg(long)]
        tool: String,
        /// The tool's arguments, a JSON object.
        #[arg(long, default_value = "{}")]
        input: String,
        /// The caller, `{"type":"OAuthUser"|"IamEntity","id":…,"tags":{…}}`; unknown if absent.
        #[arg(long)]
        principal: Option<String>,
        /// The real resource, `{"type":…,"id":…,"tags":{…},"attributes":{…}}`; with it the
        /// resource check runs too.
        #[arg(long)]
        resource: Option<String>,
        /// ENFORCE or LOG_ONLY.
        #[arg(long, default_value = "ENFORCE")]
        mode: Mode,
    },
    /// Print the gateway set as static policies naming the gateway, for upload to an
    /// AgentCore Policy Engine.
    Render,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, String> {
    let sources = match &cli.policies {
        Some(dir) => PolicySources::from_dir(dir),
        None => Ok(PolicySources::embedded()),
    };
    match &cli.command {
        Command::Validate => Ok(validate(sources, &cli.gateway_arn)),
        Command::Test { files } => test(&sources.map_err(|e| e.to_string())?, cli, files),
        Command::Check {
            tool,
            input,
            principal,
            resource,
            mode,
        } => {
            let case = cases::Case {
                name: "check".to_owned(),
                tool: tool.clone(),
                params: parse_json("--input", input)?,
                expected: cases::Outcome::Allow,
                principal: principal
                    .as_deref()
                    .map(|p| parse_json("--principal", p))
                    .transpose()?,
                resource: resource
                    .as_deref()
                    .map(|r| parse_json("--resource", r))
                    .transpose()?,
                mode: Some(*mode),
            };
            check(sources, &cli.gateway_arn, &case)
        }
        Command::Render => {
            let guard = guard(sources, &cli.gateway_arn, Mode::Enforce)?;
            let linked = guard.gateway_set().map_err(ToString::to_string)?;
            print!("{}", render_static(linked)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(sources: Result<PolicySources, guard::LoadError>, gateway_arn: &str) -> ExitCode {
    let loaded = sources.and_then(|s| PolicySets::load(&s).map(|sets| (s, sets)));
    match loaded {
        Err(e) => {
            for problem in &e.problems {
                println!("{problem}");
            }
            println!("{} problem(s): the policies are invalid", e.problems.len());
            ExitCode::FAILURE
        }
        Ok((sources, sets)) => {
            let guard = Guard::new(
                Ok(sources.clone()),
                &config(gateway_arn, Mode::Enforce),
                Arc::new(NoAudit),
            );
            if let Err(e) = guard.health() {
                println!("{e}");
                return ExitCode::FAILURE;
            }
            println!(
                "valid: {} ({} gateway policies linked to `{gateway_arn}`, validated against {} \
                 alone; {} resource policies, validated against the whole schema)",
                sources.origin,
                sets.gateway_len(),
                AGENTCORE_SCHEMA,
                sets.resource_len()
            );
            ExitCode::SUCCESS
        }
    }
}

fn test(sources: &PolicySources, cli: &Cli, files: &[PathBuf]) -> Result<ExitCode, String> {
    let runner = CaseRunner::new(sources, &cli.gateway_arn).map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let file_results = match std::fs::read_to_string(file) {
            Ok(text) => runner.run_file(&name, &text),
            Err(e) => runner.run_file(&name, &format!("cannot read: {e}")),
        };
        for result in &file_results {
            println!("{result}");
        }
        results.extend(file_results);
    }
    println!("{}", cases::summary(&results));
    Ok(if results.iter().all(cases::CaseResult::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(
    sources: Result<PolicySources, guard::LoadError>,
    gateway_arn: &str,
    case: &cases::Case,
) -> Result<ExitCode, String> {
    let guard = guard(sources, gateway_arn, case.mode.unwrap_or_default())?;
    let (got, decisions) = cases::decide(&guard, case);
    println!("decision: {got}");
    for d in &decisions {
        println!("{} check: {}", d.check, d.verdict());
        println!("  reason: {}", d.explain());
        if !d.policies.is_empty() {
            println!("  determining policies: {}", d.policies.join(", "));
        }
        if d.would_deny() {
            println!("  LOG_ONLY: would deny; the call goes on");
        }
    }
    if case.resource.is_none() {
        println!(
            "(no --resource: the resource check a tool runs on the real resource was not run)"
        );
    }
    Ok(if got == cases::Outcome::Deny {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn guard(
    sources: Result<PolicySources, guard::LoadError>,
    gateway_arn: &str,
    mode: Mode,
) -> Result<Guard, String> {
    let guard = Guard::new(sources, &config(gateway_arn, mode), Arc::new(NoAudit));
    if let Err(e) = guard.policy_sets() {
        return Err(e.to_string());
    }
    Ok(guard)
}

fn config(gateway_arn: &str, mode: Mode) -> GuardConfig {
    GuardConfig {
        mode,
        gateway_arn: Some(gateway_arn.to_owned()),
        ..GuardConfig::default()
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(flag: &str, text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("{flag} is not valid: {e}"))
}
