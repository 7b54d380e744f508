//! `guard`: validate, test, explain and render the policies offline.

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
    /// AgentCore Policy Engine.
    Render,
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
        Command::Validate => Ok(command::validate::run(sources, gateway_arn)),
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
            };
            command::check::run(sources, gateway_arn, &case)
        }
        Command::Render => command::render::run(sources, gateway_arn),
    }
}

fn json<T: serde::de::DeserializeOwned>(flag: &'static str, text: &str) -> Result<T, CliError> {
    serde_json::from_str(text).map_err(|source| CliError::Json { flag, source })
}
