//! End-to-end harness: the built functions, run as Lambda runs them (a local Runtime API), against
//! the AWS emulator (moto on 127.0.0.1), in a seeded staging-and-production world.

pub mod cargo_lambda;
pub mod chain;
pub mod docs;
pub mod emulator;
pub mod events;
pub mod function;
pub mod oversight_act;
pub mod process;
pub mod records;
pub mod runtime_api;
pub mod stage;
pub mod world;

pub use emulator::Emulator;
pub use function::{Function, GATEWAY_ARN, GATEWAY_ID};
pub use runtime_api::{Answer, Invocation, RuntimeApi};
