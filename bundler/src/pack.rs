//! Deterministic archives: the same files give the same bytes (sorted paths, no timestamps,
//! no owners, modes reduced to 0644/0755).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Every regular file under `dir` as (path relative to `dir`, absolute path), sorted.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    files_under_where(dir, &|_| true)
}

/// [`files_under`], leaving out entries (files or whole directories) whose name `keep` refuses.
pub fn files_under_where(dir: &Path, keep: &dyn Fn(&str) -> bool) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    walk(dir, dir, keep, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, keep: &dyn Fn(&str) -> bool, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !keep(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path)?; // follows symlinks: their targets are packed
        if meta.is_dir() {
            walk(root, &path, keep, out)?;
        } else if meta.is_file() {
            let rel = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            out.push((rel, path));
        }
    }
    Ok(())
}

/// A tar of `files` (archive path, source path), in the given order.
pub fn tar(files: &[(String, PathBuf)]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.mode(tar::HeaderMode::Deterministic);
    for (name, path) in files {
        let data = std::fs::read(path)?;
        let exec = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(path)?.permissions().mode() & 0o111 != 0
        };
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(if exec { 0o755 } else { 0o644 });
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &data[..])?;
    }
    b.into_inner()
}

/// zstd at `level`, calling `progress(done, total)` as it goes.
pub fn compress(data: &[u8], level: i32, progress: &mut dyn FnMut(usize, usize)) -> std::io::Result<Vec<u8>> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), level)?;
    enc.include_checksum(true)?;
    const CHUNK: usize = 4 << 20;
    for (i, chunk) in data.chunks(CHUNK).enumerate() {
        enc.write_all(chunk)?;
        progress((i * CHUNK + chunk.len()).min(data.len()), data.len());
    }
    enc.finish()
}
