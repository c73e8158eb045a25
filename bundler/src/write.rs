//! Writing a server executable: a copy of the runtime (the running mxcp, or the mxcp built for
//! another target), marked as built, plus the payload and its trailer. Written beside the target, fsync'd and
//! renamed into place, so a failed build never leaves a half-written executable.

use std::io::Write;
use std::path::Path;

use mxcp_runtime::bundle::payload::{self, FORMAT_VERSION, Trailer};
use sha2::Digest;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot read this executable ({0}): {1}")]
    Base(String, String),
    #[error("{0} is not an mxcp runtime: it carries {1} build marks, not one (a built server is not a runtime)")]
    Mark(String, usize),
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Writes `out`; returns the trailer (its sha256 names the payload).
pub fn write_executable(out: &Path, runtime: &Path, payload_bytes: &[u8]) -> Result<Trailer, WriteError> {
    let shown = runtime.display().to_string();
    // (a built server has no build command, and its mark is flipped: a base never carries a payload)
    let mut base = std::fs::read(runtime).map_err(|e| WriteError::Base(shown.clone(), e.to_string()))?;
    mark_built(&mut base).map_err(|n| WriteError::Mark(shown, n))?;
    let trailer = Trailer {
        len: payload_bytes.len() as u64,
        sha256: sha2::Sha256::digest(payload_bytes).into(),
        version: FORMAT_VERSION,
    };
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let io = |source| WriteError::Io { path: out.display().to_string(), source };
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&base)?;
        f.write_all(payload_bytes)?;
        f.write_all(&trailer.encode())?;
        f.sync_all()?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, out)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(trailer)
}

/// Flips the build mark in the copy (see `mxcp_runtime::bundle::payload`).
fn mark_built(base: &mut [u8]) -> Result<(), usize> {
    let mark = payload::mark();
    let mut plain = mark;
    plain[payload::MARK_FLAG] = b'0';
    let found: Vec<usize> = memchr::memmem::find_iter(base, &plain).collect();
    if found.len() != 1 {
        return Err(found.len());
    }
    base[found[0] + payload::MARK_FLAG] = b'1';
    Ok(())
}
