//! What `guard --help` says beyond the flags: the case fields, the tool names the policies
//! declare, and each subcommand's exit codes.

use guard::PolicySources;

use crate::command::validate::declared_tools;

/// Exit codes every subcommand shares.
const COMMON_EXIT: &str = "  2    the command could not run (a bad flag or argument, a file it cannot read, \
policies that do not load)\n  141  standard output was closed before the end (`| head`): the run \
was cut short";

/// The case-file format, for `guard test --help`.
pub const CASE_FIELDS: &str = "\
A case file is a JSON array of cases (a directory argument runs its *.json files):
  name       what the case is about (required)
  tool       the gateway tool name, `<target>___<tool>` (required; see below)
  params     the tool's arguments, a JSON object (required)
  expected   ALLOW | DENY | ERROR, or WOULD_DENY with \"mode\": \"LOG_ONLY\" (required);
             DENY is a decision (a policy or a budget), ERROR a call stopped because no
             decision could be reached; a case expecting DENY fails on an ERROR
  principal  the caller, {\"type\": \"OAuthUser\"|\"IamEntity\", \"id\", \"tags\"?}; unknown when
             absent, as in a tool Lambda
  resource   the real resource, {\"type\", \"id\", \"tags\"?, \"attributes\"?}; with it the
             resource check runs after the call check, and both must allow
  mode       ENFORCE (default) | LOG_ONLY
  history    recent operations, [{\"tool\", \"ago\": \"20m\", \"environment\"?, \"resource\"?}];
             with a resource, the budget check runs against it
  approval   a person's approval of the call, {\"approver\", \"approver_person\",
             \"approver_role\", \"caller_person\"}: the resource check's context.approval
  denied_by  call | resource | budget: the check that must decide the outcome
  policy     a policy (or budget) id that must be among that check's deciding ones";

/// Exit codes of `guard test`.
pub const TEST_EXIT: &str =
    "  0    every case passed\n  1    a case failed (or a file is not a case file)";
/// Exit codes of `guard check`.
pub const CHECK_EXIT: &str = "  0    allowed (in LOG_ONLY, a would-deny too: the call goes on)\n  \
1    denied by a policy\n  3    an error: no decision could be reached (an unknown tool, \
arguments the schema refuses, a resource that does not fit)";
/// Exit codes of `guard validate`.
pub const VALIDATE_EXIT: &str =
    "  0    valid (warnings do not fail it)\n  1    something is invalid: each problem is listed";
/// Exit codes of `guard render`.
pub const RENDER_EXIT: &str = "  0    rendered";
/// Exit codes of `guard prove`.
pub const PROVE_EXIT: &str = "  0    every invariant proved (or, with --equivalent, the two sets equivalent)\n  1    an \
invariant failed or is vacuous (or the two sets differ)";
/// Exit codes of `guard replay`.
pub const REPLAY_EXIT: &str = "  0    replayed\n  1    a --fail-on condition held\n  3    \
nothing was replayed: no audit record, or every one about another gateway";
/// Exit codes of `guard stop`.
pub const STOP_EXIT: &str = "  0    stopped, and the order audited\n  1    stopped, but the order's \
audit record could not be written (the stop stands)";
/// Exit codes of `guard resume`.
pub const RESUME_EXIT: &str = "  0    audited, then resumed (or nothing was stopped)";
/// Exit codes of `guard approve` and `guard reject`.
pub const APPROVE_EXIT: &str =
    "  0    audited, then decided\n  1    not confirmed: nothing decided";
/// Exit codes of `guard new-tool`.
pub const NEW_TOOL_EXIT: &str = "  0    every file written";

/// The text after a subcommand's flags: its exit codes and the ones every subcommand shares,
/// in numeric order.
pub fn exit_codes(own: &str) -> String {
    let code = |line: &&str| {
        line.split_whitespace()
            .next()
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(u16::MAX)
    };
    let mut lines: Vec<&str> = own.lines().chain(COMMON_EXIT.lines()).collect();
    lines.sort_by_key(code);
    format!("Exit codes:\n{}", lines.join("\n"))
}

/// The gateway tool names the compiled-in policies' schema declares, one per line.
pub fn tool_names() -> String {
    let tools = declared_tools(PolicySources::embedded().files());
    let mut text =
        String::from("Tools the compiled-in schema declares (`--tool`, a case's `tool`):");
    for tool in tools {
        text.push_str("\n  ");
        text.push_str(&tool);
    }
    text
}
