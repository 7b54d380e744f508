//! `coldstart`: cold-start benchmark of Lambda binaries through a local Runtime API.
//!
//! Each binary is started with the environment Lambda and template.yaml give it, against a
//! Runtime API served on 127.0.0.1; its init is the time from just before `spawn` to the
//! arrival of its first `GET /2018-06-01/runtime/invocation/next`, its peak RSS the `VmHWM`
//! it has reached while it waits for that invocation. Rounds are interleaved, so a slow
//! moment of the machine falls on every binary alike. See [`args::USAGE`].

mod args;
mod environment;
mod kms;
mod launch;
mod summary;
mod zipped;

use std::{io, path::PathBuf, process::ExitCode};

use args::{Args, ArgsError};
use launch::{LaunchError, Start};
use summary::{Report, Summary};

/// Why the benchmark could not produce its figures.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}\n{usage}", usage = args::USAGE)]
    Args(#[from] ArgsError),
    #[error("`{path}`: {source}")]
    File { path: PathBuf, source: io::Error },
    #[error("`{name}` ({round}): {source}")]
    Launch {
        name: String,
        round: String,
        source: LaunchError,
    },
    #[error("the local KMS on 127.0.0.1 could not start: {0}")]
    Kms(#[source] io::Error),
    #[error("writing the JSON report to `{path}`: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn main() -> ExitCode {
    match run(Args::parse(std::env::args().skip(1))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coldstart: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Result<Args, ArgsError>) -> Result<(), Failure> {
    let args = args?;
    let file_error = |path: &PathBuf| {
        let path = path.clone();
        move |source| Failure::File { path, source }
    };
    for binary in &args.binaries {
        launch::check_executable(&binary.path).map_err(file_error(&binary.path))?;
    }

    let kms = kms::LocalKms::start().map_err(Failure::Kms)?;
    let mut starts: Vec<Vec<Start>> = vec![Vec::with_capacity(args.runs); args.binaries.len()];
    for round in 0..args.warmup + args.runs {
        let measured = round >= args.warmup;
        for (binary, starts) in args.binaries.iter().zip(starts.iter_mut()) {
            let start =
                launch::measure(binary, args.timeout, &kms.endpoint()).map_err(|source| {
                    Failure::Launch {
                        name: binary.name.clone(),
                        round: if measured {
                            format!("round {} of {}", round - args.warmup + 1, args.runs)
                        } else {
                            format!("warm-up round {}", round + 1)
                        },
                        source,
                    }
                })?;
            if measured {
                starts.push(start);
            }
        }
        eprint!(
            "\r{} round {}/{}",
            if measured { "measured" } else { "warm-up" },
            if measured {
                round - args.warmup + 1
            } else {
                round + 1
            },
            if measured { args.runs } else { args.warmup },
        );
    }
    eprintln!();

    let mut summaries = Vec::with_capacity(args.binaries.len());
    for (binary, starts) in args.binaries.iter().zip(&starts) {
        let contents = std::fs::read(&binary.path).map_err(file_error(&binary.path))?;
        let zipped = zipped::zipped_size(&contents).map_err(file_error(&binary.path))?;
        // INVARIANT: every binary has `args.runs` (at least 1) starts, so a summary exists.
        if let Some(summary) = Summary::new(
            &binary.name,
            &binary.path.display().to_string(),
            starts,
            contents.len() as u64,
            zipped,
        ) {
            summaries.push(summary);
        }
    }
    summary::add_ratios(&mut summaries);
    print!("{}", summary::table(&summaries));

    if let Some(path) = &args.json {
        let report = Report {
            runs: args.runs,
            warmup: args.warmup,
            reference: summary::REFERENCE,
            binaries: &summaries,
        };
        let file = std::fs::File::create(path).map_err(file_error(path))?;
        serde_json::to_writer_pretty(file, &report).map_err(|source| Failure::Json {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}
