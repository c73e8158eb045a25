//! Execution: running endpoints (the executor, policies, caller identity) and the
//! `mxcp test` runner built on it.

pub mod executor;
pub mod identity;
pub mod policy;
pub mod test_runner;
