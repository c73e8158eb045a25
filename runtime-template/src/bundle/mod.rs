//! Bundling: the payload a built executable carries and the cache it is extracted to.

pub mod cache;
pub mod manifest;
pub mod payload;
