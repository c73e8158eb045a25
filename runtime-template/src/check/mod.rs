//! Checking: what is wrong with a loaded project, reported as diagnostics.

pub mod lint;
pub mod sql;
pub mod static_checks;
