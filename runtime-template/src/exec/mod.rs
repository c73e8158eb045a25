//! Execution: running endpoints (the executor, the type system, policies, templates) and the
//! `mxcp test` runner built on it.

pub mod executor;
pub mod identity;
pub mod policy;
pub mod template;
pub mod test_runner;
pub mod types;
