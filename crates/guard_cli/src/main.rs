//! `guard`: validate, test, explain, render and replay the policies offline.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use guard::{EXAMPLE_GATEWAY_ARN, Mode, PolicySources};
use guard_cli::{
    CliError,
    cases::{Case, Expected},
    command,
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
    #[arg(long, global = true, value_name = "ARN", default_value = EXAMPLE_GATEWAY_ARN)]
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
    /// AgentCore Policy Engine; `--format json` gives each its `EnforcementMode`.
    Render {
        /// `text` (the statements) or `json` (each policy's id, `enforcementMode` and
        /// statement: upload a shadow policy with `LOG_ONLY`, as the guard trials it).
        #[arg(long, value_enum, default_value = "text")]
        format: command::render::Format,
    },
    /// Prove the invariants (policies/invariants/) for every request the schema admits, with
    /// Cedar's symbolic compiler and cvc5; one line per invariant, then `N proved, M failed`.
    Prove {
        /// Invariants directory; default: `DIR/invariants` with `--policies DIR`, else the
        /// invariants compiled in from policies/invariants/.
        #[arg(long, value_name = "DIR")]
        invariants: Option<PathBuf>,
        /// Instead, prove two policy directories decide every request alike, or print one
        /// request that tells them apart.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
        equivalent: Option<Vec<PathBuf>>,
    },
    /// Decide audit records again against these policies: print the flips (allow → deny,
    /// deny → allow), then `N replayed, A newly denied, B newly allowed, C unchanged` per tool
    /// and check. Reads the functions' JSON log lines, `aws logs filter-log-events` output or a
    /// CloudWatch Logs export.
    Replay {
        /// Files of audit records; standard input when none, or `-`.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Exit 1 when this happens (repeatable): newly-denied, newly-allowed, not-replayed.
        #[arg(long, value_enum, value_delimiter = ',')]
        fail_on: Vec<command::replay::FailOn>,
        /// A candidate budget file: decide the recorded budget checks again under it, in time
        /// order (what would these budgets have blocked, or let through?).
        #[arg(long, value_name = "FILE")]
        budgets: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode, CliError> {
    let sources = match &cli.policies {
        Some(dir) => PolicySources::from_dir(dir),
        None => Ok(PolicySources::embedded()),
    };
    let gateway_arn = cli.gateway_arn.as_str();
    match &cli.command {
        Command::Validate => {
            let invariants = cli.policies.as_ref().map(|dir| dir.join("invariants"));
            let invariants = match &invariants {
                Some(dir) => command::prove::InvariantFiles::Dir(dir),
                None => command::prove::InvariantFiles::Embedded,
            };
            Ok(command::validate::run(sources, gateway_arn, invariants))
        }
        Command::Test { files } => command::test::run(&sources?, gateway_arn, files),
        Command::Check {
            tool,
            input,
            principal,
            resource,
            mode,
        } => {
            let case = Case {
                name: "check".to_owned(),
                tool: tool.clone(),
                params: json("--input", input)?,
                expected: Expected::Allow,
                principal: principal
                    .as_deref()
                    .map(|p| json("--principal", p))
                    .transpose()?,
                resource: resource
                    .as_deref()
                    .map(|r| json("--resource", r))
                    .transpose()?,
                // `check` explains the policy checks; budgets need a history (`guard test`).
                history: None,
                mode: Some(*mode),
                denied_by: None,
                policy: None,
            };
            command::check::run(sources, gateway_arn, &case)
        }
        Command::Render { format } => command::render::run(sources, gateway_arn, *format),
        Command::Prove {
            equivalent: Some(dirs),
            ..
        } => match dirs.as_slice() {
            [old, new] => command::prove::run_equivalent(old, new, gateway_arn),
            _ => Err(CliError::Usage(
                "--equivalent takes two directories, OLD and NEW",
            )),
        },
        Command::Prove {
            invariants,
            equivalent: None,
        } => {
            let default = cli.policies.as_ref().map(|dir| dir.join("invariants"));
            let files = match invariants.as_ref().or(default.as_ref()) {
                Some(dir) => command::prove::InvariantFiles::Dir(dir),
                None => command::prove::InvariantFiles::Embedded,
            };
            command::prove::run(sources, gateway_arn, files)
        }
        Command::Replay {
            files,
            fail_on,
            budgets,
        } => command::replay::run(&sources?, gateway_arn, files, fail_on, budgets.as_deref()),
    }
}

fn json<T: serde::de::DeserializeOwned>(flag: &'static str, text: &str) -> Result<T, CliError> {
    serde_json::from_str(text).map_err(|source| CliError::Json { flag, source })
}
