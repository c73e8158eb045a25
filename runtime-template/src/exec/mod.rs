//! Execution: running endpoints (the executor, policies, caller identity) and the
//! `mxcp test` runner built on it.

mod builtin_tools;
mod db_slot;
pub mod executor;
pub mod identity;
pub mod policy;
pub mod python_start;
pub mod steps;
mod successor;
pub mod test_runner;
