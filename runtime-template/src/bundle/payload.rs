//! The payload of a built server: `[executable][zstd(tar)][64-byte trailer]`.
//!
//! Trailer: `MXCPPAY1 | u64 LE payload length | sha256(payload) | u32 LE format version |
//! u32 reserved | MXCPEND1`. The sha256 is the payload's cache key and is verified before the
//! payload is first extracted, so a damaged file never runs a partial project.
//!
//! `strip` and truncation remove appended data entirely, so a built executable is also marked
//! inside its ELF image (a byte that `mxcp build` flips in its copy): a marked executable
//! without an intact trailer refuses to start instead of acting as a plain `mxcp`.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::Digest;

pub const TRAILER_LEN: usize = 64;
pub const FORMAT_VERSION: u32 = 1;
const START: &[u8; 8] = b"MXCPPAY1";
const END: &[u8; 8] = b"MXCPEND1";

/// `mxcp build` finds this in its copy of the executable and sets `MARK[MARK_FLAG]` to `1`.
#[used]
static MARK: [u8; 32] = *b"mxcp-bundle-mark:0/do-not-edit/.";
pub const MARK_FLAG: usize = 17;

/// The mark as this executable has it (read from memory, not folded at compile time).
pub fn mark() -> [u8; 32] {
    // SAFETY: reading a static
    unsafe { std::ptr::read_volatile(&MARK) }
}

/// Whether this executable was written by `mxcp build`.
pub fn is_built() -> bool {
    mark()[MARK_FLAG] == b'1'
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "this server executable has lost its project payload (was it stripped or truncated?); rebuild it with `mxcp build`"
    )]
    Missing,
    #[error("this server executable is damaged: {0}; rebuild it with `mxcp build`")]
    Damaged(String),
    #[error("the payload uses format version {0}, which this executable cannot read")]
    Version(u32),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Reading the archive inside the payload failed (shown as the underlying error).
    #[error(transparent)]
    Archive(#[from] std::io::Error),
    /// Extracting the payload into the cache failed.
    #[error(transparent)]
    Cache(#[from] crate::bundle::cache::CacheError),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trailer {
    pub len: u64,
    pub sha256: [u8; 32],
    pub version: u32,
}

impl Trailer {
    pub fn encode(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        b[..8].copy_from_slice(START);
        b[8..16].copy_from_slice(&self.len.to_le_bytes());
        b[16..48].copy_from_slice(&self.sha256);
        b[48..52].copy_from_slice(&self.version.to_le_bytes());
        b[56..64].copy_from_slice(END);
        b
    }

    /// `None` when the bytes are not a trailer at all.
    pub fn decode(b: &[u8; TRAILER_LEN]) -> Option<Trailer> {
        if &b[..8] != START || &b[56..64] != END {
            return None;
        }
        Some(Trailer {
            len: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            sha256: b[16..48].try_into().expect("32 bytes"),
            version: u32::from_le_bytes(b[48..52].try_into().expect("4 bytes")),
        })
    }

    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A payload inside an executable file.
#[derive(Debug, Clone)]
pub struct Payload {
    pub exe: PathBuf,
    pub offset: u64,
    pub trailer: Trailer,
}

/// The payload of `exe`, if it has one. `Err` for an executable that `mxcp build` wrote whose
/// payload is missing or inconsistent.
pub fn find(exe: &Path, built: bool) -> Result<Option<Payload>, PayloadError> {
    let io = |source| PayloadError::Io { path: exe.to_path_buf(), source };
    let mut f = match std::fs::File::open(exe) {
        Ok(f) => f,
        // a plain mxcp that may not read its own file (execute-only) has no payload to find
        Err(_) if !built => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let size = f.metadata().map_err(io)?.len();
    let trailer = if size >= TRAILER_LEN as u64 {
        f.seek(SeekFrom::End(-(TRAILER_LEN as i64))).map_err(io)?;
        let mut b = [0u8; TRAILER_LEN];
        f.read_exact(&mut b).map_err(io)?;
        Trailer::decode(&b)
    } else {
        None
    };
    let Some(trailer) = trailer else {
        return if built { Err(PayloadError::Missing) } else { Ok(None) };
    };
    if trailer.version != FORMAT_VERSION {
        return Err(PayloadError::Version(trailer.version));
    }
    let end = size - TRAILER_LEN as u64;
    if trailer.len > end {
        return Err(PayloadError::Damaged(format!(
            "the trailer announces a {} byte payload but the file has only {end} bytes before it",
            trailer.len
        )));
    }
    Ok(Some(Payload { exe: exe.to_path_buf(), offset: end - trailer.len, trailer }))
}

impl Payload {
    /// The compressed payload bytes.
    pub fn reader(&self) -> std::io::Result<std::io::Take<std::fs::File>> {
        let mut f = std::fs::File::open(&self.exe)?;
        f.seek(SeekFrom::Start(self.offset))?;
        Ok(f.take(self.trailer.len))
    }

    /// Checks the payload against the trailer's sha256.
    fn verify(&self) -> Result<(), PayloadError> {
        let io = |source| PayloadError::Io { path: self.exe.clone(), source };
        let mut r = self.reader().map_err(io)?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = r.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            h.update(&buf[..n]);
        }
        if total != self.trailer.len || h.finalize().as_slice() != self.trailer.sha256 {
            return Err(PayloadError::Damaged("the payload does not match its checksum".into()));
        }
        Ok(())
    }

    /// The extracted payload in the cache: verified and extracted on first use.
    pub fn extract(&self, cache_root: &Path) -> Result<PathBuf, PayloadError> {
        Ok(crate::bundle::cache::ensure_extracted(cache_root, "app", &self.trailer.sha256_hex(), || {
            self.verify().map_err(std::io::Error::other)?;
            self.reader()
        })?)
    }

    /// Paths inside the payload (without extracting it).
    pub fn list(&self) -> Result<Vec<(String, u64)>, PayloadError> {
        let r = self.reader()?;
        let mut a = tar::Archive::new(zstd::stream::read::Decoder::new(r)?);
        let mut out = Vec::new();
        for e in a.entries()? {
            let e = e?;
            if e.header().entry_type().is_file() {
                out.push((e.path()?.to_string_lossy().into_owned(), e.size()));
            }
        }
        Ok(out)
    }
}

impl Payload {
    /// One file of the payload (without extracting it).
    pub fn read_member(&self, name: &str) -> Result<Option<Vec<u8>>, PayloadError> {
        let r = self.reader()?;
        let mut a = tar::Archive::new(zstd::stream::read::Decoder::new(r)?);
        for e in a.entries()? {
            let mut e = e?;
            if e.path().map(|p| p == Path::new(name)).unwrap_or(false) {
                let mut buf = Vec::new();
                e.read_to_end(&mut buf)?;
                return Ok(Some(buf));
            }
        }
        Ok(None)
    }
}

/// The manifest at the payload's root.
pub const MANIFEST: &str = "mxcp-bundle.json";
/// The project inside the payload.
pub const PROJECT_DIR: &str = "project";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailer_round_trips() {
        let t = Trailer { len: 12345, sha256: [7; 32], version: FORMAT_VERSION };
        assert_eq!(Trailer::decode(&t.encode()), Some(t));
        assert_eq!(Trailer::decode(&[0; TRAILER_LEN]), None);
    }

    #[test]
    fn plain_executables_are_not_marked() {
        assert!(!is_built());
        assert_eq!(&mark()[..MARK_FLAG], b"mxcp-bundle-mark:");
    }
}
