//! Writes self-contained mxcp executables (the `mxcp build` side; the runtime side that
//! reads them is `mxcp_runtime::bundle::payload`): dependency vendoring with the embedded pip,
//! deterministic packing, and the executable writer.

#![allow(clippy::collapsible_if)] // nested `if let`s read better than long let-chains here

pub mod build;
pub mod pack;
pub mod target;
pub mod vendor;
pub mod write;
