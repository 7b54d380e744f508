//! Why a `guard` command could not do its job (exit code 2), as opposed to a result it reports
//! (invalid policies, failed cases: exit code 1).

use guard::{GuardError, LoadError, RenderError};

use crate::{new_tool::NewToolError, prove::ProveError};

/// A command that could not run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The policies did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The guard cannot decide (no gateway, a bad gateway ARN, a link error).
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The gateway set could not be printed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A proof could not be attempted (no solver, invalid invariants).
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// A budget file does not load.
    #[error(transparent)]
    Budgets(#[from] budget::BudgetError),
    /// `guard new-tool` wrote nothing.
    #[error(transparent)]
    NewTool(#[from] NewToolError),
    /// `--gateway-arn` is not an AgentCore gateway ARN.
    #[error(
        "`--gateway-arn` `{0}` is not an AgentCore gateway ARN \
         (`arn:aws:bedrock-agentcore:<region>:<account>:gateway/<id>`)"
    )]
    GatewayArn(String),
    /// `guard render --policy` names a policy the gateway set does not hold.
    #[error("the gateway set has no policy `{id}` (it has `{known}`)")]
    UnknownPolicy {
        /// The id asked for.
        id: String,
        /// The ids the set holds.
        known: String,
    },
    /// A case file argument is a directory with no case file in it.
    #[error("`{0}` holds no `*.json` case file")]
    NoCaseFiles(String),
    /// The command line is wrong in a way clap does not catch.
    #[error("{0}")]
    Usage(&'static str),
    /// A JSON argument did not parse.
    #[error("{flag} is not valid JSON of the expected shape: {source}")]
    Json {
        /// The flag (`--input`).
        flag: &'static str,
        /// What serde said.
        source: serde_json::Error,
    },
    /// An input file could not be read.
    #[error("cannot read `{file}`: {source}")]
    Read {
        /// The file (`stdin` for standard input).
        file: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Who runs the command could not be established.
    #[error("who you are could not be established (`sts:GetCallerIdentity`): {0}")]
    Identity(String),
    /// The stop switch could not be read or set.
    #[error(transparent)]
    Switch(#[from] oversight::SwitchError),
    /// An approval could not be read or decided.
    #[error(transparent)]
    Approval(#[from] oversight::ApprovalError),
    /// An order's audit record could not be written.
    #[error("control log group `{group}`: `{action}` failed: {message}")]
    ControlLog {
        /// The log group.
        group: String,
        /// The CloudWatch Logs action.
        action: &'static str,
        /// What went wrong, with its causes.
        message: String,
    },
    /// The approval endpoint could not be asked (a bad URL, no connection, no answer).
    #[error("approval endpoint `{url}`: {message}")]
    Endpoint {
        /// The function URL.
        url: String,
        /// What went wrong, with its causes.
        message: String,
    },
    /// The approval endpoint (or Lambda in front of it) refused the request.
    #[error("the approval endpoint refused ({status}): {message}")]
    EndpointRefused {
        /// The HTTP status.
        status: u16,
        /// What it said.
        message: String,
    },
    /// The async runtime the AWS calls need could not start.
    #[error("the async runtime could not start: {0}")]
    Runtime(String),
}
