//! The `guard` command's library: the policy tooling behind each subcommand, one module each
//! under [`command`], the proofs behind `guard prove` ([`prove`]), and the case-file runner ([`cases`]) that `guard test`, the test suite
//! and the authorizer's tests share.
//!
//! Nothing here is linked into a Lambda function: the functions depend on the `guard` library
//! alone.

/// `println!` for every module of this crate: standard output through [`output::write`], so
/// a closed pipe (`guard test … | head -1`) is a quiet exit, not a panic. Defined before the
/// modules so that their `println!` is this one.
macro_rules! println {
    () => {
        $crate::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`output::write`], as `println!` above.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

pub mod cases;
pub mod command;
pub mod control;
mod error;
pub mod help;
pub mod new_tool;
pub mod output;
pub mod prove;
pub mod replay;

pub use error::CliError;
