//! `guard test`: run case files; one line per case, then `N passed, M failed` — or one JSON
//! document.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use guard::PolicySources;

use crate::{
    CliError,
    cases::{self, CaseResult, CaseRunner},
};

/// How `guard test` prints its results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One `PASS`/`FAIL` line per case, then `N passed, M failed`.
    #[default]
    Text,
    /// One JSON document: `{"results": [...], "passed": N, "failed": M}`.
    Json,
}

/// What `guard test` prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Only the failed cases (the counts still cover every case).
    pub failures_only: bool,
    /// Text or JSON.
    pub format: Format,
}

/// Runs every case of every file (a directory: its `*.json` files); fails when any case fails.
/// Every file is read before any case runs, so a missing file is an error about that file, not
/// a case result.
pub fn run(
    sources: &PolicySources,
    gateway_arn: &str,
    paths: &[PathBuf],
    options: Options,
) -> Result<ExitCode, CliError> {
    let mut files = Vec::new();
    for path in paths {
        for file in case_files(path)? {
            let text = std::fs::read_to_string(&file).map_err(|source| CliError::Read {
                file: file.display().to_string(),
                source,
            })?;
            files.push((file.display().to_string(), text));
        }
    }
    let runner = CaseRunner::new(sources, gateway_arn)?;
    let mut results: Vec<CaseResult> = Vec::new();
    for (name, text) in &files {
        for result in runner.run_file(name, text) {
            if options.format == Format::Text && (!options.failures_only || !result.passed()) {
                println!("{result}");
            }
            results.push(result);
        }
    }
    match options.format {
        Format::Text => println!("{}", cases::summary(&results)),
        Format::Json => {
            let shown: Vec<&CaseResult> = results
                .iter()
                .filter(|r| !options.failures_only || !r.passed())
                .collect();
            println!("{:#}", cases::json_report(&shown, &results));
        }
    }
    Ok(if results.iter().all(CaseResult::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `path` itself, or, for a directory, its `*.json` files sorted by name.
fn case_files(path: &Path) -> Result<Vec<PathBuf>, CliError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let unreadable = |source| CliError::Read {
        file: path.display().to_string(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    if files.is_empty() {
        return Err(CliError::NoCaseFiles(path.display().to_string()));
    }
    files.sort();
    Ok(files)
}
