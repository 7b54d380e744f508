//! `guard new-tool NAME`: write a guarded tool into the workspace, then say what is left to
//! make it yours.

use std::{path::Path, process::ExitCode};

use crate::{
    CliError,
    new_tool::{self, Names, Written},
};

/// Writes tool `name` under `root`, formats its Rust files, and prints what was written and
/// the checklist of what is left.
pub fn run(
    root: &Path,
    name: &str,
    target: Option<&str>,
    resource_type: Option<&str>,
) -> Result<ExitCode, CliError> {
    let names = Names::new(name, target, resource_type)?;
    let written = new_tool::generate(root, &names)?;
    for file in &written.created {
        println!("created {file}");
    }
    for file in &written.edited {
        println!("added to {file}");
    }
    format(root, &written);
    println!("\n{}", checklist(&names));
    Ok(ExitCode::SUCCESS)
}

/// Formats the new Rust files as `cargo fmt` would (the names change line lengths); without
/// `rustfmt`, says to run it.
fn format(root: &Path, written: &Written) {
    let files = new_tool::rust_files(root, written);
    let formatted = std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .args(&files)
        .status();
    if !formatted.is_ok_and(|s| s.success()) {
        println!("(rustfmt did not run: run `cargo fmt` before `cargo fmt --check` does)");
    }
}

/// What is left once the files are written, in order.
fn checklist(names: &Names) -> String {
    let Names {
        tool,
        target,
        camel,
        ..
    } = names;
    format!(
        "`{tool}` builds and its tests pass as written: on EC2's pattern, it reboots a real \
staging or dev instance. What is left, in order:
  1. cargo test -p {tool}; guard validate; guard test policies/tests/{tool}.json; guard prove
     (all pass now: keep them passing through every step below).
  2. Make it yours in crates/{tool}/src/lib.rs: the SDK client, `lookup` (read the real
     resource: the tags and attributes your policies decide on), `operate` (the one mutating
     call, with `Attempts` attached, so a failure AWS refused gives its budget slot back;
     `dry_run` that changes nothing; `changed: false` for a no-op, which gives the slot back).
     A new SDK crate goes into the root Cargo.toml's [workspace.dependencies] with the
     features the others have.
  3. Arguments changed? crates/{tool}/tool_schema.json, the `context.input` of both actions in
     policies/schema/*.cedarschema, and the tests: `cargo test -p {tool}` checks the parser, the
     tool schema and the Cedar schema agree.
  4. Policies: policies/gateway/{tool}.cedar (call check, what AgentCore sees),
     policies/resource/{tool}.cedar (the real resource), policies/invariants/{tool}.cedar (what
     must never happen), policies/tests/{tool}.json. Tag keys and names (`name`, `cluster`)
     reach the policies folded to lowercase; every other attribute exactly as AWS reports it.
  5. Budget: policies/budgets.json has `{target}-per-environment` (3 per environment per
     hour); change it to fit. A mutating tool needs BUDGET_TABLE even with no budget of its
     own (or BUDGETS=OFF, deliberately).
  6. Deploy: paste crates/{tool}/deploy/template.yaml into template.yaml and
     crates/{tool}/deploy/targets.yaml into agentcore/targets.yaml (the template tests in
     tests/tests/e2e/template.rs fail until both are in), and let the created gateway's role
     invoke {camel}Function in agentcore/gateway.yaml.
  7. Events: events/{tool}/ (placeholder instance ids, see events/README.md); add `{tool}` to
     tests/tests/e2e/events.rs to run them through the built function on the emulator."
    )
}
