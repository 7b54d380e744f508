//! `guard`: validate, test, explain, render, prove and replay the policies offline.

use std::{path::PathBuf, process::ExitCode};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use guard::{EXAMPLE_GATEWAY_ARN, Mode, PolicySources};
use guard_cli::{
    CliError,
    cases::{Case, Expected},
    command, help,
};

#[derive(Parser)]
#[command(
    name = "guard",
    version,
    about = "Validate, test, explain, render, prove and replay the guard's Cedar policies, offline"
)]
struct Cli {
    /// Policies directory (gateway/, resource/, schema/, budgets.json, invariants/); default:
    /// the policies compiled in from the repository's policies/.
    #[arg(long, global = true, value_name = "DIR")]
    policies: Option<PathBuf>,

    /// The gateway the gateway policies are linked to (default: the article's example gateway,
    /// which the shipped cases name).
    #[arg(long, global = true, value_name = "ARN", default_value = EXAMPLE_GATEWAY_ARN)]
    gateway_arn: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the whole policies directory: the policies (each problem with its file and
    /// line), budgets.json, the invariants; warn about what validates yet never applies.
    Validate,
    /// Run case files; one PASS/FAIL line per case (with its file), then `N passed, M failed`.
    Test {
        /// Case files (JSON arrays of cases), or directories of them (their *.json files).
        #[arg(required = true, value_name = "FILE|DIR")]
        files: Vec<PathBuf>,
        /// Print only the failed cases (and the summary).
        #[arg(long)]
        failures_only: bool,
        /// `text` (one line per case) or `json` (one document: every result, then the counts).
        #[arg(long, value_enum, default_value = "text")]
        format: command::test::Format,
    },
    /// Explain one decision: the checks, their deciding policies, any error, and what shadow
    /// policies (@mode("LOG_ONLY")) would decide.
    Check {
        /// The gateway tool name, `<target>___<tool>` (listed below).
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
        /// Only this policy (its @id); repeat for more.
        #[arg(long = "policy", value_name = "ID")]
        only: Vec<String>,
    },
    /// Prove the invariants (policies/invariants/) for every request the schema admits, with
    /// Cedar's symbolic compiler and cvc5; one line per invariant, then `N proved, M failed`.
    Prove {
        /// Invariants directory; default: `DIR/invariants` with `--policies DIR`, else the
        /// invariants compiled in from policies/invariants/.
        #[arg(long, value_name = "DIR")]
        invariants: Option<PathBuf>,
        /// Instead, prove two policy directories decide every request alike, or print one
        /// request that tells them apart: the old one first, then the new one.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
        equivalent: Option<Vec<PathBuf>>,
    },
    /// Write a new guarded tool into the workspace: its crate (tool, main, tests, tool schema,
    /// deploy fragments), policies, schema lines, cases, invariants, budget and events; it
    /// builds and passes its tests as written. Then prints what is left to make it yours.
    NewTool {
        /// The tool, a snake_case verb and object: `stop_rds_instance`.
        name: String,
        /// The workspace to write into.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// Its gateway target name (default: NAME with `-`).
        #[arg(long)]
        target: Option<String>,
        /// The Cedar entity type of the resource it acts on, in the `Guard` namespace
        /// (default: the words after the verb, in CamelCase: `RdsInstance`).
        #[arg(long, value_name = "TYPE")]
        resource_type: Option<String>,
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
    /// Stop the tools: every mutating call of every tool is refused within 5 s, with who
    /// stopped them and why, until `guard resume`; read-only tools keep working. Uses your own
    /// AWS credentials (who you are comes from STS).
    Stop {
        /// Why: one line, shown to every refused agent and in the audit record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        target: SwitchTarget,
    },
    /// Lift a stop, after writing its audit record.
    Resume {
        #[command(flatten)]
        target: SwitchTarget,
    },
    /// Approve a call waiting for a person (its id is in the agent's answer and the
    /// notification), after its one-screen summary: it may run once, before it expires. With
    /// --endpoint (a deployed stack) you are who AWS verifies from your signed request; without
    /// it (the local demo, the emulator) who STS says. Nobody approves their own call.
    Approve {
        /// The approval request id (`<tool>-<32 hex digits>`).
        id: String,
        /// Do not ask for confirmation after the summary.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        endpoint: ApprovalEndpoint,
        #[command(flatten)]
        target: SwitchTarget,
    },
    /// Reject a call waiting for a person: it will not run. --endpoint as for approve.
    Reject {
        /// The approval request id.
        id: String,
        /// Do not ask for confirmation after the summary.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        endpoint: ApprovalEndpoint,
        #[command(flatten)]
        target: SwitchTarget,
    },
}

/// Where approvals are decided in a deployed stack.
#[derive(clap::Args)]
struct ApprovalEndpoint {
    /// The approval endpoint's function URL (the stack's ApprovalEndpointUrl output): the
    /// summary is read from it and the decision sent to it, SigV4-signed with your AWS
    /// credentials; it records you as the identity AWS verifies, and audits the decision.
    /// Deployed stacks need it (the operators' role cannot write approvals). Without it the
    /// table is read and written directly with your credentials, as the local demo and the
    /// emulator do (which serves no function URLs); --table and --control-log-group are then
    /// required.
    #[arg(long, env = command::approve::APPROVAL_URL_VAR, value_name = "URL")]
    endpoint: Option<String>,
}

/// Where the stop switch, the approvals and the orders' audit records are.
#[derive(clap::Args)]
struct SwitchTarget {
    /// The budget table the switch is kept in (the stack's BudgetTableName output).
    #[arg(long, env = budget::TABLE_VAR, value_name = "TABLE")]
    table: Option<String>,
    /// The CloudWatch Logs group each order's audit record is written to (the stack's
    /// ControlLogGroupName output).
    #[arg(long, env = oversight::CONTROL_LOG_VAR, value_name = "GROUP")]
    control_log_group: Option<String>,
}

impl SwitchTarget {
    fn target(&self) -> command::stop::Target {
        command::stop::Target {
            table: self.table.clone(),
            log_group: self.control_log_group.clone(),
        }
    }
}

fn main() -> ExitCode {
    let matches = with_help(Cli::command()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let code = match run(&cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    };
    guard_cli::output::flush();
    code
}

/// Each subcommand's help, completed with what the flags cannot say: the case fields, the tool
/// names the compiled-in schema declares, and the exit codes.
fn with_help(cli: clap::Command) -> clap::Command {
    let tools = help::tool_names();
    cli.mut_subcommand("validate", |c| {
        c.after_help(help::exit_codes(help::VALIDATE_EXIT))
    })
    .mut_subcommand("test", |c| {
        c.after_help(format!(
            "{}\n\n{tools}\n\n{}",
            help::CASE_FIELDS,
            help::exit_codes(help::TEST_EXIT)
        ))
    })
    .mut_subcommand("check", |c| {
        c.after_help(format!("{tools}\n\n{}", help::exit_codes(help::CHECK_EXIT)))
    })
    .mut_subcommand("render", |c| {
        c.after_help(help::exit_codes(help::RENDER_EXIT))
    })
    .mut_subcommand("prove", |c| {
        c.after_help(help::exit_codes(help::PROVE_EXIT))
    })
    .mut_subcommand("replay", |c| {
        c.after_help(help::exit_codes(help::REPLAY_EXIT))
    })
    .mut_subcommand("stop", |c| c.after_help(help::exit_codes(help::STOP_EXIT)))
    .mut_subcommand("resume", |c| {
        c.after_help(help::exit_codes(help::RESUME_EXIT))
    })
    .mut_subcommand("approve", |c| {
        c.after_help(help::exit_codes(help::APPROVE_EXIT))
    })
    .mut_subcommand("reject", |c| {
        c.after_help(help::exit_codes(help::APPROVE_EXIT))
    })
    .mut_subcommand("new-tool", |c| {
        c.after_help(help::exit_codes(help::NEW_TOOL_EXIT))
    })
}

fn run(cli: &Cli) -> Result<ExitCode, CliError> {
    command::gateway_arn_flag(&cli.gateway_arn)?;
    let sources = match &cli.policies {
        Some(dir) => PolicySources::from_dir(dir),
        None => Ok(PolicySources::embedded()),
    };
    let gateway_arn = cli.gateway_arn.as_str();
    match &cli.command {
        Command::Validate => {
            let dir = command::validate::Directory::new(cli.policies.as_deref());
            Ok(command::validate::run(sources, gateway_arn, &dir))
        }
        Command::Test {
            files,
            failures_only,
            format,
        } => {
            let options = command::test::Options {
                failures_only: *failures_only,
                format: *format,
            };
            command::test::run(&sources?, gateway_arn, files, options)
        }
        Command::Check {
            tool,
            input,
            principal,
            resource,
            mode,
        } => {
            let case = check_case(
                tool,
                input,
                principal.as_deref(),
                resource.as_deref(),
                *mode,
            )?;
            command::check::run(sources, gateway_arn, &case)
        }
        Command::Render { format, only } => {
            command::render::run(sources, gateway_arn, *format, only)
        }
        Command::Prove {
            invariants,
            equivalent,
        } => prove(
            cli,
            sources,
            gateway_arn,
            invariants.as_deref(),
            equivalent.as_deref(),
        ),
        Command::NewTool {
            name,
            out,
            target,
            resource_type,
        } => command::new_tool::run(out, name, target.as_deref(), resource_type.as_deref()),
        Command::Replay {
            files,
            fail_on,
            budgets,
        } => command::replay::run(&sources?, gateway_arn, files, fail_on, budgets.as_deref()),
        Command::Stop { reason, target } => command::stop::run_stop(&target.target(), reason),
        Command::Resume { target } => command::stop::run_resume(&target.target()),
        Command::Approve {
            id,
            yes,
            endpoint,
            target,
        } => {
            // Whether the policies would honour this approval is asked before it is recorded.
            let guard = command::guard(sources, gateway_arn, Mode::Enforce)?;
            command::approve::run(
                &target.target(),
                &guard,
                id,
                oversight::Verdict::Approve,
                *yes,
                endpoint.endpoint.as_deref(),
            )
        }
        Command::Reject {
            id,
            yes,
            endpoint,
            target,
        } => {
            let guard = command::guard(sources, gateway_arn, Mode::Enforce)?;
            command::approve::run(
                &target.target(),
                &guard,
                id,
                oversight::Verdict::Reject,
                *yes,
                endpoint.endpoint.as_deref(),
            )
        }
    }
}

/// `guard prove`: the invariants against the policies, or two policy directories against each
/// other (`--equivalent OLD NEW`).
fn prove(
    cli: &Cli,
    sources: Result<PolicySources, guard::LoadError>,
    gateway_arn: &str,
    invariants: Option<&std::path::Path>,
    equivalent: Option<&[std::path::PathBuf]>,
) -> Result<ExitCode, CliError> {
    match equivalent {
        Some([old, new]) => command::prove::run_equivalent(old, new, gateway_arn),
        Some(_) => Err(CliError::Usage(
            "--equivalent takes two directories, OLD and NEW",
        )),
        None => {
            let default = cli.policies.as_ref().map(|dir| dir.join("invariants"));
            let files = match invariants.or(default.as_deref()) {
                Some(dir) => command::prove::InvariantFiles::Dir(dir),
                None => command::prove::InvariantFiles::Embedded,
            };
            command::prove::run(sources, gateway_arn, files)
        }
    }
}

/// The case `guard check` decides: the flags, read as a case file's fields.
fn check_case(
    tool: &str,
    input: &str,
    principal: Option<&str>,
    resource: Option<&str>,
    mode: Mode,
) -> Result<Case, CliError> {
    Ok(Case {
        name: "check".to_owned(),
        tool: tool.to_owned(),
        params: json("--input", input)?,
        expected: Expected::Allow,
        principal: principal.map(|p| json("--principal", p)).transpose()?,
        resource: resource.map(|r| json("--resource", r)).transpose()?,
        // `check` explains the policy checks; budgets need a history (`guard test`).
        history: None,
        approval: None,
        approver_role: None,
        mode: Some(mode),
        denied_by: None,
        policy: None,
    })
}

fn json<T: serde::de::DeserializeOwned>(flag: &'static str, text: &str) -> Result<T, CliError> {
    serde_json::from_str(text).map_err(|source| CliError::Json { flag, source })
}
