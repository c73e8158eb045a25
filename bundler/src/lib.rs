//! Writes self-contained mxcp executables: Python dependency vendoring, payload packing, and
//! the executable writer (the running binary, plus a payload and a trailer).

pub mod vendor;
