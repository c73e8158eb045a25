//! The content-addressed cache where embedded archives (the Python standard library, a built
//! server's payload) are extracted once per machine.
//!
//! `<root>/<kind>-<hash16>/` is complete when it exists: extraction goes to a temporary
//! directory beside it and is renamed into place, so concurrent first runs are safe and a
//! crash never leaves a half-written tree that looks complete. A hit costs one `stat`.

use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: set MXCP_CACHE_DIR (neither XDG_CACHE_HOME nor HOME is set)")]
    NoRoot,
    #[error(
        "the cache directory {0} is on a filesystem mounted noexec, so Python extension modules cannot load from it; set MXCP_CACHE_DIR to a directory on an exec mount"
    )]
    NoExec(PathBuf),
    #[error(
        "{path} is missing from the cache and the cache cannot be written ({source}); run `materialize` into it first, or set MXCP_CACHE_DIR to a writable directory"
    )]
    NotWritable { path: PathBuf, source: std::io::Error },
    #[error("cannot extract into {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// `MXCP_CACHE_DIR`, else `$XDG_CACHE_HOME/mxcp`, else `~/.cache/mxcp`.
pub fn root() -> Result<PathBuf, CacheError> {
    if let Some(d) = std::env::var_os("MXCP_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("mxcp"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("mxcp")),
        None => Err(CacheError::NoRoot),
    }
}

/// The directory name for an archive: `<kind>-<first 16 hex digits of its sha256>`.
pub fn entry_name(kind: &str, sha256_hex: &str) -> String {
    format!("{kind}-{}", &sha256_hex[..16.min(sha256_hex.len())])
}

/// Makes sure `<root>/<kind>-<hash16>` holds the tar that `open_tar` yields (zstd-compressed),
/// extracting it if needed, and returns the directory.
pub fn ensure_extracted<R: Read>(
    root: &Path,
    kind: &str,
    sha256_hex: &str,
    open_tar: impl FnOnce() -> std::io::Result<R>,
) -> Result<PathBuf, CacheError> {
    let target = root.join(entry_name(kind, sha256_hex));
    if target.is_dir() {
        return Ok(target);
    }
    std::fs::create_dir_all(root).map_err(|source| CacheError::NotWritable { path: target.clone(), source })?;
    check_exec(root)?;
    let tmp = root.join(format!(".tmp-{}-{}-{}", entry_name(kind, sha256_hex), std::process::id(), unique()));
    let io = |source| CacheError::Io { path: target.clone(), source };
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir(&tmp)?;
        let decoder = zstd::stream::read::Decoder::new(open_tar()?)?;
        let mut archive = tar::Archive::new(decoder);
        archive.set_preserve_permissions(true);
        archive.set_unpack_xattrs(false);
        archive.unpack(&tmp)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(if e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(libc::EROFS) {
            CacheError::NotWritable { path: target, source: e }
        } else {
            io(e)
        });
    }
    match std::fs::rename(&tmp, &target) {
        Ok(()) => Ok(target),
        // another process won the race: its tree is identical
        Err(_) if target.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(target)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(io(e))
        }
    }
}

/// A symlink `<root>/bin-<hash of exe path>/<name>` to `exe`: the `sys.executable` of the
/// embedded Python, so that `subprocess`, `multiprocessing` and pip start this executable in
/// Python mode (its argv0 is `python3`). Returns `None` if it cannot be created (read-only cache
/// that was materialized by another executable path).
pub fn python_link(root: &Path, exe: &Path, name: &str) -> Option<PathBuf> {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(exe.as_os_str().as_encoded_bytes());
    let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let dir = root.join(format!("bin-{hex}"));
    let link = dir.join(name);
    if std::fs::read_link(&link).is_ok_and(|t| t == exe) {
        return Some(link);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let tmp = dir.join(format!(".{name}-{}-{}", std::process::id(), unique()));
    std::os::unix::fs::symlink(exe, &tmp).ok()?;
    if std::fs::rename(&tmp, &link).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return None;
    }
    Some(link)
}

/// Refuses a cache on a `noexec` mount: extension modules would fail to map and Python would
/// silently fall back to slow pure-Python modules, or fail later.
pub fn check_exec(dir: &Path) -> Result<(), CacheError> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return Ok(()) };
    // SAFETY: all-zero bytes are a valid `statvfs` (plain integers); it is only an out-parameter.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid C string and st a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0 && st.f_flag & libc::ST_NOEXEC != 0 {
        return Err(CacheError::NoExec(dir.to_path_buf()));
    }
    Ok(())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (t as u64) ^ N.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_zst(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        zstd::bulk::compress(&b.into_inner().unwrap(), 3).unwrap()
    }

    #[test]
    fn concurrent_first_extractions_agree() {
        let root = tempfile::tempdir().unwrap();
        let blob = tar_zst(&[("a/b.txt", b"hello")]);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let d = ensure_extracted(root.path(), "t", "0123456789abcdef00", || Ok(&blob[..])).unwrap();
                    assert_eq!(std::fs::read(d.join("a/b.txt")).unwrap(), b"hello");
                });
            }
        });
        let names: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("t-0123456789abcdef")], "no temporary directories left");
    }

    #[test]
    fn damaged_archive_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let mut blob = tar_zst(&[("a.txt", b"hello")]);
        blob.truncate(blob.len() / 2);
        assert!(ensure_extracted(root.path(), "t", "feedfeedfeedfeed", || Ok(&blob[..])).is_err());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
