//! The profile's database as the executor and project Python share it: opened on first use,
//! closed and reopened around `reload_duckdb`, plugin functions registered on every opening.

use std::sync::{Arc, Mutex, RwLock};

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
}

impl DbSlot {
    pub(super) fn new(opts: DbOptions) -> DbSlot {
        DbSlot { opts, slot: Mutex::new(None), reloading: RwLock::new(()), on_open: Mutex::default() }
    }

    pub(super) fn get(&self) -> Result<Arc<Database>, DbError> {
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
