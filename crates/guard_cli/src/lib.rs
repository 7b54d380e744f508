//! The `guard` command's library: the policy tooling behind each subcommand, one module each
//! under [`command`], the proofs behind `guard prove` ([`prove`]), and the case-file runner ([`cases`]) that `guard test`, the test suite
//! and the authorizer's tests share.
//!
//! Nothing here is linked into a Lambda function: the functions depend on the `guard` library
//! alone.

pub mod cases;
pub mod command;
mod error;
pub mod prove;
pub mod replay;

pub use error::CliError;
