//! Writes self-contained executables (see the `mxcp build` issue).
