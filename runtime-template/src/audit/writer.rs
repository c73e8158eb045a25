//! Writing: calls put their records on a bounded queue and go on; one thread takes what is
//! queued, seals each record into the chain, and appends what arrived within the flush
//! interval (5 ms after the first record) to the current file in one write, so `kill -9`
//! loses at most the records of the last 5 ms.
//!
//! A write that fails (full disk, unwritable file) is reported once and counted; the file is
//! cut back to its last whole record. By default the batch is dropped and calls go on
//! (`fail open`); with `fail_closed` the writer keeps the records and retries every second,
//! and calls are refused until a write succeeds again. A file that cannot be rotated (the
//! directory became read-only) keeps growing instead of losing records.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::chain::Signer;
use super::files::{self, LogPaths};
use super::record::{self, CallRecord};
use super::{AuditConfig, AuditError};

/// How often a failing write is retried when the log fails closed.
const RETRY: Duration = Duration::from_secs(1);
/// A rotation that failed is tried again after this long (not at every record).
const ROTATION_RETRY: Duration = Duration::from_secs(10);
/// Records taken off the queue for one write.
const MAX_BATCH: usize = 1024;
/// How long the writer gathers records after the first before writing them: one write (and
/// one wake-up) for all the calls of that time instead of one each. `kill -9` loses at most
/// the records of this interval (and of a write that is slow).
pub(super) const FLUSH_INTERVAL: Duration = Duration::from_millis(5);

enum Msg {
    Record(Box<CallRecord>),
    Shutdown,
}

/// What the writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    pub written: u64,
    /// Records that never reached a file: a failed write, or the queue was full.
    pub lost: u64,
}

#[derive(Default)]
struct Shared {
    written: AtomicU64,
    lost: AtomicU64,
    /// Why writing fails now (`None`: it works).
    failure: Mutex<Option<String>>,
    failing: AtomicBool,
    queue_full_reported: AtomicBool,
}

/// An open audit log: where the server hands its records.
pub struct AuditLog {
    queue: SyncSender<Msg>,
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    fail_closed: bool,
    /// The file this run started writing.
    pub first_file: PathBuf,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("first_file", &self.first_file).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Creates the directory, the schema registry and this run's file (so a log that cannot
    /// be written is an error now, not lost records later), links to the last record already
    /// written, and starts the writer.
    pub fn open(config: AuditConfig) -> Result<AuditLog, AuditError> {
        let paths = LogPaths::new(&config.path);
        let unwritable = |source| AuditError::Unwritable { dir: paths.dir.clone(), source };
        std::fs::create_dir_all(&paths.dir).map_err(unwritable)?;
        let schemas = paths.schemas();
        if !schemas.exists() {
            let mut line = serde_json::to_vec(&record::schema_registry(SystemTime::now())).expect("JSON");
            line.push(b'\n');
            std::fs::write(&schemas, line).map_err(unwritable)?;
        }
        let signer = config.signing_key.as_deref().map(Signer::from_pem).transpose()?;
        let prev = chain_tail(&paths);
        let (file_path, file) = paths.create_new(SystemTime::now()).map_err(unwritable)?;
        // a file-size limit (ulimit -f) must fail the write, not kill the server
        // SAFETY: setting a signal's disposition to "ignore" has no other effect.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        let shared = Arc::new(Shared::default());
        let (queue, rx) = std::sync::mpsc::sync_channel(config.queue_capacity.max(1));
        let writer = Writer {
            paths,
            file,
            file_path: file_path.clone(),
            file_size: 0,
            max_file_size: config.max_file_size.max(1),
            prev: prev.clone(),
            written_prev: prev,
            pending: Vec::new(),
            pending_count: 0,
            signer,
            fail_closed: config.fail_closed,
            shared: shared.clone(),
            rotation_failed: None,
            delay: config.test_delay,
        };
        let thread = std::thread::Builder::new()
            .name("mxcp-audit".into())
            .spawn(move || writer.run(rx))
            .map_err(AuditError::Io)?;
        Ok(AuditLog {
            queue,
            shared,
            thread: Mutex::new(Some(thread)),
            fail_closed: config.fail_closed,
            first_file: file_path,
        })
    }

    /// Queues a record and returns. A full queue drops it (counted) unless the log fails
    /// closed, where the call waits for room.
    pub fn record(&self, r: CallRecord) {
        let msg = Msg::Record(Box::new(r));
        let sent = if self.fail_closed {
            self.queue.send(msg).is_ok()
        } else {
            match self.queue.try_send(msg) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    if !self.shared.queue_full_reported.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "warning: audit: the record queue is full (the disk does not keep up): records are dropped and counted"
                        );
                    }
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        };
        if !sent {
            self.shared.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Why calls must be refused now: the log fails closed and cannot be written.
    pub fn refusal(&self) -> Option<String> {
        if !self.fail_closed || !self.shared.failing.load(Ordering::Relaxed) {
            return None;
        }
        let why = self.shared.failure.lock().expect("failure lock").clone().unwrap_or_default();
        Some(format!("the audit log cannot be written ({why}): calls are refused until it can (audit.fail_closed)"))
    }

    pub fn stats(&self) -> AuditStats {
        AuditStats {
            written: self.shared.written.load(Ordering::Relaxed),
            lost: self.shared.lost.load(Ordering::Relaxed),
        }
    }

    /// Writes everything queued, stops the writer and says what was lost (once; also on drop).
    pub fn shutdown(&self) -> AuditStats {
        if let Some(thread) = self.thread.lock().expect("thread lock").take() {
            let _ = self.queue.send(Msg::Shutdown);
            let _ = thread.join();
            let stats = self.stats();
            if stats.lost > 0 {
                tracing::warn!("warning: audit: {} record(s) of this run could not be written", stats.lost);
            }
        }
        self.stats()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The hash of the last whole record of the newest file that has one: this run's first
/// record links to it, so a removed file breaks the chain.
fn chain_tail(paths: &LogPaths) -> Option<String> {
    for f in paths.list().ok()?.iter().rev() {
        if let Ok(Some(line)) = files::last_complete_line(&f.path, 64 << 20) {
            let v: serde_json::Value = serde_json::from_slice(&line).ok()?;
            return v["record_hash"].as_str().map(str::to_string);
        }
    }
    None
}

struct Writer {
    paths: LogPaths,
    file: File,
    file_path: PathBuf,
    file_size: u64,
    max_file_size: u64,
    /// The hash of the last record sealed (written or pending).
    prev: Option<String>,
    /// The hash of the last record written.
    written_prev: Option<String>,
    /// Sealed lines not yet written.
    pending: Vec<u8>,
    pending_count: u64,
    signer: Option<Signer>,
    fail_closed: bool,
    shared: Arc<Shared>,
    rotation_failed: Option<Instant>,
    delay: Duration,
}

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        // below the threads answering calls: on a busy machine the writer waits, not a call
        // (the raw syscall: glibc's gettid() wrapper is 2.30, newer than the 2.28 floor)
        // SAFETY: gettid takes no arguments; setpriority on this thread's own id; no memory is involved
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid);
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10)
        };
        loop {
            let first = if self.pending_count > 0 {
                match rx.recv_timeout(RETRY) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(Msg::Shutdown),
                }
            } else {
                Some(rx.recv().unwrap_or(Msg::Shutdown))
            };
            // what arrives within the flush interval goes out in the same write (sleeping, not
            // waking at each record)
            let mut shutdown = first.is_some_and(|m| self.take(m));
            if !shutdown {
                std::thread::sleep(FLUSH_INTERVAL + self.delay);
            }
            for m in std::iter::from_fn(|| rx.try_recv().ok()).take(MAX_BATCH) {
                shutdown |= self.take(m);
            }
            self.flush();
            if shutdown {
                // records that still cannot be written are lost now
                self.shared.lost.fetch_add(self.pending_count, Ordering::Relaxed);
                return;
            }
        }
    }

    /// Takes one message; whether it asks the writer to stop.
    fn take(&mut self, m: Msg) -> bool {
        match m {
            Msg::Record(r) => {
                self.add(*r);
                false
            }
            Msg::Shutdown => true,
        }
    }

    fn add(&mut self, r: CallRecord) {
        let (line, hash) = r.seal(&record::uuid4(), self.prev.as_deref(), self.signer.as_ref());
        let used = self.file_size + self.pending.len() as u64;
        if used > 0 && used + line.len() as u64 > self.max_file_size {
            self.flush();
            if self.pending.is_empty() {
                self.rotate();
            }
        }
        self.pending.extend_from_slice(&line);
        self.pending_count += 1;
        self.prev = Some(hash);
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.write_pending() {
            Ok(()) => {
                self.shared.written.fetch_add(self.pending_count, Ordering::Relaxed);
                self.written_prev = self.prev.clone();
                self.pending.clear();
                self.pending_count = 0;
                if self.shared.failing.swap(false, Ordering::Relaxed) {
                    *self.shared.failure.lock().expect("failure lock") = None;
                    let lost = self.shared.lost.load(Ordering::Relaxed);
                    tracing::warn!("audit: writing {} again ({lost} record(s) lost so far)", self.file_path.display());
                }
            }
            Err(e) => {
                if !self.shared.failing.swap(true, Ordering::Relaxed) {
                    let what = if self.fail_closed {
                        "calls are refused until it can be written again (audit.fail_closed)"
                    } else {
                        "calls go on; their records are lost (and counted) until writing works again"
                    };
                    tracing::error!("error: audit: cannot write {}: {e}; {what}", self.file_path.display());
                }
                *self.shared.failure.lock().expect("failure lock") = Some(e.to_string());
                if !self.fail_closed {
                    self.shared.lost.fetch_add(self.pending_count, Ordering::Relaxed);
                    self.pending.clear();
                    self.pending_count = 0;
                    self.prev = self.written_prev.clone();
                }
            }
        }
    }

    /// Appends the pending lines in one write, under the file's lock (`log-cleanup` may be
    /// rewriting it: then the new file is written); a failed write leaves no partial line.
    fn write_pending(&mut self) -> std::io::Result<()> {
        loop {
            let lock = FileLock::exclusive(&self.file)?;
            let current = std::fs::metadata(&self.file_path).map(|m| m.ino()).ok();
            if current != Some(self.file.metadata()?.ino()) {
                drop(lock);
                self.file = std::fs::OpenOptions::new().append(true).create(true).open(&self.file_path)?;
                self.file_size = self.file.metadata()?.len();
                continue;
            }
            let before = self.file_size;
            return match (&self.file).write_all(&self.pending) {
                Ok(()) => {
                    self.file_size += self.pending.len() as u64;
                    Ok(())
                }
                Err(e) => {
                    let _ = self.file.set_len(before);
                    Err(e)
                }
            };
        }
    }

    fn rotate(&mut self) {
        if self.rotation_failed.is_some_and(|t| t.elapsed() < ROTATION_RETRY) {
            return;
        }
        match self.paths.create_new(SystemTime::now()) {
            Ok((path, file)) => {
                self.file = file;
                self.file_path = path;
                self.file_size = 0;
                self.rotation_failed = None;
            }
            Err(e) => {
                if self.rotation_failed.is_none() {
                    tracing::warn!(
                        "warning: audit: cannot start a new file in {}: {e}; records go on into {} beyond max_file_size",
                        self.paths.dir.display(),
                        self.file_path.display()
                    );
                }
                self.rotation_failed = Some(Instant::now());
            }
        }
    }
}

/// `flock` held while alive: the writer and `log-cleanup` never touch a file at once.
pub(super) struct FileLock<'a>(&'a File);

impl<'a> FileLock<'a> {
    pub(super) fn exclusive(file: &'a File) -> std::io::Result<FileLock<'a>> {
        // SAFETY: flock on a descriptor the File owns for the lock's lifetime.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking a lock this process holds.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}
