//! The files of one audit log, named as the reference names them: for the configured
//! `<dir>/<stem>.jsonl`, records go to `<dir>/<stem>-<YYYYmmddTHHMMSS>[-n].jsonl` (a new one
//! per server start and at each rotation), the schema registry is `<stem>_schemas.jsonl`, and
//! `log-cleanup` notes what it removed in `<stem>_retention.jsonl` (mxcp's own).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, Clone)]
pub(super) struct LogPaths {
    pub(super) dir: PathBuf,
    stem: String,
}

/// One records file.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LogFile {
    pub(super) path: PathBuf,
    /// `YYYYmmddTHHMMSS` (UTC) from the name: when the file was started.
    stamp: String,
    /// The `-n` suffix of files started within the same second (0: none).
    n: u32,
}

impl LogPaths {
    pub(super) fn new(configured: &Path) -> LogPaths {
        let dir = configured.parent().map(Path::to_path_buf).unwrap_or_default();
        let stem = configured.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "logs".into());
        LogPaths { dir, stem }
    }

    pub(super) fn schemas(&self) -> PathBuf {
        self.dir.join(format!("{}_schemas.jsonl", self.stem))
    }

    pub(super) fn retention(&self) -> PathBuf {
        self.dir.join(format!("{}_retention.jsonl", self.stem))
    }

    /// The records files, oldest first (by the time in their names). No directory: none.
    pub(super) fn list(&self) -> std::io::Result<Vec<LogFile>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            if let Some((stamp, n)) = self.parse_name(&name.to_string_lossy()) {
                out.push(LogFile { path: entry.path(), stamp, n });
            }
        }
        out.sort_by(|a, b| (&a.stamp, a.n).cmp(&(&b.stamp, b.n)));
        Ok(out)
    }

    /// `<stem>-20261201T124808[-n].jsonl` → ("20261201T124808", n).
    fn parse_name(&self, name: &str) -> Option<(String, u32)> {
        let rest = name.strip_prefix(&self.stem)?.strip_prefix('-')?.strip_suffix(".jsonl")?;
        let (stamp, n) = match rest.split_once('-') {
            Some((s, n)) => (s, n.parse().ok()?),
            None => (rest, 0),
        };
        let b = stamp.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        (b.len() == 15 && b[8] == b'T' && digits(0..8) && digits(9..15)).then(|| (stamp.to_string(), n))
    }

    /// Starts a new records file named by `now` (with a `-n` suffix when that name is taken).
    pub(super) fn create_new(&self, now: SystemTime) -> std::io::Result<(PathBuf, File)> {
        let stamp = chrono::DateTime::<chrono::Utc>::from(now).format("%Y%m%dT%H%M%S").to_string();
        for n in 0..10_000u32 {
            let name = match n {
                0 => format!("{}-{stamp}.jsonl", self.stem),
                n => format!("{}-{stamp}-{n}.jsonl", self.stem),
            };
            let path = self.dir.join(name);
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(f) => return Ok((path, f)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(format!("too many audit files started at {stamp}")))
    }
}

/// One line of a records file: its number (from 1) and text, and whether it ended with a
/// newline (the last line of a file cut short by a crash does not).
pub(super) struct Line {
    pub(super) number: usize,
    pub(super) text: Vec<u8>,
    pub(super) complete: bool,
}

/// Reads a records file line by line (empty lines skipped).
pub(super) fn for_each_line(path: &Path, mut f: impl FnMut(Line) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut number = 0;
    loop {
        let mut text = Vec::with_capacity(1024);
        if reader.read_until(b'\n', &mut text)? == 0 {
            return Ok(());
        }
        number += 1;
        let complete = text.last() == Some(&b'\n');
        if complete {
            text.pop();
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(Line { number, text, complete })?;
    }
}

/// Whether the file's last line lacks its newline (a write cut short), and the line's number.
pub(super) fn incomplete_last_line(path: &Path) -> std::io::Result<Option<usize>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    file.rewind()?;
    let newlines = BufReader::with_capacity(1 << 20, file).split(b'\n').count();
    Ok(Some(newlines))
}

/// The last complete line of a file (at most `max` bytes long), if any.
pub(super) fn last_complete_line(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(max);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.take(max).read_to_end(&mut tail)?;
    // the bytes after the last newline are an incomplete line: never a record to link to
    let Some(end) = tail.iter().rposition(|&b| b == b'\n') else {
        return Ok(None);
    };
    let body = &tail[..end];
    let line_start = match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None if start == 0 => 0,
        None => return Ok(None),
    };
    Ok(Some(body[line_start..].to_vec()))
}

/// When a file was last written: an upper bound of its records' times.
pub(super) fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_then_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let paths = LogPaths::new(&dir.path().join("logs-p.jsonl"));
        for name in [
            "logs-p-20261201T124808-1.jsonl",
            "logs-p-20261201T124808-10.jsonl",
            "logs-p-20261201T124808.jsonl",
            "logs-p-20261201T124808-2.jsonl",
            "logs-p-20261130T000000.jsonl",
            "logs-p_schemas.jsonl",
            "logs-p-x.jsonl",
            "logs-other-20261201T124808.jsonl",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> =
            paths.list().unwrap().iter().map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            [
                "logs-p-20261130T000000.jsonl",
                "logs-p-20261201T124808.jsonl",
                "logs-p-20261201T124808-1.jsonl",
                "logs-p-20261201T124808-2.jsonl",
                "logs-p-20261201T124808-10.jsonl"
            ]
        );
    }

    #[test]
    fn tails_skip_incomplete_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "one\ntwo\nthr").unwrap();
        assert_eq!(last_complete_line(&p, 1 << 16).unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(incomplete_last_line(&p).unwrap(), Some(3));
        std::fs::write(&p, "one\n").unwrap();
        assert_eq!(last_complete_line(&p, 1 << 16).unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(incomplete_last_line(&p).unwrap(), None);
        std::fs::write(&p, "partial").unwrap();
        assert_eq!(last_complete_line(&p, 1 << 16).unwrap(), None);
    }
}
