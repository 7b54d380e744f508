//! The guard's behaviour through its public API: fail-closed loading, the gateway, modes and
//! audit, callers, and replayable records with shadow policies.

mod audit;
mod callers;
mod gateway;
mod loading;
mod repeated;
mod replayable;
mod support;
