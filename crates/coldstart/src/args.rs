//! The command line: `coldstart [--runs N] [--warmup N] [--timeout-secs S] [--json FILE]
//! [--tolerate name=TEXT]... name=path...`.

use std::{path::PathBuf, time::Duration};

/// How `coldstart` is called; printed with every argument error.
pub const USAGE: &str = "usage: coldstart [--runs N] [--warmup N] [--timeout-secs S] [--json FILE] \
                         [--tolerate name=TEXT]... name=path [name=path...]\n\
    Starts each executable against a local Lambda Runtime API on 127.0.0.1, interleaved \
    (round 1 runs every binary once in order, then round 2, ...), and reports the time from \
    spawn to its first `GET /2018-06-01/runtime/invocation/next`, its peak RSS and its size.\n\
    --runs N          measured rounds (default 20)\n\
    --warmup N        unmeasured rounds first, so every binary starts from the page cache (default 1)\n\
    --timeout-secs S  a binary that has not polled after S seconds is an error (default 10)\n\
    --json FILE       also write the figures as JSON\n\
    --tolerate name=TEXT  a WARN or ERROR log line of binary `name` containing TEXT does not fail \
    the run (any other one does: the binary would not start as deployed)";

/// One executable to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// Its name in the report; a tool's name also selects its deployed settings.
    pub name: String,
    /// The executable.
    pub path: PathBuf,
    /// Texts of WARN or ERROR log lines it may print while starting (`--tolerate`).
    pub tolerated: Vec<String>,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The executables, in the order each round starts them.
    pub binaries: Vec<Binary>,
    /// Measured rounds.
    pub runs: usize,
    /// Unmeasured rounds before them.
    pub warmup: usize,
    /// How long a binary may take to poll.
    pub timeout: Duration,
    /// Where the JSON report goes, if anywhere.
    pub json: Option<PathBuf>,
}

/// A command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// An option without its value.
    #[error("`{0}` needs a value")]
    MissingValue(String),
    /// A count or duration that is not a positive whole number.
    #[error("`{option}` is `{value}`; it must be a whole number of at least {min}")]
    NotACount {
        /// The option.
        option: String,
        /// Its value.
        value: String,
        /// The smallest accepted value.
        min: usize,
    },
    /// An option this harness does not have.
    #[error("unknown option `{0}`")]
    UnknownOption(String),
    /// A binary that is not `name=path`.
    #[error("`{0}` is not `name=path`")]
    NotAPair(String),
    /// Two binaries with one name.
    #[error("binary name `{0}` is given twice")]
    Duplicate(String),
    /// A `--tolerate` for a binary that is not measured.
    #[error("`--tolerate` names `{0}`, which is not a binary given")]
    UnknownBinary(String),
    /// Nothing to measure.
    #[error("no binary to measure")]
    NoBinary,
}

impl Args {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgsError> {
        let mut parsed = Self {
            binaries: Vec::new(),
            runs: 20,
            warmup: 1,
            timeout: Duration::from_secs(10),
            json: None,
        };
        let mut tolerate: Vec<(String, String)> = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if let Some(option) = arg.strip_prefix("--") {
                let (option, inline) = match option.split_once('=') {
                    Some((o, v)) => (o, Some(v.to_owned())),
                    None => (option, None),
                };
                let value = inline
                    .or_else(|| args.next())
                    .ok_or_else(|| ArgsError::MissingValue(arg.clone()))?;
                match option {
                    "runs" => parsed.runs = count("--runs", &value, 1)?,
                    "warmup" => parsed.warmup = count("--warmup", &value, 0)?,
                    "timeout-secs" => {
                        parsed.timeout = Duration::from_secs(
                            count("--timeout-secs", &value, 1)?
                                .try_into()
                                .unwrap_or(u64::MAX),
                        );
                    }
                    "json" => parsed.json = Some(PathBuf::from(value)),
                    "tolerate" => {
                        let (name, text) = value
                            .split_once('=')
                            .filter(|(name, text)| !name.is_empty() && !text.is_empty())
                            .ok_or_else(|| ArgsError::NotAPair(value.clone()))?;
                        tolerate.push((name.to_owned(), text.to_owned()));
                    }
                    _ => return Err(ArgsError::UnknownOption(arg)),
                }
            } else {
                let (name, path) = arg
                    .split_once('=')
                    .filter(|(name, path)| !name.is_empty() && !path.is_empty())
                    .ok_or_else(|| ArgsError::NotAPair(arg.clone()))?;
                if parsed.binaries.iter().any(|b| b.name == name) {
                    return Err(ArgsError::Duplicate(name.to_owned()));
                }
                parsed.binaries.push(Binary {
                    name: name.to_owned(),
                    path: PathBuf::from(path),
                    tolerated: Vec::new(),
                });
            }
        }
        if parsed.binaries.is_empty() {
            return Err(ArgsError::NoBinary);
        }
        for (name, text) in tolerate {
            parsed
                .binaries
                .iter_mut()
                .find(|b| b.name == name)
                .ok_or(ArgsError::UnknownBinary(name))?
                .tolerated
                .push(text);
        }
        Ok(parsed)
    }
}

fn count(option: &str, value: &str, min: usize) -> Result<usize, ArgsError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| ArgsError::NotACount {
            option: option.to_owned(),
            value: value.to_owned(),
            min,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn binaries_keep_their_order_and_options_their_defaults() {
        let args = parse(&["b=/x/b", "a=/x/a"]).unwrap();
        let names: Vec<&str> = args.binaries.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert_eq!(args.binaries[1].path, PathBuf::from("/x/a"));
        assert_eq!(args.runs, 20);
        assert_eq!(args.warmup, 1);
        assert_eq!(args.timeout, Duration::from_secs(10));
        assert_eq!(args.json, None);
    }

    #[test]
    fn options_take_a_separate_or_an_inline_value() {
        let args = parse(&[
            "--runs",
            "5",
            "--warmup=0",
            "--timeout-secs",
            "3",
            "--json=out.json",
            "--tolerate",
            "a=budgets unusable",
            "a=/x/a",
        ])
        .unwrap();
        assert_eq!(args.binaries[0].tolerated, ["budgets unusable"]);
        assert_eq!(args.runs, 5);
        assert_eq!(args.warmup, 0);
        assert_eq!(args.timeout, Duration::from_secs(3));
        assert_eq!(args.json, Some(PathBuf::from("out.json")));
    }

    #[test]
    fn unusable_command_lines_say_what_is_wrong() {
        assert_eq!(parse(&[]), Err(ArgsError::NoBinary));
        assert_eq!(
            parse(&["a=/x", "--runs"]),
            Err(ArgsError::MissingValue("--runs".to_owned()))
        );
        assert_eq!(
            parse(&["--runs", "0", "a=/x"]).unwrap_err().to_string(),
            "`--runs` is `0`; it must be a whole number of at least 1"
        );
        assert!(matches!(
            parse(&["--runs", "many", "a=/x"]),
            Err(ArgsError::NotACount { .. })
        ));
        assert_eq!(
            parse(&["--fast", "1", "a=/x"]),
            Err(ArgsError::UnknownOption("--fast".to_owned()))
        );
        assert_eq!(
            parse(&["/x/a"]),
            Err(ArgsError::NotAPair("/x/a".to_owned()))
        );
        assert_eq!(parse(&["a="]), Err(ArgsError::NotAPair("a=".to_owned())));
        assert_eq!(
            parse(&["a=/x", "a=/y"]),
            Err(ArgsError::Duplicate("a".to_owned()))
        );
        assert_eq!(
            parse(&["--tolerate=b=x", "a=/x"]),
            Err(ArgsError::UnknownBinary("b".to_owned()))
        );
        assert_eq!(
            parse(&["--tolerate=b", "a=/x"]),
            Err(ArgsError::NotAPair("b".to_owned()))
        );
    }
}
