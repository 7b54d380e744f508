//! `guard test`: run case files; one line per case, then `N passed, M failed`.

use std::{path::PathBuf, process::ExitCode};

use guard::PolicySources;

use crate::{
    CliError,
    cases::{self, CaseRunner},
};

/// Runs every case of every file; fails when any case fails.
pub fn run(
    sources: &PolicySources,
    gateway_arn: &str,
    files: &[PathBuf],
) -> Result<ExitCode, CliError> {
    let runner = CaseRunner::new(sources, gateway_arn)?;
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
