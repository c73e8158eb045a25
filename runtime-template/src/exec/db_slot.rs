//! The profile's database as the executor and project Python share it: opened on first use,
//! closed and reopened around `reload_duckdb`, plugin functions registered on every opening.
//! A server reload that changes the database's configuration hands the file over to a new
//! slot (`take_over`): the old slot closes its database and sends its queries to the new one.

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::db::{Database, DbError, DbOptions};

/// Set-up run on each newly opened database (plugin functions).
pub(super) type OnOpen = Arc<dyn Fn(&Database) -> Result<(), String> + Send + Sync>;

/// The profile's database, shared by the executor and project Python; reopened on demand
/// after `reload_duckdb` closed it.
pub(super) struct DbSlot {
    opts: DbOptions,
    slot: Mutex<Option<Arc<Database>>>,
    /// Held for writing while a reload swaps the database: new queries wait.
    reloading: RwLock<()>,
    /// Run on every (re)opened database: registers plugin functions.
    on_open: Mutex<Vec<OnOpen>>,
    /// Set once a newer slot took the database over: queries go there.
    forward: RwLock<Weak<DbSlot>>,
    /// The slot this one took over, until the reload is committed: dropping this slot before
    /// (a rejected reload) gives the database back to it.
    took_over: Mutex<Option<Arc<DbSlot>>>,
}

/// How long a hand-over waits for running queries before it closes the database anyway.
const HANDOVER_WAIT: Duration = Duration::from_secs(30);

impl DbSlot {
    pub(super) fn new(opts: DbOptions) -> DbSlot {
        DbSlot {
            opts,
            slot: Mutex::new(None),
            reloading: RwLock::new(()),
            on_open: Mutex::default(),
            forward: RwLock::new(Weak::new()),
            took_over: Mutex::new(None),
        }
    }

    /// Whether `other` opens the same database the same way (then a reload keeps this one).
    pub(super) fn same_options(&self, other: &DbOptions) -> bool {
        let (a, b) = (&self.opts, other);
        a.path == b.path && a.readonly == b.readonly && a.extensions == b.extensions && a.secrets == b.secrets
    }

    pub(super) fn path(&self) -> &std::path::Path {
        &self.opts.path
    }

    pub(super) fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// The set-up hooks of `other` run on this slot's databases too (unchanged plugins).
    pub(super) fn copy_hooks_from(&self, other: &DbSlot) {
        let hooks = other.on_open.lock().expect("hook lock").clone();
        self.on_open.lock().expect("hook lock").extend(hooks);
    }

    /// Takes the database over from `old` (the same file, opened differently): `old` waits
    /// for its running queries (at most 30 s), closes its database and forwards to this slot.
    pub(super) fn take_over(self: &Arc<Self>, old: &Arc<DbSlot>) {
        {
            let _block = old.reloading.write().expect("reload lock");
            if let Some(db) = old.slot.lock().expect("db lock").take() {
                wait_unshared(&db);
            }
            *old.forward.write().expect("forward lock") = Arc::downgrade(self);
        }
        *self.took_over.lock().expect("took-over lock") = Some(old.clone());
    }

    /// The reload is committed: the slot taken over stays retired.
    pub(super) fn commit(&self) {
        self.took_over.lock().expect("took-over lock").take();
    }

    pub(super) fn get(&self) -> Result<Arc<Database>, DbError> {
        let forward = self.forward.read().expect("forward lock").upgrade();
        if let Some(newer) = forward {
            return newer.get();
        }
        let _wait = self.reloading.read().expect("reload lock");
        let mut slot = self.slot.lock().expect("db lock");
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        let db = Arc::new(Database::open(&self.opts)?);
        for w in &db.warnings {
            tracing::warn!("warning: {w}");
        }
        for hook in self.on_open.lock().expect("hook lock").iter() {
            hook(&db).map_err(DbError::Setup)?;
        }
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Runs `hook` on the open database (if any) and on every database opened later. The
    /// error is the hook's message (a plugin function DuckDB refused), shown as is.
    pub(super) fn add_on_open(&self, hook: OnOpen) -> Result<(), String> {
        let current = self.slot.lock().expect("db lock").clone();
        self.on_open.lock().expect("hook lock").push(hook.clone());
        match current {
            Some(db) => hook(&db),
            None => Ok(()),
        }
    }

    /// Drain → close → `payload` → (reopened by the next query). Errors are messages for
    /// Python's `reload_duckdb`, which raises them as they are.
    pub(super) fn reload(&self, payload: &mut dyn FnMut() -> Result<(), String>) -> Result<(), String> {
        let _block = self.reloading.write().expect("reload lock");
        let old = self.slot.lock().expect("db lock").take();
        if let Some(old) = old {
            let start = std::time::Instant::now();
            while Arc::strong_count(&old) > 1 {
                if start.elapsed() > std::time::Duration::from_secs(120) {
                    return Err("reload_duckdb: queries still running after 120 s".into());
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            drop(old);
        }
        payload()
    }
}

impl Drop for DbSlot {
    fn drop(&mut self) {
        let Some(old) = self.took_over.lock().expect("took-over lock").take() else {
            return;
        };
        // a rejected reload: close this database before the old slot reopens the file
        if let Some(db) = self.slot.lock().expect("db lock").take() {
            wait_unshared(&db);
        }
        *old.forward.write().expect("forward lock") = Weak::new();
    }
}

/// Waits until no query holds `db` but the caller, at most [`HANDOVER_WAIT`].
fn wait_unshared(db: &Arc<Database>) {
    let start = Instant::now();
    while Arc::strong_count(db) > 1 && start.elapsed() < HANDOVER_WAIT {
        std::thread::sleep(Duration::from_millis(2));
    }
}
