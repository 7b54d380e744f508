//! The end-to-end tests: the built functions against the AWS emulator through a local Lambda
//! Runtime API, the sample events, local invoke with cargo-lambda, and the SAM templates. One
//! test binary, so the four AWS SDKs link once.

mod approval_endpoint;
mod approval_flow;
mod approvals;
mod authorizer;
mod authorizer_kms;
mod budgets;
mod callers;
mod cargo_lambda;
mod clean_logs;
mod events;
mod get_metrics;
mod iam;
mod live;
mod readme;
mod readme_commands;
mod replay;
mod restart_service;
mod stop_switch;
mod template;
mod terminate_instance;
