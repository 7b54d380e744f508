//! Standard output for every subcommand, written through one writer that turns a closed pipe
//! into a quiet exit.
//!
//! `guard test … | head -1` closes the pipe after one line; std's `println!` then panics
//! (exit 101, a backtrace hint on stderr). The crate's own `println!` and `print!` (defined in
//! `lib.rs`, so every module's existing calls use them) write here instead: on a closed pipe
//! the process exits at once with status 141, what a shell reports for a program that SIGPIPE
//! ended. Not 0: the run was cut short, so it must not read as a pass in a `pipefail` script.

use std::{
    fmt,
    io::{self, Write},
};

/// The exit status after the reader of standard output went away: 128 + SIGPIPE, as a shell
/// reports a program the signal ended.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Writes `args` to standard output; a closed pipe ends the process quietly
/// ([`CLOSED_PIPE_STATUS`]), any other write error ends it with a message (exit 2).
pub fn write(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(error) = out.write_fmt(args) {
        exit_on(&error);
    }
}

/// Flushes standard output, with the same handling of a closed pipe as [`write`].
pub fn flush() {
    if let Err(error) = io::stdout().lock().flush() {
        exit_on(&error);
    }
}

fn exit_on(error: &io::Error) -> ! {
    if error.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
    // Standard output is gone for another reason (a full disk): the result cannot be
    // reported, so the command cannot have done its job.
    eprintln!("error: cannot write to standard output: {error}");
    std::process::exit(2);
}
